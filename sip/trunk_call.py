"""One real call through a trunk, for an admin testing it (``callpact call``).

Places the call, and when someone answers plays a prompt and collects keypad
digits, then hangs up and reports what happened: the outcome, who answered
(person or machine), the digits, SIP detail and media figures. The IVR flows
(``ivr_flows/``) are not part of this build yet, so a built-in test prompt is
used; the prompt is rendered by ``audio/prompts.py`` when present, else by
espeak-ng.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialer.privacy import mask_number
from sip.pjsua2_backend import Pjsua2Telephony
from sip.sip_config import SipConfig
from sip.telephony import CallEventKind, OriginateRequest, Prompt

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
    inputs: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


async def place_test_call(cfg: SipConfig, number: str, *, caller_id: str = "",
                          ring_timeout_s: float = 30.0, debtor: Mapping[str, Any] | None = None,
                          digit_timeout_s: float = 8.0) -> CallReport:
    debtor = dict(debtor or {})
    language = str(debtor.get("language", "nl"))
    question, goodbye = TEST_PROMPTS.get(language, TEST_PROMPTS["en"])
    report = CallReport(number=mask_number(number))
    telephony = Pjsua2Telephony(cfg)
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


def run_test_call(cfg: SipConfig, number: str, **kwargs: Any) -> CallReport:
    return asyncio.run(place_test_call(cfg, number, **kwargs))
