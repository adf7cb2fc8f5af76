"""A campaign: who the dialer calls for, how hard it paces, and within which limits.

A campaign file is the one place a supervisor's choices become dialer
behaviour, so it is read strictly: every value is checked against what the
law and the product allow, and a refusal names the file, line and key path and
says what would be accepted. The legal caps (3% abandoned calls, 72 h quiet
period after an abandon, at least 15 s of ringing, 2 s to reach a person, 7
calls in 7 days under Regulation F, NL calling hours) cannot be configured
away, only tightened.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from dialer.callbacks import CallbackConfig, read_callbacks
from dialer.core.errors import ConfigError
from dialer.core.records import Outcome
from dialer.core.yamlconf import (
    LineDict,
    Section,
    is_finite,
    load_yaml,
    load_yaml_text,
    safe_load,
    yaml_problem,
)
from dialer.pacing.settings import (
    DEFAULT_ABANDON_MESSAGE,
    HOURLY_CAP_MIN_AGENTS,
    HOURLY_CAPS,
    LEGAL_MAX_ABANDON_RATE,
    MAX_AGENT_PATIENCE_S,
    MAX_DIAL_LEVEL,
    PacingConfig,
)
from dialer.windows import CallingWindows, Jurisdiction, read_calling_hours

NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
ABANDON_QUIET_S = 72 * 3600
MIN_RING_S = 15.0
US_MAX_PER_WEEK = 7


class DialMode(StrEnum):
    PREDICTIVE = "predictive"    # lines per agent from a model of answers and talk time
    PROGRESSIVE = "progressive"  # one call per free agent: practically no abandons
    RATIO = "ratio"              # a fixed number of lines per free agent
    AGENTLESS = "agentless"      # the IVR handles every answer; no agents needed


class Priority(StrEnum):
    NEWEST_DUE = "newest_due"
    OLDEST_DUE = "oldest_due"
    AMOUNT_DUE = "amount_due"
    RISK_SCORE = "risk_score"
    NONE = "none"


# Spoken in place of {caller_id} when the campaign sets none: the number shown is the trunk's.
_NO_CALLER_ID = {"nl": "het nummer waarmee wij belden", "en": "the number we called from"}
_PLACEHOLDERS = frozenset({"caller_id"})


@dataclass(frozen=True)
class NumbersConfig:
    default_region: str = "NL"
    require_mobile: bool = False


@dataclass(frozen=True)
class AttemptsConfig:
    max_per_day: int = 3
    max_per_week: int = 7
    max_total: int = 12
    min_gap_s: float = 3600.0


@dataclass(frozen=True)
class RetryConfig:
    """Seconds to wait after an attempt with a given outcome, counted from its end."""

    no_answer: float = 2 * 3600.0
    busy: float = 15 * 60.0
    machine: float = 4 * 3600.0
    failed: float = 30 * 60.0
    abandoned: float = float(ABANDON_QUIET_S)
    interrupted: float = 2 * 3600.0
    no_input: float = 4 * 3600.0          # a person answered but left or said nothing before the message
    wrong_person: float = 3600.0          # someone else answered: the debtor's next number, after this

    def delay_for(self, outcome: Outcome) -> float:
        """0 for outcomes that end the debtor (reached) or move to the next phone (invalid)."""
        return {
            Outcome.NO_ANSWER: self.no_answer,
            Outcome.BUSY: self.busy,
            Outcome.ANSWERED_MACHINE: self.machine,
            Outcome.FAILED: self.failed,
            Outcome.ABANDONED: self.abandoned,
            Outcome.INTERRUPTED: self.interrupted,
        }.get(outcome, 0.0)


@dataclass(frozen=True)
class WebhooksConfig:
    """Where ``webhook`` nodes post their signed events; the secret is read from the environment."""

    url: str
    secret_env: str = "CALLPACT_WEBHOOK_SECRET"


@dataclass(frozen=True)
class CampaignConfig:
    name: str
    windows: CallingWindows
    dial_mode: DialMode = DialMode.PROGRESSIVE
    caller_id: str | None = None
    ivr_flow: str = "payment_reminder"
    agent_queue: str = "collections"
    jurisdiction: Jurisdiction = Jurisdiction.NL
    priority: Priority = Priority.NEWEST_DUE
    numbers: NumbersConfig = NumbersConfig()
    pacing: PacingConfig = field(default_factory=PacingConfig)
    attempts: AttemptsConfig = AttemptsConfig()
    retry: RetryConfig = RetryConfig()
    ivr_params: dict[str, Any] = field(default_factory=dict)   # overrides of the flow's params
    callbacks: CallbackConfig = field(default_factory=CallbackConfig)
    webhooks: WebhooksConfig | None = None
    source: str = ""
    text: str = ""   # the document as read, so edits keep what the supervisor wrote

    def abandon_text(self, language: str) -> str:
        """The information message for an abandoned call, in the debtor's language
        (falling back to English, then Dutch), with the call-back number filled in."""
        messages = self.pacing.abandon_message
        lang = next((x for x in (language, "en", "nl") if x in messages), next(iter(messages)))
        number = self.caller_id or _NO_CALLER_ID.get(lang, _NO_CALLER_ID["en"])
        return messages[lang].replace("{caller_id}", number)


_TOP_KEYS = ("name", "dial_mode", "caller_id", "ivr_flow", "agent_queue", "jurisdiction", "priority",
             "numbers", "pacing", "calling_hours", "attempts", "retry", "ivr_params", "callbacks", "webhooks")


def load_campaign(path: str | Path) -> CampaignConfig:
    path = Path(path)
    data = load_yaml(path)
    return _build(data, str(path), path.read_text(encoding="utf-8"))


def parse_campaign(text: str, source: str) -> CampaignConfig:
    return _build(load_yaml_text(text, source), source, text)


def _build(data: Any, source: str, text: str) -> CampaignConfig:
    top = Section(data, source)
    name = top.string("name", pattern=NAME_PATTERN,
                      hint="use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
    dial_mode = DialMode(top.choice("dial_mode", [m.value for m in DialMode], DialMode.PROGRESSIVE.value))
    jurisdiction = Jurisdiction(top.choice("jurisdiction", [j.value for j in Jurisdiction],
                                           Jurisdiction.NL.value))
    priority = Priority(top.choice("priority", [p.value for p in Priority], Priority.NEWEST_DUE.value))
    ivr_flow = top.string("ivr_flow", "payment_reminder")
    ivr_params = _read_ivr_params(top, ivr_flow)
    callbacks = read_callbacks(top.section("callbacks"))
    webhooks = _read_webhooks(top.section("webhooks"))
    agent_queue = top.string("agent_queue", "collections")

    numbers = _read_numbers(top.section("numbers"))
    caller_id = _read_caller_id(top, numbers.default_region)
    pacing = _read_pacing(top.section("pacing"))
    windows = read_calling_hours(top.section("calling_hours"), jurisdiction, numbers.default_region)
    attempts = _read_attempts(top.section("attempts"), jurisdiction)
    retry = _read_retry(top.section("retry"))
    top.finish(_TOP_KEYS)
    return CampaignConfig(
        name=name, windows=windows, dial_mode=dial_mode, caller_id=caller_id, ivr_flow=ivr_flow,
        agent_queue=agent_queue, jurisdiction=jurisdiction, priority=priority, numbers=numbers,
        pacing=pacing, attempts=attempts, retry=retry, ivr_params=ivr_params, callbacks=callbacks,
        webhooks=webhooks, source=source, text=text,
    )


def _read_ivr_params(top: Section, ivr_flow: str) -> dict[str, Any]:
    """The flow must exist and load cleanly, and ``ivr_params`` may only set what it declares."""
    from ivr_flows.loader import resolve_flow

    where_flow = top.where("ivr_flow")
    try:
        flow = resolve_flow(ivr_flow)
    except ConfigError as exc:
        raise ConfigError(f"ivr_flow: {exc}", where=where_flow) from None
    sec = top.section("ivr_params")
    out: dict[str, Any] = {}
    for key in sec.remaining_keys():
        if key not in flow.params:
            raise sec.error(key, f"flow {flow.name} has no parameter {key!r}; it has: "
                                 f"{', '.join(sorted(flow.params)) or 'none'}")
        value = sec.raw(key)
        default = flow.params[key]
        if isinstance(default, bool) != isinstance(value, bool) or isinstance(value, Mapping | list) \
                or value is None:
            raise sec.error(key, f"must be like the flow's default {default!r}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise sec.error(key, f"must be a finite number, not {value!r}")
        if isinstance(default, int | float) and not isinstance(default, bool) \
                and not isinstance(value, int | float):
            # The flow compares and computes with it: "twelve" would fail mid-call, not here.
            raise sec.error(key, f"must be a number like the flow's default {default!r}, not {value!r}")
        out[key] = value
    return out


def _read_webhooks(sec: Section) -> WebhooksConfig | None:
    if not sec.remaining_keys():   # no webhooks; a secret_env without a url is a url forgotten
        return None
    url = sec.string("url", pattern=r"https?://\S+", hint="an http:// or https:// URL")
    secret_env = sec.string("secret_env", "CALLPACT_WEBHOOK_SECRET", pattern=r"[A-Z_][A-Z0-9_]*",
                            hint="the name of an environment variable holding the shared secret")
    sec.finish(("url", "secret_env"))
    return WebhooksConfig(url=url, secret_env=secret_env)


def _read_numbers(sec: Section) -> NumbersConfig:
    region = sec.string("default_region", "NL")
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise sec.error("default_region", f"{region!r} is not a country code phone numbers know; "
                                          f"use a two-letter ISO code like NL, BE, DE, GB or US")
    require_mobile = sec.boolean("require_mobile", False)
    sec.finish(("default_region", "require_mobile"))
    return NumbersConfig(default_region=region.upper(), require_mobile=require_mobile)


def _read_caller_id(top: Section, region: str) -> str | None:
    raw = top.raw("caller_id", None)
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise top.error("caller_id", f'write the number in quotes ("+{raw}"): YAML reads it as a '
                                     f"number and drops the leading + or 0")
    if not isinstance(raw, str) or not raw.strip():
        raise top.error("caller_id", f"must be a phone number like \"+31201234567\", not {raw!r}")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise top.error("caller_id", f"{raw!r} is not a valid phone number (national numbers are read "
                                     f"as numbers.default_region {region})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _read_pacing(sec: Section) -> PacingConfig:
    rate = _read_rate(sec)
    window = sec.duration("abandon_window", 24 * 3600.0, minimum=3600, maximum=31 * 86400)

    level = sec.section("dial_level")
    lo = level.number("min", 1.0, minimum=1, maximum=MAX_DIAL_LEVEL)
    hi = level.number("max", 3.0, minimum=1, maximum=MAX_DIAL_LEVEL)
    if lo > hi:
        raise level.error("min", f"{lo:g} is above max {hi:g}; min must not exceed max")
    level.finish(("min", "max"))

    ratio = sec.number("ratio", 1.5, minimum=1, maximum=10)
    max_lines = sec.number("max_lines", 50, minimum=1, maximum=10000, integer=True)
    cps = sec.number("calls_per_second", 5.0, maximum=1000)
    if cps <= 0:
        raise sec.error("calls_per_second", f"must be more than 0, not {cps:g}")

    ring = sec.duration("ring_timeout", 25.0, maximum=120)
    if ring < MIN_RING_S:
        raise sec.error("ring_timeout", f"{ring:g}s is too short: a phone must ring at least "
                                        f"{MIN_RING_S:g}s (about 4 rings) before the dialer gives up")
    patience = sec.duration("agent_patience", MAX_AGENT_PATIENCE_S)
    if not 0 < patience <= MAX_AGENT_PATIENCE_S:
        raise sec.error("agent_patience", f"must be more than 0s and at most {MAX_AGENT_PATIENCE_S:g}s, "
                                          f"not {patience:g}s: a person who answers must hear an agent "
                                          f"or the information message within 2 s")
    messages = _read_messages(sec.section("abandon_message"))
    hourly = sec.raw("hourly_cap", "auto")
    if isinstance(hourly, bool):                # YAML reads on/off, yes/no and true/false as booleans
        hourly = "always" if hourly else "never"
    if hourly not in HOURLY_CAPS:
        raise sec.error("hourly_cap", f"must be one of {', '.join(HOURLY_CAPS)}, not {hourly!r} (auto: "
                                      f"every clock hour is held to the limit in the first hour and once "
                                      f"the desk has had {HOURLY_CAP_MIN_AGENTS} agents logged in at once)")
    false_machine = _read_share(sec, "amd_false_machine_rate", 0.0)
    if false_machine < 0:
        raise sec.error("amd_false_machine_rate", f"must be 0 or more, not {false_machine:g}")
    if false_machine >= rate - 1e-12:
        raise sec.error("amd_false_machine_rate",
                        f"{false_machine:g} is not below max_abandon_rate {rate:g}: Ofcom counts every live "
                        f"person that answering-machine detection takes for a machine as an abandoned "
                        f"call, so these alone would spend the whole limit; make AMD more careful "
                        f"(tools/amd_eval.py measures it) or dial without it")
    sec.finish(("max_abandon_rate", "abandon_window", "dial_level", "ratio", "max_lines",
                "calls_per_second", "ring_timeout", "agent_patience", "abandon_message", "hourly_cap",
                "amd_false_machine_rate"))
    return PacingConfig(
        max_abandon_rate=rate, abandon_window_s=window, min_dial_level=lo, max_dial_level=hi, ratio=ratio,
        max_lines=max_lines, calls_per_second=cps, ring_timeout_s=ring, agent_patience_s=patience,
        abandon_message=messages, hourly_cap=hourly, amd_false_machine_rate=false_machine,
    )


def _read_share(sec: Section, key: str, default: float) -> float:
    """A share written as a fraction (0.03) or a percentage ("3%")."""
    raw = sec.raw(key, default)
    rate: float | None = None
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            rate = float(raw.strip()[:-1]) / 100
        except ValueError:
            rate = None
    elif isinstance(raw, int | float) and not isinstance(raw, bool) and is_finite(raw):
        rate = float(raw)
    if rate is not None and not math.isfinite(rate):    # "nan%": nan passes every bound
        rate = None
    if rate is None:
        raise sec.error(key, f"must be a fraction like 0.03 or a percentage like 3%, not {raw!r}")
    return rate


def _read_rate(sec: Section) -> float:
    rate = _read_share(sec, "max_abandon_rate", LEGAL_MAX_ABANDON_RATE)
    if rate <= 0:
        raise sec.error("max_abandon_rate", f"must be more than 0, not {rate:g}")
    if rate > LEGAL_MAX_ABANDON_RATE + 1e-12:
        raise sec.error("max_abandon_rate", f"{rate:g} is above the legal cap of 0.03: at most 3% of live "
                                            f"answers may be abandoned (47 CFR 64.1200(a)(7), FTC TSR, "
                                            f"Ofcom)")
    return rate


def _read_messages(sec: Section) -> dict[str, str]:
    messages = dict(DEFAULT_ABANDON_MESSAGE)
    for lang in sec.remaining_keys():
        text = sec.string(lang)
        for _, placeholder, _, _ in string.Formatter().parse(text.replace("{{", "").replace("}}", "")):
            if placeholder is not None and placeholder not in _PLACEHOLDERS:
                raise sec.error(lang, f"unknown placeholder {{{placeholder}}}; only {{caller_id}} is "
                                      f"filled in")
        messages[lang] = text
    return messages


def _read_attempts(sec: Section, jurisdiction: Jurisdiction) -> AttemptsConfig:
    per_day = sec.number("max_per_day", 3, minimum=1, maximum=100, integer=True)
    per_week = sec.number("max_per_week", 7, minimum=1, maximum=500, integer=True)
    if jurisdiction is Jurisdiction.US and per_week > US_MAX_PER_WEEK:
        raise sec.error("max_per_week", f"{per_week} is above {US_MAX_PER_WEEK}: US collection rules "
                                        f"(Regulation F §1006.14) allow at most 7 calls in 7 days")
    total = sec.number("max_total", 12, minimum=1, maximum=10000, integer=True)
    gap = sec.duration("min_gap", 3600.0, minimum=0, maximum=7 * 86400)
    sec.finish(("max_per_day", "max_per_week", "max_total", "min_gap"))
    return AttemptsConfig(max_per_day=per_day, max_per_week=per_week, max_total=total, min_gap_s=gap)


def _read_retry(sec: Section) -> RetryConfig:
    d = RetryConfig()
    values = {
        key: sec.duration(key, getattr(d, key), minimum=0, maximum=30 * 86400)
        for key in ("no_answer", "busy", "machine", "failed", "interrupted", "no_input", "wrong_person")
    }
    abandoned = sec.duration("abandoned", d.abandoned, maximum=30 * 86400)
    if abandoned < ABANDON_QUIET_S:
        raise sec.error("abandoned", f"{abandoned / 3600:g}h is too soon: a number whose call was "
                                     f"abandoned is not called again for 72h (Ofcom)")
    sec.finish(("no_answer", "busy", "machine", "failed", "abandoned", "interrupted", "no_input",
                "wrong_person"))
    return RetryConfig(abandoned=abandoned, **values)


# -- live edits ------------------------------------------------------------------------

def set_campaign_key(text: str, source: str, dotted_key: str, value_text: str) -> str:
    """Change one key and return the new document, refused unless the whole campaign is
    still valid: supervisors tune pacing while it runs, and a half-valid file must never
    reach the dialer. Comments are not kept (the document is re-dumped)."""
    parts = dotted_key.strip().split(".")
    if not dotted_key.strip() or any(not p for p in parts):
        raise ConfigError(f"{dotted_key!r} is not a key path like pacing.ratio", where=source)
    if parts[0] == "name":
        raise ConfigError("name: a campaign cannot be renamed; create a new campaign instead", where=source)
    try:
        value = safe_load(value_text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{dotted_key}: {value_text!r} is not a valid value: {yaml_problem(exc)}",
                          where=source) from None

    document = load_yaml_text(text, source)
    if document is None:
        document = LineDict()
    if not isinstance(document, dict):
        raise ConfigError("the document must be a mapping of keys to values", where=source)
    node: dict[str, Any] = document
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            path = ".".join(parts[: depth + 1])
            raise ConfigError(f"{path}: is not a mapping, so {dotted_key} cannot be set", where=source)
        node = child
    node[parts[-1]] = value

    new_text = yaml.safe_dump(_plain(document), sort_keys=False, allow_unicode=True)
    try:
        parse_campaign(new_text, source)
    except ConfigError as exc:
        raise ConfigError(exc.message, where=f"{source} (setting {dotted_key} to {value_text})") from None
    return new_text


def _plain(value: Any) -> Any:
    """LineDicts back to dicts so safe_dump writes ordinary mappings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value

