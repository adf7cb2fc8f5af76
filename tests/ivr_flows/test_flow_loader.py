"""Bad flows are refused when they are loaded, with the file, the node and the key named."""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path

import pytest

from dialer.core.errors import ConfigError
from dialer.core.telephony import Heard, HeardKind
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowRun, Play
from ivr_flows.loader import SHIPPED, load_flow, parse_flow, shipped_flow
from ivr_flows.model import Say

GOOD = """
flow: tiny
languages: [nl, en]
start: hello
params: {max_days: 10}
nodes:
  hello:
    type: menu
    prompt: {nl: "Druk 1 of 2.", en: "Press 1 or 2."}
    choices:
      one: {digit: 1, words: {nl: [een], en: [one]}, next: bye}
      two: {digit: 2, next: bye}
    on_fail: bye
  bye:
    type: hangup
    prompt: {nl: "Dag {name}.", en: "Bye {name}."}
"""


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse_flow(text, "tiny.yaml")
    return str(err.value)


def test_a_good_flow_loads() -> None:
    flow = parse_flow(GOOD, "tiny.yaml")
    assert flow.start == "hello" and set(flow.nodes) == {"hello", "bye"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_flow_loads_in_dutch_and_english(name: str) -> None:
    assert shipped_flow(name).languages == ("nl", "en")


def test_unknown_node_type_names_the_node_and_the_allowed_types() -> None:
    msg = refused(GOOD.replace("type: hangup", "type: speak"))
    assert "tiny.yaml, line" in msg and "nodes.bye.type" in msg and "'speak' is not allowed" in msg
    assert "say, menu, collect" in msg


def test_dangling_edge_names_the_key_and_the_missing_node() -> None:
    msg = refused(GOOD.replace("two: {digit: 2, next: bye}", "two: {digit: 2, next: byee}"))
    assert "nodes.hello.choices.two.next" in msg and "'byee'" in msg and "no such node" in msg


def test_unreachable_node_is_refused() -> None:
    msg = refused(GOOD + """  lost:
    type: hangup
""")
    assert "nodes.lost: unreachable" in msg


def test_a_prompt_missing_a_declared_language_is_refused() -> None:
    one_language = GOOD.replace('en: "Bye {name}."}', "}").replace('"Dag {name}.", }', '"Dag {name}."}')
    msg = refused(one_language)
    assert "nodes.bye.prompt.en" in msg and "no text for language 'en'" in msg


def test_a_prompt_in_an_undeclared_language_is_refused() -> None:
    msg = refused(GOOD.replace('en: "Bye {name}."}', 'en: "Bye {name}.", de: "Tschüss."}'))
    assert "nodes.bye.prompt.de" in msg and "not declared" in msg


def test_a_digit_used_twice_is_refused() -> None:
    msg = refused(GOOD.replace("two: {digit: 2", "two: {digit: 1"))
    assert "nodes.hello.choices.two.digit" in msg and "already used by choice 'one'" in msg


@pytest.mark.parametrize("digit", ["12", "a", "'+'"])
def test_a_digit_that_is_not_one_key_is_refused(digit: str) -> None:
    msg = refused(GOOD.replace("two: {digit: 2", f"two: {{digit: {digit}"))
    assert "nodes.hello.choices.two.digit" in msg and "not one keypad key" in msg


def test_a_phrase_meaning_two_choices_is_refused() -> None:
    msg = refused(GOOD.replace("two: {digit: 2, next: bye}",
                               "two: {digit: 2, words: {nl: [Een]}, next: bye}"))
    assert "nodes.hello.choices.two.words.nl" in msg and "already means choice 'one'" in msg


def test_yaml_booleans_as_choice_names_get_a_hint() -> None:
    msg = refused(GOOD.replace("one: {digit: 1", "yes: {digit: 1"))
    assert "quote it" in msg


def test_an_unknown_placeholder_is_refused() -> None:
    msg = refused(GOOD.replace("Dag {name}.", "Dag {naam}."))
    assert "nodes.bye.prompt.nl" in msg and "unknown placeholder {naam}" in msg


def test_a_branch_condition_on_an_unknown_fact_is_refused() -> None:
    text = GOOD.replace("on_fail: bye", "on_fail: check") + """  check:
    type: branch
    cases:
      - {if: "amout > 100", next: bye}
    else: bye
"""
    msg = refused(text)
    assert "nodes.check.cases[0].if" in msg and "unknown name 'amout'" in msg


def test_a_bad_condition_is_refused() -> None:
    text = GOOD.replace("on_fail: bye", "on_fail: check") + """  check:
    type: branch
    cases:
      - {if: "amount >> 100", next: bye}
    else: bye
"""
    assert "nodes.check.cases[0].if" in refused(text)


def test_an_unknown_key_in_a_node_is_refused() -> None:
    msg = refused(GOOD.replace("    on_fail: bye", "    on_fail: bye\n    timout: 5s"))
    assert "nodes.hello.timout: unknown key" in msg and "timeout" in msg


def test_collect_limits_are_checked() -> None:
    text = GOOD.replace("on_fail: bye", "on_fail: ask") + """  ask:
    type: collect
    into: terms
    kind: number
    min_digits: 3
    max_digits: 2
    prompt: {nl: "Toets.", en: "Key."}
    next: bye
    on_fail: bye
"""
    assert "nodes.ask.min_digits: 3 is above max_digits 2" in refused(text)


def test_start_must_exist() -> None:
    assert "start: no node 'nope'" in refused(GOOD.replace("start: hello", "start: nope"))


def test_not_yaml_is_one_clear_line() -> None:
    msg = refused("flow: [unclosed")
    assert msg.startswith("tiny.yaml") and "not valid YAML" in msg and "\n" not in msg


def _wav(path: Path, *, rate: int = 8000, width: int = 2, channels: int = 1, frames: int = 800) -> None:
    with wave.open(str(path), "wb") as w:
        w.setframerate(rate)
        w.setsampwidth(width)
        w.setnchannels(channels)
        w.writeframes(b"\x01\x00" * frames * channels)


RECORDED = GOOD.replace("on_fail: bye", "on_fail: welcome") + """  welcome:
    type: say
    prompt: {nl: "Welkom.", en: "Welcome."}
    recording: {nl: welkom.wav}
    next: bye
"""


def test_a_recorded_prompt_is_played_as_audio_with_its_text_as_transcript(tmp_path: Path) -> None:
    _wav(tmp_path / "welkom.wav")
    (tmp_path / "f.yaml").write_text(RECORDED, encoding="utf-8")
    flow = load_flow(tmp_path / "f.yaml")
    node = flow.nodes["welcome"]
    assert isinstance(node, Say) and len(node.recordings["nl"]) == 1600
    run = FlowRun(flow, CallFacts(None, "nl", dt.date(2026, 12, 1)))
    action = run.start()
    for _ in range(20):                                   # silence to the menu until it gives up
        if isinstance(action, Play) and action.node == "welcome":
            break
        action = run.send(None if isinstance(action, Play) else Heard(HeardKind.NO_INPUT))
    assert isinstance(action, Play) and action.node == "welcome"
    assert action.prompt.audio == node.recordings["nl"] and action.prompt.text == "Welkom."


@pytest.mark.parametrize(("shape", "message"), [
    ({"rate": 16000}, "16000 Hz, 16-bit, 1 channel(s); it must be 8000 Hz, 16-bit, mono"),
    ({"channels": 2}, "8000 Hz, 16-bit, 2 channel(s)"),
])
def test_a_recording_in_the_wrong_format_is_refused(tmp_path: Path, shape: dict[str, int],
                                                    message: str) -> None:
    _wav(tmp_path / "welkom.wav", **shape)
    (tmp_path / "f.yaml").write_text(RECORDED, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_flow(tmp_path / "f.yaml")
    assert "nodes.welcome.recording.nl" in str(err.value) and message in str(err.value)


def test_a_missing_or_broken_recording_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(RECORDED, encoding="utf-8")
    with pytest.raises(ConfigError, match="does not exist"):
        load_flow(tmp_path / "f.yaml")
    (tmp_path / "welkom.wav").write_bytes(b"RIFF not really")
    with pytest.raises(ConfigError, match="not a readable WAV file"):
        load_flow(tmp_path / "f.yaml")


def test_a_deeply_nested_or_alias_bomb_flow_is_refused_with_a_line_not_a_recursion_error() -> None:
    deep = GOOD.replace("params: {max_days: 10}", "params: {max_days: " + "[" * 50_000 + "]" * 50_000 + "}")
    assert refused(deep) == "tiny.yaml, line 5: refused: nested more than 100 levels deep"
    laughs = "".join(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "ha"] * 10) + "]\n"
                     for i in range(9))
    bomb = GOOD.replace("params: {max_days: 10}\n", "params:\n  max_days: 10\n" + laughs)
    assert "refused: more than 100,000 values once aliases (*name) are expanded" in refused(bomb)


def test_a_non_finite_parameter_is_refused() -> None:
    assert "params.max_days: must be a finite number, not nan" in refused(GOOD.replace("10}", ".nan}"))
