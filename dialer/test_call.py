"""One real call through a trunk, for an admin testing it (``callpact call``).

Places the call and, when someone answers, runs an IVR flow (``ivr_flows/``) for
a debtor given on the command line, or a built-in test prompt that collects
keypad digits; then reports what happened: the outcome, who answered (person or
machine), the answers given, SIP detail and media figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from dialer.core.privacy import mask_number
from dialer.core.records import Debtor
from dialer.core.telephony import AnsweredBy, CallEventKind, OriginateRequest, Prompt
from dialer.debtor_list import DEBTOR_FIELDS, Rejected, check_row
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowRun
from ivr_flows.model import Flow
from ivr_flows.runner import run_flow
from sip.pjsua2.backend import Pjsua2Telephony

TEST_PROMPTS = {
    "nl": ("Dit is een testoproep van callpact. Toets een cijfer en daarna hekje.", "Dank u wel. Tot ziens."),
    "en": ("This is a callpact test call. Please press a digit, then hash.", "Thank you. Goodbye."),
}


@dataclass
class CallReport:
    number: str
    outcome: str = "failed"
    answered_by: str | None = None
    detail: str = ""
    digits: str = ""
    rang: bool = False
    prompt_completed: bool | None = None
    answer_to_first_audio_ms: float | None = None
    frames_received: int = 0
    duration_s: float = 0.0
    flow: str | None = None
    flow_outcome: str | None = None
    flow_path: list[str] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


# A test call may leave out what an import requires (an id, a name, an amount): the check sees these
# stand-ins, and the debtor keeps the test call's own defaults (no name, nothing due).
_STAND_INS = {"debtor_id": "test", "name": "test", "amount_due": "0.01"}


def debtor_from_json(data: Mapping[str, Any], number: str) -> Debtor:
    """The debtor a flow talks about, from ``--debtor`` JSON, checked by the importer's row checks
    (``€ 45,20`` is an amount here as in a debtor list); ValueError names the bad field."""
    unknown = sorted(set(data) - DEBTOR_FIELDS - {"campaign"})
    if unknown:   # a typo must not become a custom field the flow never reads
        raise ValueError(f"unknown field {unknown[0]!r}; known: {', '.join(sorted(DEBTOR_FIELDS))}")
    given = {k: v for k, v in data.items() if k != "campaign"}
    checked = check_row({**_STAND_INS, **given, "phone": number})
    if isinstance(checked, Rejected):
        reason = checked.reason
        if checked.column is None or checked.column in reason:
            raise ValueError(reason)
        # "amount_due 'lots' is not an amount": a reason that starts with the value follows the field
        raise ValueError(f"{checked.column} {reason}" if reason.startswith("'") else
                         f"{checked.column}: {reason}")
    debtor = checked.debtor
    return replace(debtor, name=debtor.name if "name" in given else "",
                   amount_due=debtor.amount_due if "amount_due" in given else Decimal("0"))


async def place_test_call(telephony: Pjsua2Telephony, number: str, *, caller_id: str = "",
                          ring_timeout_s: float = 30.0, debtor: Mapping[str, Any] | None = None,
                          digit_timeout_s: float = 8.0, flow: Flow | None = None) -> CallReport:
    debtor = dict(debtor or {})
    record = debtor_from_json(debtor, number)
    language = record.language
    question, goodbye = TEST_PROMPTS.get(language, TEST_PROMPTS["en"])
    report = CallReport(number=mask_number(number))
    started = time.monotonic()
    await telephony.start()
    try:
        variables = {"attempt_id": f"test-{int(time.time())}", **{str(k): str(v) for k, v in debtor.items()
                                                                   if k in ("debtor_id", "campaign")}}
        call = await telephony.originate(OriginateRequest(
            attempt_id=variables["attempt_id"], number=number, caller_id=caller_id,
            ring_timeout_s=ring_timeout_s, variables=variables))
        async for event in call.events():
            if event.kind is CallEventKind.RINGING:
                report.rang = True
            elif event.kind is CallEventKind.ANSWERED and flow is not None:
                report.answered_by = event.answered_by.value if event.answered_by else None
                facts = CallFacts(debtor=record, language=language,
                                  today=dt.date.today(), machine=event.answered_by is AnsweredBy.MACHINE,
                                  callback_number=caller_id)
                result = await run_flow(call, FlowRun(flow, facts, context=variables))
                report.flow, report.flow_outcome = result.flow, result.outcome.value
                report.flow_path = list(result.path)
                report.inputs = [{"node": i.node, "kind": i.kind, "digits": i.digits,
                                  "choice": i.choice or ""} for i in result.inputs]
                report.digits = "".join(i.digits for i in result.inputs)
                if not call.ended:
                    await call.hangup()
            elif event.kind is CallEventKind.ANSWERED:
                report.answered_by = event.answered_by.value if event.answered_by else None
                played = await call.play(Prompt(question, language), barge_in=True)
                report.prompt_completed = played.completed if played else None
                digits = played.digits if played else ""
                if "#" not in digits:
                    digits += await call.collect_dtmf(max_digits=8, timeout_s=digit_timeout_s, terminator="#")
                digits = digits.split("#")[0]
                report.digits = digits
                if digits:
                    report.inputs.append({"kind": "dtmf", "digits": digits})
                await call.play(Prompt(goodbye, language))
                await call.hangup()
            elif event.kind is CallEventKind.HANGUP:
                report.detail = event.detail
                if report.answered_by is not None:
                    report.outcome = f"answered-{report.answered_by}"
                else:
                    report.outcome = event.cause.value if event.cause else "failed"
        stats = call.stats
        if stats.confirmed_at is not None and stats.first_prompt_frame_at is not None:
            first_audio_s = stats.first_prompt_frame_at - stats.confirmed_at
            report.answer_to_first_audio_ms = round(first_audio_s * 1000, 1)
        report.frames_received = stats.frames_received
    finally:
        await telephony.close()
        report.duration_s = round(time.monotonic() - started, 2)
    return report


def run_test_call(telephony: Pjsua2Telephony, number: str, **kwargs: Any) -> CallReport:
    """Start ``telephony`` (built by dialer/backends.py, not started), place the call, close it."""
    return asyncio.run(place_test_call(telephony, number, **kwargs))
