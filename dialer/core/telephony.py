"""The telephony interface the pacing engine talks to.

A backend (the simulated network now; pjsua2 SIP and Asterisk AMI/AudioSocket
later) turns an :class:`OriginateRequest` into a :class:`Call` whose
:class:`CallEvent` stream says what happened on the line, and exposes its agents
as an :class:`AgentDesk`. The engine never learns which backend it drives.

Event order on a call is always: zero or one RINGING, zero or one ANSWERED,
exactly one HANGUP (last). ``at`` fields are event-loop times (``loop.time()``),
which are virtual seconds in a simulation and monotonic seconds otherwise.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class CallEventKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    HANGUP = "hangup"


class AnsweredBy(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


class HangupCause(StrEnum):
    """Why a call ended, in backend-neutral terms (SIP codes and Q.850 causes map onto these)."""

    NORMAL = "normal"                 # someone hung up after an answer
    BUSY = "busy"                     # 486/600, Q.850 17
    NO_ANSWER = "no-answer"           # ring timeout, 408/480, Q.850 19
    INVALID_NUMBER = "invalid-number" # 404/484/604, Q.850 1/28
    FAILED = "failed"                 # 403/5xx, trunk down, Q.850 34/38/...
    LOCAL = "local"                   # we hung up (after an abandon message, a machine, ...)


@dataclass(frozen=True)
class OriginateRequest:
    attempt_id: str
    number: str                      # E.164
    caller_id: str
    ring_timeout_s: float
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallEvent:
    kind: CallEventKind
    at: float
    answered_by: AnsweredBy | None = None
    cause: HangupCause | None = None
    detail: str = ""


@dataclass(frozen=True)
class Prompt:
    """Something to say to the far end: text in a language, or rendered audio."""

    text: str
    language: str = "nl"
    audio: bytes | None = None       # 8 kHz 16-bit mono PCM when already rendered
    flow: str = ""                   # the IVR flow that says it, for flows with voices of their own


@dataclass(frozen=True)
class PlayResult:
    """How a prompt ended: heard to the end, cut short by the caller (barge-in), or by a hangup."""

    completed: bool
    barge_in: str | None = None      # "dtmf" or "speech" when the caller interrupted
    digits: str = ""                 # digits that interrupted; the next listen() starts with them


#: Spoken answers a menu accepts: choice name -> phrases that mean it, e.g.
#: ``{"yes": ("ja", "jawel"), "agent": ("medewerker",)}``. Recognisers are
#: restricted to these phrases (a grammar), never free dictation.
Grammar = Mapping[str, Sequence[str]]


class HeardKind(StrEnum):
    DTMF = "dtmf"                    # keypad digits (RFC 4733, SIP INFO or in-band)
    SPEECH = "speech"                # a phrase of the grammar was recognised
    NO_MATCH = "no-match"            # the caller spoke, but nothing in the grammar
    NO_INPUT = "no-input"            # silence until the timeout
    HANGUP = "hangup"                # the call ended while listening


@dataclass(frozen=True)
class Heard:
    """What the caller answered to one question."""

    kind: HeardKind
    digits: str = ""
    choice: str | None = None        # the grammar choice matched by speech
    text: str = ""                   # what the recogniser heard
    confidence: float = 0.0


@dataclass(frozen=True)
class AgentSnapshot:
    """The agents as pacing sees them at one instant.

    An agent who is busy but will take no call after this one (logging out at
    lunch, paused in an Asterisk queue while on a call) is *away*: still logged
    in and still holding the call, but listed in ``away_talking_s`` /
    ``away_wrapping_s`` instead of ``talking_s`` / ``wrapping_s``. Pacing counts
    on a talking agent to be free soon; counted so, 35 agents leaving at once
    had the dialler launch for agents who were never coming back.
    """

    logged_in: int
    idle: int
    talking_s: tuple[float, ...]     # seconds in call so far, one entry per talking agent
    wrapping_s: tuple[float, ...] = ()   # seconds in wrap-up so far, one entry per agent wrapping up
    away_talking_s: tuple[float, ...] = ()    # seconds in call so far of talking agents who then leave
    away_wrapping_s: tuple[float, ...] = ()   # seconds in wrap-up so far of wrapping agents who then leave

    @property
    def talking(self) -> int:
        """Talking agents who take another call when done."""
        return len(self.talking_s)

    @property
    def wrapping(self) -> int:
        return len(self.wrapping_s)

    @property
    def away(self) -> int:
        """Busy agents who take no further call (included in ``logged_in``)."""
        return len(self.away_talking_s) + len(self.away_wrapping_s)

    @property
    def staying(self) -> int:
        """Logged-in agents but the away ones (a paused agent who is not busy is logged in
        and stays, though neither idle nor busy: no horizon counts it)."""
        return self.logged_in - self.away


@dataclass(frozen=True)
class Inbound:
    """A call that reached us: usually a debtor calling back the number that called them."""

    call_id: str
    caller: str                      # the caller's number (From / P-Asserted-Identity), E.164 when it parses
    dialled: str                     # the number they called: a campaign's caller ID or a DID
    at: float                        # loop time it arrived
    caller_name: str = ""


class Call(abc.ABC):
    """One call leg. Events arrive on an internal queue; see :meth:`events`.

    Outbound calls come from :meth:`Telephony.originate`. An inbound call is
    handed, already answered, to the handler set with
    :meth:`Telephony.set_inbound_handler`; its ``inbound`` says who called,
    and its ``request`` carries ``attempt_id`` = the inbound call id and
    ``number`` = the caller's number, so code that logs or records a call
    needs no special case.
    """

    def __init__(self, request: OriginateRequest, inbound: Inbound | None = None) -> None:
        self.request = request
        self.inbound = inbound
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self.ended = False

    @property
    def attempt_id(self) -> str:
        return self.request.attempt_id

    def _emit(self, event: CallEvent) -> None:
        """Backends call this (on the event loop) to deliver an event."""
        if self.ended:
            return
        if event.kind is CallEventKind.HANGUP:
            self.ended = True
        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[CallEvent]:
        """Yield events until (and including) HANGUP."""
        while True:
            event = await self._events.get()
            yield event
            if event.kind is CallEventKind.HANGUP:
                return

    @abc.abstractmethod
    async def play(self, prompt: Prompt, *, barge_in: bool = False) -> PlayResult | None:
        """Play a prompt to the far end; returns when it has been heard (or the call ended).

        With ``barge_in`` a keypad digit or speech from the caller stops the
        prompt at once (the result says which). Backends without a media path
        may return None, which means "played to the end".
        """

    async def listen(self, *, grammar: Grammar | None = None, language: str = "nl",
                     max_digits: int = 1, timeout_s: float = 5.0, terminator: str | None = "#",
                     initial_digits: str = "") -> Heard:
        """Wait for an answer by keypad or, when ``grammar`` is given, by voice.

        The default serves backends without speech recognition: keypad only.
        """
        digits = initial_digits
        if len(digits) < max_digits:
            digits += await self.collect_dtmf(max_digits=max_digits - len(digits),
                                              timeout_s=timeout_s, terminator=terminator)
        if digits:
            return Heard(HeardKind.DTMF, digits=digits)
        return Heard(HeardKind.HANGUP if self.ended else HeardKind.NO_INPUT)

    async def wait_for_beep(self, timeout_s: float = 10.0) -> bool:
        """On a machine answer: wait until the greeting's beep (True) or give up (False).

        Voicemail messages start after the beep so that they are recorded whole.
        Backends without a media path return False at once.
        """
        return False

    @abc.abstractmethod
    async def collect_dtmf(self, *, max_digits: int = 1, timeout_s: float = 5.0,
                           terminator: str | None = "#") -> str:
        """Collect keypad digits from the far end.

        Returns as soon as ``max_digits`` digits or the ``terminator`` (not
        included) arrive; with what came so far (possibly "") after
        ``timeout_s`` seconds without a complete answer, or when the call ends.
        """

    @abc.abstractmethod
    async def connect_agent(self, queue: str, patience_s: float,
                            context: Mapping[str, str]) -> str | None:
        """Bridge this answered call to an agent of ``queue``.

        Returns the agent's id, or None when no agent took the call within
        ``patience_s`` seconds (the caller of this method then abandons the call).
        """

    @abc.abstractmethod
    async def hangup(self) -> None:
        """Hang up from our side; a HANGUP (cause LOCAL) follows unless one already came."""


class AgentDesk(abc.ABC):
    """The agents that live answers are connected to."""

    @abc.abstractmethod
    def snapshot(self) -> AgentSnapshot: ...


#: Runs one inbound call to its end (callback routing, then a flow or an agent).
InboundHandler = Callable[[Call, Inbound], Awaitable[None]]


class Telephony(abc.ABC):
    """A backend that places calls and owns the agents."""

    agents: AgentDesk
    inbound_handler: InboundHandler | None = None

    def set_inbound_handler(self, handler: InboundHandler | None) -> None:
        """Who takes inbound calls; a backend with no handler set rejects them (SIP 480 / busy)."""
        self.inbound_handler = handler

    #: True for backends that synthesise prompts themselves (a TTS cache); the engine then hands
    #: them prompts ahead of need through :meth:`prepare_prompts`.
    renders_prompts: bool = False

    async def prepare_prompts(self, prompts: Sequence[Prompt]) -> None:  # noqa: B027 - optional hook
        """Render these prompts into the cache now, so that no call waits for synthesis later.

        The engine calls it with a flow's fixed prompts when a campaign starts and with a
        debtor's personal greeting when the debtor is claimed from the hopper.
        """

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect to the network; the default needs nothing."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release the network; calls still up are hung up."""

    @abc.abstractmethod
    async def originate(self, request: OriginateRequest) -> Call:
        """Start dialling; raise :class:`OriginateError` if the call cannot even be attempted."""


class OriginateError(Exception):
    """The backend refused to place the call (no line, trunk down)."""
