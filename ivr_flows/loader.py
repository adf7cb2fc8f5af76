"""Reading flow files: YAML in, a checked :class:`~ivr_flows.model.Flow` out, or one clear error.

Every mistake a flow author can make is caught here, before any call: an
unknown node type or key, an edge to a node that does not exist, a node no path
reaches, a prompt missing for a language the flow declares, a digit used twice
in a menu or not on a keypad, a placeholder or condition naming an unknown
fact. The error names the file, the line, the node and the key
(``payment_reminder.yaml, line 40: nodes.menu.choices.plan.digit: ...``).

Layout of a flow file::

    flow: payment_reminder          # its name
    languages: [nl, en]             # every prompt needs a text in each
    start: greet                    # where a person's call starts
    machine: voicemail              # where an answering machine's call starts (optional)
    extends: payment_reminder       # optional: start from a shipped flow, replacing nodes/params by name
    params: {max_promise_days: 14}  # settings a campaign may override (params.NAME in conditions)
    nodes:
      greet: {type: say, prompt: {nl: ..., en: ...}, next: menu}

A ``say`` node may also name ``recording: {nl: welkom.wav}`` (8 kHz 16-bit mono
WAV beside the flow file): that audio is played, and the prompt text is kept as
its transcript.
"""

from __future__ import annotations

import functools
import math
import re
import wave
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from dialer.core.errors import ConfigError
from dialer.core.yamlconf import LineDict, Section, load_yaml, load_yaml_text
from ivr_flows.conditions import ConditionError, parse_condition
from ivr_flows.facts import BASE_FACTS, DERIVED_FACTS, param_value
from ivr_flows.model import (
    DTMF_KEYS,
    Branch,
    Case,
    Choice,
    Collect,
    CollectKind,
    Flow,
    FlowOutcome,
    Hangup,
    Menu,
    Node,
    NodeType,
    Prompt,
    Say,
    SetValues,
    Transfer,
    Voicemail,
    Webhook,
)
from ivr_flows.templates import TemplateError, check_template

NODE_ID = r"[a-z][a-z0-9_]{0,63}"
FACT_NAME = r"[a-z_][a-z0-9_]*"
SHIPPED = ("payment_reminder", "callback", "thank_you", "general_menu")


def load_flow(path: str | Path) -> Flow:
    path = Path(path)
    return _build(load_yaml(path), str(path), path.parent)


def parse_flow(text: str, source: str, base_dir: Path | None = None) -> Flow:
    """``base_dir``: where recordings named in the flow are looked for (default: beside ``source``)."""
    return _build(load_yaml_text(text, source), source, base_dir or Path(source).parent)


@functools.lru_cache(maxsize=32)
def shipped_flow(name: str) -> Flow:
    """One of the flows that ship with callpact (``ivr_flows/flows/NAME.yaml``)."""
    if name not in SHIPPED:
        raise ConfigError(f"no shipped flow {name!r}; shipped: {', '.join(SHIPPED)}")
    resource = resources.files("ivr_flows").joinpath(f"flows/{name}.yaml")
    return parse_flow(resource.read_text(encoding="utf-8"), f"ivr_flows/flows/{name}.yaml",
                      Path(str(resource)).parent)


def resolve_flow(name_or_path: str) -> Flow:
    """A shipped flow by name, or a flow file by path (anything ending in .yaml/.yml)."""
    if name_or_path.endswith((".yaml", ".yml")):
        return load_flow(name_or_path)
    return shipped_flow(name_or_path)


# --------------------------------------------------------------------------- building


class _Reader:
    """State for one flow file: its languages and the fact names its texts may use."""

    def __init__(self, source: str, languages: tuple[str, ...], known: set[str], base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.languages = languages
        self.known = known

    def prompt(self, sec: Section, key: str, *, required: bool) -> Prompt | None:
        if not sec.has(key):
            if required:
                raise sec.error(key, f"required: a text per language ({', '.join(self.languages)})")
            return None
        texts = sec.section(key)
        out: dict[str, str] = {}
        for lang in self.languages:
            if not texts.has(lang):
                raise texts.error(lang, f"no text for language {lang!r}; the flow declares "
                                        f"{', '.join(self.languages)} and each needs one")
            text = texts.string(lang)
            try:
                check_template(text, self.known)
            except TemplateError as exc:
                raise texts.error(lang, str(exc)) from None
            out[lang] = text
        extra = texts.remaining_keys()
        if extra:
            raise texts.error(extra[0], f"language {extra[0]!r} is not declared in languages "
                                        f"({', '.join(self.languages)})")
        return out

    def recordings(self, sec: Section, key: str) -> dict[str, bytes]:
        """Recorded prompts: language -> WAV file (8 kHz, 16-bit, mono), read now so a bad file fails here."""
        files = sec.section(key)
        out: dict[str, bytes] = {}
        for lang in files.remaining_keys():
            if lang not in self.languages:
                raise files.error(lang, f"language {lang!r} is not declared in languages "
                                        f"({', '.join(self.languages)})")
            name = files.string(lang)
            path = self.base_dir / name
            try:
                with wave.open(str(path), "rb") as wav:
                    shape = (wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
                    frames = wav.readframes(wav.getnframes())
            except FileNotFoundError:
                raise files.error(lang, f"recording {str(path)!r} does not exist") from None
            except (wave.Error, EOFError, OSError) as exc:
                raise files.error(lang, f"recording {str(path)!r} is not a readable WAV file "
                                        f"({exc})") from None
            if shape != (8000, 2, 1):
                raise files.error(lang, f"recording {str(path)!r} is {shape[0]} Hz, {8 * shape[1]}-bit, "
                                        f"{shape[2]} channel(s); it must be 8000 Hz, 16-bit, mono")
            out[lang] = frames
        return out

    def fact_or_number(self, sec: Section, key: str) -> Any:
        if not sec.has(key):
            return None
        value = sec.raw(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value in self.known:
            return value
        raise sec.error(key, f"must be a whole number or a fact name like params.max_days, not {value!r}")

    def target(self, sec: Section, key: str) -> str:
        return sec.string(key, pattern=NODE_ID, hint="a node id")


def _extended(data: Any, source: str) -> Any:
    """A flow that ``extends`` a shipped one: its nodes and params replace the base's, one by one."""
    if not isinstance(data, Mapping) or "extends" not in data:
        return data
    base_name = data["extends"]
    if base_name not in SHIPPED:
        raise ConfigError(f"extends: {base_name!r} is not a shipped flow; shipped: {', '.join(SHIPPED)}",
                          where=source)
    resource = resources.files("ivr_flows").joinpath(f"flows/{base_name}.yaml")
    base = load_yaml_text(resource.read_text(encoding="utf-8"), f"ivr_flows/flows/{base_name}.yaml")
    merged = LineDict(base)
    merged.key_lines = dict(getattr(base, "key_lines", {}))
    for key, value in data.items():
        if key == "extends":
            continue
        if key in ("nodes", "params") and isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            part = LineDict(base[key])
            part.key_lines = {**getattr(base[key], "key_lines", {}), **getattr(value, "key_lines", {})}
            part.update(value)
            merged[key] = part
        else:
            merged[key] = value
    return merged


def _build(data: Any, source: str, base_dir: Path) -> Flow:
    data = _extended(data, source)
    top = Section(data, source)
    name = top.string("flow", pattern=NODE_ID, hint="1-64 of a-z 0-9 _ starting with a letter")
    languages = tuple(top.items("languages", lambda path, v: _language(top, path, v)))
    if not languages:
        raise top.error("languages", "declare at least one language, e.g. [nl, en]")
    if len(set(languages)) != len(languages):
        raise top.error("languages", "a language is listed twice")
    start = top.string("start", pattern=NODE_ID, hint="a node id")
    machine = top.string("machine", None, pattern=NODE_ID, hint="a node id")
    params_sec = top.section("params")
    params: dict[str, Any] = {}
    for key in params_sec.remaining_keys():
        if not re.fullmatch(FACT_NAME, key):
            raise params_sec.error(key, "a parameter name is a-z 0-9 _ starting with a letter")
        value = params_sec.raw(key)
        if isinstance(value, Mapping | list) or value is None:
            raise params_sec.error(key, "a parameter is a number, a text or true/false")
        if isinstance(value, float) and not math.isfinite(value):
            raise params_sec.error(key, f"must be a finite number, not {value!r}")
        params[key] = param_value(key, value)
    nodes_sec = top.section("nodes", required=True)
    top.finish(("flow", "languages", "start", "machine", "params", "nodes"))

    raw_nodes = {key: nodes_sec.raw(key) for key in nodes_sec.remaining_keys()}
    known = set(BASE_FACTS) | set(DERIVED_FACTS) | {f"params.{k}" for k in params}
    for raw in raw_nodes.values():                  # names that collect and set nodes introduce
        if isinstance(raw, Mapping):
            if isinstance(raw.get("into"), str):
                known.add(raw["into"])
            if isinstance(raw.get("values"), Mapping):
                known.update(k for k in raw["values"] if isinstance(k, str))
            if isinstance(raw.get("event"), str):
                known.add(f"{raw['event']}_ok")
    reader = _Reader(source, languages, known, base_dir)
    lines = getattr(data.get("nodes") if isinstance(data, Mapping) else None, "key_lines", {})
    nodes: dict[str, Node] = {}
    for node_id, raw in raw_nodes.items():
        if not re.fullmatch(NODE_ID, str(node_id)):
            raise ConfigError(f"nodes.{node_id}: a node id is 1-64 of a-z 0-9 _ starting with a letter",
                              where=f"{source}, line {lines.get(node_id)}" if lines.get(node_id) else source)
        sec = Section(raw, source, f"nodes.{node_id}")
        if not getattr(raw, "key_lines", None):
            sec._line = lines.get(node_id)
        nodes[node_id] = _node(reader, sec, node_id, lines.get(node_id))

    flow = Flow(name=name, source=source, languages=languages, start=start, machine=machine,
                params=params, nodes=nodes)
    _check_graph(flow, top, lines)
    return flow


def _language(top: Section, path: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}", value):
        raise ConfigError(f"{path}: {value!r} is not a two-letter language code like nl or en",
                          where=top.where("languages"))
    return value


_NODE_KEYS: dict[NodeType, tuple[str, ...]] = {
    NodeType.SAY: ("type", "prompt", "recording", "next", "barge_in", "message"),
    NodeType.MENU: ("type", "prompt", "choices", "timeout", "retries", "no_input", "no_match", "on_fail",
                    "barge_in"),
    NodeType.COLLECT: ("type", "prompt", "into", "kind", "min_digits", "max_digits", "terminator", "timeout",
                       "retries", "min", "max", "max_days_ahead", "invalid", "no_input", "next", "on_fail"),
    NodeType.BRANCH: ("type", "cases", "else"),
    NodeType.SET: ("type", "outcome", "values", "next"),
    NodeType.WEBHOOK: ("type", "event", "send", "timeout", "next", "on_failure"),
    NodeType.TRANSFER: ("type", "prompt", "queue", "patience", "on_fail"),
    NodeType.VOICEMAIL: ("type", "prompt", "beep_timeout"),
    NodeType.HANGUP: ("type", "prompt", "outcome"),
}


def _node(r: _Reader, sec: Section, node_id: str, line: int | None) -> Node:
    kind = NodeType(sec.choice("type", [t.value for t in NodeType]))
    node: Node
    if kind is NodeType.SAY:
        node = Say(node_id, kind, line, prompt=r.prompt(sec, "prompt", required=True) or {},
                   next=r.target(sec, "next"), barge_in=sec.boolean("barge_in", True),
                   message=sec.boolean("message", False), recordings=r.recordings(sec, "recording"))
    elif kind is NodeType.MENU:
        node = _menu(r, sec, node_id, line)
    elif kind is NodeType.COLLECT:
        node = _collect(r, sec, node_id, line)
    elif kind is NodeType.BRANCH:
        node = _branch(r, sec, node_id, line)
    elif kind is NodeType.SET:
        node = _set(r, sec, node_id, line)
    elif kind is NodeType.WEBHOOK:
        event = sec.string("event", pattern=FACT_NAME, hint="a-z 0-9 _ like payment_link")
        send = tuple(sec.items("send", lambda path, v: _known_name(r, sec, path, v), []))
        node = Webhook(node_id, kind, line, event=event, send=send,
                       timeout_s=sec.duration("timeout", 5.0, minimum=0.1, maximum=30),
                       next=r.target(sec, "next"), on_failure=r.target(sec, "on_failure"))
    elif kind is NodeType.TRANSFER:
        node = Transfer(node_id, kind, line, prompt=r.prompt(sec, "prompt", required=False),
                        queue=sec.string("queue", None), patience_s=sec.duration("patience", 60.0,
                                                                                 minimum=1, maximum=600),
                        on_fail=r.target(sec, "on_fail"))
    elif kind is NodeType.VOICEMAIL:
        node = Voicemail(node_id, kind, line, prompt=r.prompt(sec, "prompt", required=True) or {},
                         beep_timeout_s=sec.duration("beep_timeout", 10.0, minimum=0, maximum=60))
    else:
        outcome = sec.choice("outcome", [o.value for o in FlowOutcome], None)
        node = Hangup(node_id, kind, line, prompt=r.prompt(sec, "prompt", required=False),
                      outcome=FlowOutcome(outcome) if outcome else None)
    sec.finish(_NODE_KEYS[kind])
    return node


def _known_name(r: _Reader, sec: Section, path: str, value: Any) -> str:
    if not isinstance(value, str) or value not in r.known:
        raise ConfigError(f"{sec.key_path(path)}: {value!r} is not a fact this flow knows; known: "
                          f"{', '.join(sorted(r.known))}", where=sec.where("send"))
    return value


def _menu(r: _Reader, sec: Section, node_id: str, line: int | None) -> Menu:
    prompt = r.prompt(sec, "prompt", required=True) or {}
    choices_sec = sec.section("choices", required=True)
    choices: list[Choice] = []
    digits: dict[str, str] = {}
    phrases: dict[tuple[str, str], str] = {}
    for name in choices_sec.remaining_keys():
        if not isinstance(name, str) or not re.fullmatch(FACT_NAME, name):
            hint = " (YAML reads yes/no/on/off as true/false: quote it)" if name in ("True", "False") else ""
            raise choices_sec.error(name, f"a choice name is a-z 0-9 _ starting with a letter{hint}")
        c = choices_sec.section(name)
        digit = c.raw("digit", None)
        if isinstance(digit, int) and not isinstance(digit, bool):
            digit = str(digit)
        if digit is not None and (not isinstance(digit, str) or len(digit) != 1 or digit not in DTMF_KEYS):
            raise c.error("digit", f"{digit!r} is not one keypad key (0-9, * or #)")
        if digit is not None and digit in digits:
            raise c.error("digit", f"key {digit} is already used by choice {digits[digit]!r}")
        if digit is not None:
            digits[digit] = name
        words_sec = c.section("words")
        words: dict[str, tuple[str, ...]] = {}
        for lang in words_sec.remaining_keys():
            if lang not in r.languages:
                raise words_sec.error(lang, f"language {lang!r} is not declared in languages "
                                            f"({', '.join(r.languages)})")
            items = tuple(words_sec.items(lang, lambda path, v, ws=words_sec: _phrase(ws, path, v)))
            for phrase in items:
                other = phrases.get((lang, phrase))
                if other is not None and other != name:
                    raise words_sec.error(lang, f"{phrase!r} already means choice {other!r}")
                phrases[(lang, phrase)] = name
            words[lang] = items
        if digit is None and not words:
            raise choices_sec.error(name, "give the choice a digit, words, or both")
        nxt = r.target(c, "next")
        c.finish(("digit", "words", "next"))
        choices.append(Choice(name=name, digit=digit, words=words, next=nxt))
    if not choices:
        raise sec.error("choices", "a menu needs at least one choice")
    return Menu(node_id, NodeType.MENU, line, prompt=prompt, choices=tuple(choices),
                timeout_s=sec.duration("timeout", 6.0, minimum=1, maximum=60),
                retries=sec.number("retries", 2, minimum=0, maximum=5, integer=True),
                no_input=r.prompt(sec, "no_input", required=False),
                no_match=r.prompt(sec, "no_match", required=False),
                on_fail=r.target(sec, "on_fail"), barge_in=sec.boolean("barge_in", True))


def _phrase(sec: Section, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        hint = " (YAML reads yes/no/on/off as true/false: quote it)" if isinstance(value, bool) else ""
        raise ConfigError(f"{sec.key_path(path)}: a spoken phrase is a non-empty text, not {value!r}{hint}",
                          where=sec.where())
    return " ".join(value.lower().split())


def _collect(r: _Reader, sec: Section, node_id: str, line: int | None) -> Collect:
    prompt = r.prompt(sec, "prompt", required=True) or {}
    into = sec.string("into", pattern=FACT_NAME, hint="a-z 0-9 _ like promise_date")
    kind = CollectKind(sec.choice("kind", [k.value for k in CollectKind], CollectKind.DIGITS.value))
    fixed = 4 if kind is CollectKind.DATE else None
    min_digits = sec.number("min_digits", fixed or 1, minimum=1, maximum=20, integer=True)
    max_digits = sec.number("max_digits", fixed or 4, minimum=1, maximum=20, integer=True)
    if min_digits > max_digits:
        raise sec.error("min_digits", f"{min_digits} is above max_digits {max_digits}")
    if kind is CollectKind.DATE and (min_digits, max_digits) != (4, 4):
        raise sec.error("max_digits", "a date is typed as four digits, day and month (DDMM)")
    terminator = sec.raw("terminator", "#")
    if terminator is not None and (not isinstance(terminator, str) or len(terminator) != 1
                                   or terminator not in DTMF_KEYS):
        raise sec.error("terminator", f"{terminator!r} is not one keypad key (0-9, * or #) or null")
    minimum = r.fact_or_number(sec, "min")
    maximum = r.fact_or_number(sec, "max")
    if isinstance(minimum, int) and isinstance(maximum, int) and minimum > maximum:
        raise sec.error("min", f"{minimum} is above max {maximum}")
    days = r.fact_or_number(sec, "max_days_ahead")
    if days is not None and kind is not CollectKind.DATE:
        raise sec.error("max_days_ahead", "only a date collect (kind: date) has max_days_ahead")
    if kind is CollectKind.DATE and (minimum is not None or maximum is not None):
        raise sec.error("min" if minimum is not None else "max",
                        "a date is checked with max_days_ahead, not min/max")
    return Collect(node_id, NodeType.COLLECT, line, prompt=prompt, into=into, kind=kind,
                   min_digits=min_digits, max_digits=max_digits, terminator=terminator,
                   timeout_s=sec.duration("timeout", 8.0, minimum=1, maximum=60),
                   retries=sec.number("retries", 2, minimum=0, maximum=5, integer=True),
                   minimum=minimum, maximum=maximum, max_days_ahead=days,
                   invalid=r.prompt(sec, "invalid", required=False),
                   no_input=r.prompt(sec, "no_input", required=False),
                   next=r.target(sec, "next"), on_fail=r.target(sec, "on_fail"))


def _branch(r: _Reader, sec: Section, node_id: str, line: int | None) -> Branch:
    def case(path: str, value: Any) -> Case:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{sec.key_path(path)}: a case is a mapping like {{if: 'amount > 500', "
                              f"next: agent}}", where=sec.where("cases"))
        c = Section(value, sec.source, sec.key_path(path))
        text = c.string("if")
        try:
            condition = parse_condition(text, r.known)
        except ConditionError as exc:
            raise c.error("if", str(exc)) from None
        nxt = r.target(c, "next")
        c.finish(("if", "next"))
        return Case(condition, nxt)

    cases = tuple(sec.items("cases", case))
    if not cases:
        raise sec.error("cases", "a branch needs at least one case")
    return Branch(node_id, NodeType.BRANCH, line, cases=cases, otherwise=r.target(sec, "else"))


def _set(r: _Reader, sec: Section, node_id: str, line: int | None) -> SetValues:
    outcome = sec.choice("outcome", [o.value for o in FlowOutcome], None)
    values_sec = sec.section("values")
    values: dict[str, Any] = {}
    for key in values_sec.remaining_keys():
        if not re.fullmatch(FACT_NAME, str(key)):
            raise values_sec.error(key, "a value name is a-z 0-9 _ starting with a letter")
        value = values_sec.raw(key)
        if isinstance(value, str) and value.startswith("$") and value[1:] not in r.known:
            raise values_sec.error(key, f"{value!r} names no fact this flow knows")
        if isinstance(value, Mapping | list):
            raise values_sec.error(key, "a value is a number, a text, true/false or $fact")
        if isinstance(value, float) and not math.isfinite(value):
            raise values_sec.error(key, f"must be a finite number, not {value!r}")
        values[key] = value
    if outcome is None and not values:
        raise sec.error("values", "a set node sets an outcome, values, or both")
    return SetValues(node_id, NodeType.SET, line, outcome=FlowOutcome(outcome) if outcome else None,
                     values=values, next=r.target(sec, "next"))


def _check_graph(flow: Flow, top: Section, lines: Mapping[str, int]) -> None:
    def where(node: Node | None) -> str:
        return f"{flow.source}, line {node.line}" if node is not None and node.line else flow.source

    for key, target in (("start", flow.start), ("machine", flow.machine)):
        if target is not None and target not in flow.nodes:
            raise ConfigError(f"{key}: no node {target!r}; nodes: {', '.join(flow.nodes)}", where=flow.source)
    for node in flow.nodes.values():
        for key, target in node.edges().items():
            if target not in flow.nodes:
                raise ConfigError(f"nodes.{node.id}.{key}: goes to {target!r}, but there is no such node",
                                  where=where(node))
    seen: set[str] = set()
    todo = [flow.start] + ([flow.machine] if flow.machine else [])
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        todo.extend(flow.nodes[node_id].edges().values())
    for node in flow.nodes.values():
        if node.id not in seen:
            raise ConfigError(f"nodes.{node.id}: unreachable: no path from start"
                              f"{' or machine' if flow.machine else ''} leads here", where=where(node))
