"""Real SIP calls through a trunk, over pjsua2 (pjproject built by tools/build_pjsua2.sh).

Threading, the one thing that must not go wrong here:

- pjsua runs with ``threadCnt = 0`` in one worker thread of ours
  (:class:`_Worker`) that polls ``libHandleEvents()`` and runs commands the
  event loop queues for it. Every pjsua call and every pjsua2 object's life
  (creation *and* destruction) happens on that thread, so the event loop never
  blocks on pjsua and never calls it from an unregistered thread.
- pjsua's callbacks (SIP on the worker; DTMF and media frames on pjmedia's
  threads) only hand plain Python values to the loop with
  ``loop.call_soon_threadsafe``; pjsua never calls into asyncio directly.
  Media frames (50 per second per call) are batched: one loop wake-up carries
  every frame that arrived since the previous one (:class:`_Inbox`).
- ``Call`` and ``AudioMediaPort`` objects are released on the worker after
  their call disconnected, and all of them before ``libDestroy()``.
- No other thread of ours calls pjsua, so none needs ``libRegisterThread()``:
  the worker created the library (and is registered by that); pjmedia's own
  threads only run our callbacks, which touch plain Python objects and the
  frame's own buffer.

The event-loop side (:class:`SipCall`, :class:`Pjsua2Telephony`) holds no
pjsua2 object at all, only the worker-side call's token.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import itertools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from audio.amd import TUNED, AmdParams, AmdVerdict
from audio.session import MediaSession, SessionParams
from dialer.core.media import FRAME_BYTES, MediaLeg
from dialer.core.phones import normalise_number
from dialer.core.privacy import mask_number
from dialer.core.telephony import (
    AgentDesk,
    AgentSnapshot,
    AnsweredBy,
    Call,
    CallEvent,
    CallEventKind,
    Grammar,
    HangupCause,
    Heard,
    HeardKind,
    Inbound,
    OriginateError,
    OriginateRequest,
    PlayResult,
    Prompt,
    Telephony,
)
from sip.pjsua2.outcomes import CallHistory, describe, hangup_cause
from sip.pjsua2.settings import AmdConfig, SipConfig

if TYPE_CHECKING:
    from audio.prompts import PromptRenderer

try:  # the module exists once tools/build_pjsua2.sh ran; callpact must import without it
    import pjsua2 as pj
except ImportError:  # pragma: no cover - depends on the machine
    pj = None

log = logging.getLogger("callpact.sip")
T = TypeVar("T")

#: A trunk that sends not even "100 Trying" within this is down (SIP retransmits at 0.5, 1 and 2 s).
TRUNK_SILENCE_S = 5.0
#: Headers that carry the debtor's context to the agent's phone or CRM.
CONTEXT_HEADER_PREFIX = "X-Callpact-"
_NUMBER_RUN = re.compile(r"\+?\d{6,}")


class Pjsua2Unavailable(OriginateError):
    """The pjsua2 module is not installed (run tools/build_pjsua2.sh)."""


def pjsua2_available() -> bool:
    return pj is not None


def mask_log_text(text: str) -> str:
    """pjsua log lines name URIs with phone numbers; mask every long digit run."""
    return _NUMBER_RUN.sub(lambda m: mask_number(m.group(0)), text)


def number_from_header(value: str, region: str) -> str:
    """The phone number in a From / P-Asserted-Identity value, E.164 when it parses."""
    match = re.search(r"(?:sips?|tel):([^@;>\s]+)", value)
    user = match.group(1) if match else value.strip()
    user = user.split(";")[0]
    check = normalise_number(user, region)
    return check.e164 if check.e164 else user


def header_value(message: str, *names: str) -> str:
    """First value of any of the named headers (compact forms included) in a raw SIP message."""
    wanted = {n.lower() for n in names}
    for line in message.split("\r\n")[1:]:
        if not line:
            break
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in wanted:
            return value.strip()
    return ""


# -- frame buffer access ---------------------------------------------------------------------------
# pjsua2 hands frames as a SWIG std::vector<unsigned char>; bytes(vector) walks it element by element
# (~30-150 us a frame). libstdc++ lays a vector out as three pointers (begin, end, capacity), so the
# buffer is read and written with one memmove. _vector_layout_ok() proves the layout at start-up and
# the slow, always-correct path is used otherwise.
_FAST_VECTORS = False


def _vector_span(vector: Any) -> tuple[int, int]:
    address = int(vector.this)
    begin = ctypes.c_void_p.from_address(address).value or 0
    end = ctypes.c_void_p.from_address(address + ctypes.sizeof(ctypes.c_void_p)).value or 0
    return begin, end - begin


def _vector_layout_ok() -> bool:
    probe = pj.ByteVector([1, 2, 3, 250])
    begin, size = _vector_span(probe)
    if size != 4 or ctypes.string_at(begin, 4) != bytes([1, 2, 3, 250]):
        return False
    probe.resize(FRAME_BYTES)
    begin, size = _vector_span(probe)
    ctypes.memmove(begin, bytes(range(256)) + bytes(64), FRAME_BYTES)
    return size == FRAME_BYTES and bytes(probe)[250:256] == bytes(range(250, 256))


def read_frame(vector: Any) -> bytes:
    if _FAST_VECTORS:
        begin, size = _vector_span(vector)
        return ctypes.string_at(begin, size) if size else b""
    return bytes(vector)


def write_frame(frame: Any, pcm: bytes) -> None:
    if _FAST_VECTORS:
        frame.buf.resize(len(pcm))
        begin, _ = _vector_span(frame.buf)
        ctypes.memmove(begin, pcm, len(pcm))
    else:
        frame.buf = pj.ByteVector(pcm)
    frame.size = len(pcm)
    frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO


# -- loop side plumbing ----------------------------------------------------------------------------
class _Inbox:
    """Hands (function, argument) pairs from any thread to the loop, one wake-up per batch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: collections.deque[tuple[Callable[[Any], None], Any]] = collections.deque()
        self._scheduled = False

    def put(self, fn: Callable[[Any], None], arg: Any) -> None:
        self._items.append((fn, arg))
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):   # the loop is closed: nothing is listening
                self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        items = self._items
        while items:
            fn, arg = items.popleft()
            try:
                fn(arg)
            except Exception:  # one bad consumer must not stop the others' audio
                log.exception("media hand-over failed")


@dataclass
class CallStats:
    """Per-call media figures the benchmark reads."""

    confirmed_at: float | None = None        # time.monotonic() of 200 OK (CONFIRMED)
    first_prompt_frame_at: float | None = None
    frames_requested: int = 0
    frames_received: int = 0
    late_requests: int = 0                   # bridge ticks more than 40 ms apart (clock stalls)
    last_request_at: float | None = None


# -- worker side: pjsua2 subclasses -----------------------------------------------------------------
def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """A pjsua callback that never lets an exception out: SWIG would turn it into a C++ throw
    inside pjsua's own stack (and the process could abort) for what is one call's problem."""
    def callback(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            log.exception("pjsua callback %s failed", method.__name__)
    callback.__name__ = method.__name__
    callback.__doc__ = method.__doc__
    return callback


if pj is not None:

    class _TapPort(pj.AudioMediaPort):
        """The call's audio in the conference bridge: far-end frames out, our frames in."""

        def __init__(self, owner: _PjCall) -> None:
            super().__init__()
            self.owner = owner

        @_guarded
        def onFrameReceived(self, frame: Any) -> None:
            owner = self.owner
            if not owner.media_open or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO:
                return
            pcm = read_frame(frame.buf)
            if len(pcm) == FRAME_BYTES:
                owner.stats.frames_received += 1
                owner.inbox.put(owner.leg.frame_received, pcm)

        @_guarded
        def onFrameRequested(self, frame: Any) -> None:
            owner = self.owner
            if not owner.media_open:
                return
            stats = owner.stats
            now = time.monotonic()
            if stats.last_request_at is not None and now - stats.last_request_at > 0.04:
                stats.late_requests += 1
            stats.last_request_at = now
            stats.frames_requested += 1
            leg = owner.leg
            before = leg.frames_out
            pcm = leg.next_outgoing_frame()
            if leg.frames_out != before and stats.first_prompt_frame_at is None:
                stats.first_prompt_frame_at = now
            write_frame(frame, pcm)

    class _PjCall(pj.Call):
        """One pjsua call; lives on the worker, reports to its :class:`SipCall` through the loop."""

        def __init__(self, worker: _Worker, account: Any, ref: CallRef, call_id: int | None = None) -> None:
            if call_id is None:
                super().__init__(account)
            else:
                super().__init__(account, call_id)
            self.worker = worker
            self.token = ref.token
            self.sip_call: SipCall | None = None
            self.leg: MediaLeg = ref.leg
            self.stats = ref.stats
            self.inbox = worker.inbox
            self.port: _TapPort | None = None
            self.media_open = False
            self.responded = False
            self.bridged_to: _PjCall | None = None
            # Until a SipCall is attached (inbound calls), the last state waits here for it.
            self.last_state: tuple[int, int, str, bool] | None = None
            self.unattended = False      # rejected before any SipCall existed: release freely

        @_guarded
        def onCallState(self, prm: Any) -> None:
            info = self.getInfo()
            state = info.state
            if state == pj.PJSIP_INV_STATE_CONFIRMED:
                self.stats.confirmed_at = time.monotonic()
                self.media_open = True
            if state in (pj.PJSIP_INV_STATE_EARLY, pj.PJSIP_INV_STATE_CONNECTING):
                self.responded = True
            if state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.media_open = False
                self.worker.release_later(self)
            update = (state, info.lastStatusCode, info.lastReason, self.responded)
            self.last_state = update
            sip_call = self.sip_call
            if sip_call is not None:
                self.worker.to_loop(sip_call._on_state, update)

        @_guarded
        def onCallTsxState(self, prm: Any) -> None:
            event = prm.e
            if event.type == pj.PJSIP_EVENT_TSX_STATE and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
                self.responded = True

        @_guarded
        def onCallMediaState(self, prm: Any) -> None:
            info = self.getInfo()
            for index, media in enumerate(info.media):
                if media.type != pj.PJMEDIA_TYPE_AUDIO or media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                    continue
                audio = self.getAudioMedia(index)
                if self.bridged_to is not None:
                    return
                if self.port is None:
                    self.port = _TapPort(self)
                    fmt = pj.MediaFormatAudio()
                    fmt.init(pj.PJMEDIA_FORMAT_PCM, 8000, 1, 20000, 16)
                    self.port.createPort(f"tap{self.token}", fmt)
                audio.startTransmit(self.port)
                self.port.startTransmit(audio)
                return

        @_guarded
        def onDtmfDigit(self, prm: Any) -> None:
            if self.media_open:
                self.inbox.put(self.leg.dtmf_received, prm.digit)

        @_guarded
        def onCallTransferStatus(self, prm: Any) -> None:
            sip_call = self.sip_call
            if sip_call is not None:
                self.worker.to_loop(sip_call._on_transfer_status,
                                    (int(prm.statusCode), prm.reason, bool(prm.finalNotify)))
            prm.cont = int(prm.statusCode) < 200   # stop watching once the outcome is known

    class _PjAccount(pj.Account):
        def __init__(self, worker: _Worker) -> None:
            super().__init__()
            self.worker = worker

        @_guarded
        def onIncomingCall(self, prm: Any) -> None:
            self.worker.incoming(self, prm.callId, prm.rdata.wholeMsg)

        @_guarded
        def onRegState(self, prm: Any) -> None:
            code = int(prm.code)
            expiration = int(prm.expiration)
            if code // 100 == 2:
                log.info("sip: %s with the trunk (%s)", "registered" if expiration else "unregistered",
                         prm.reason)
            else:
                log.error("sip: registration failed: SIP %d %s", code, prm.reason)
            self.worker.to_loop(self.worker.telephony._on_registration, (code, expiration))

    class _LogWriter(pj.LogWriter):
        def write(self, entry: Any) -> None:
            # pjsua's own lines are detail (-v): what they mean for a call or the stack is logged
            # by this module in the user's terms.
            level = logging.INFO if entry.level <= 2 else logging.DEBUG
            log.log(level, "pjsua: %s", mask_log_text(entry.msg.rstrip()))


@dataclass(frozen=True)
class CallRef:
    """What the loop may hold of a worker-side call: its token and its pure-Python media objects."""

    token: int
    leg: MediaLeg
    stats: CallStats


@dataclass
class _Command:
    fn: Callable[[], Any]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class _Worker(threading.Thread):
    """The one thread that talks to pjsua."""

    POLL_MS = 5

    def __init__(self, cfg: SipConfig, loop: asyncio.AbstractEventLoop, telephony: Pjsua2Telephony) -> None:
        super().__init__(name="pjsua", daemon=True)
        self.cfg = cfg
        self.loop = loop
        self.telephony = telephony
        self.inbox = _Inbox(loop)
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.started_future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self.calls: dict[int, _PjCall] = {}
        self._release: list[_PjCall] = []
        self._tokens = itertools.count(1)
        self.ep: Any = None
        self.account: Any = None
        self.local_address = ""
        self._log_writer: Any = None

    # -- called from the loop -----------------------------------------------------------------
    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the worker and await its result (exceptions travel back)."""
        command = _Command(fn)
        self._commands.put(command)
        return await asyncio.wrap_future(command.future)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the worker; nobody waits (errors are logged)."""
        self._commands.put(_Command(fn))

    def stop(self) -> None:
        self._stopping.set()

    # -- called on the worker -----------------------------------------------------------------
    def to_loop(self, fn: Callable[[Any], None], arg: Any) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(fn, arg)

    def release_later(self, call: _PjCall) -> None:
        self._release.append(call)

    def new_ref(self) -> CallRef:
        """Any thread: a token and media objects for a call about to be created."""
        token = next(self._tokens)
        return CallRef(token, MediaLeg(str(token)), CallStats())

    def new_call(self, ref: CallRef, sip_call: SipCall | None = None, call_id: int | None = None) -> _PjCall:
        call = _PjCall(self, self.account, ref, call_id)
        call.sip_call = sip_call
        self.calls[ref.token] = call
        return call

    def incoming(self, account: Any, call_id: int, message: str) -> None:
        call = self.new_call(self.new_ref(), call_id=call_id)
        telephony = self.telephony
        prm = pj.CallOpParam()
        if telephony.inbound_handler is None or telephony.active_calls >= self.cfg.max_calls:
            call.unattended = True
            prm.statusCode = 480
            call.hangup(prm)
            log.warning("sip: inbound call from %s rejected with 480: %s",
                        mask_number(number_from_header(header_value(message, "From", "f"),
                                                       self.cfg.default_region)),
                        "no inbound handler" if telephony.inbound_handler is None else "all lines busy")
            return
        prm.statusCode = 180
        call.answer(prm)
        headers = {
            "from": header_value(message, "From", "f"),
            "pai": header_value(message, "P-Asserted-Identity"),
            "to": header_value(message, "To", "t"),
            "call_id": header_value(message, "Call-ID", "i"),
        }
        self.to_loop(telephony._on_incoming, (CallRef(call.token, call.leg, call.stats), headers))

    def run(self) -> None:
        try:
            self._start_pjsua()
        except Exception as exc:
            self.started_future.set_exception(exc)
            self._destroy()
            return
        self.started_future.set_result(self.local_address)
        try:
            while not self._stopping.is_set():
                self._run_commands()
                self.ep.libHandleEvents(self.POLL_MS)
                self._release_disconnected()
        finally:
            self._shutdown()

    def _run_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if not command.future.set_running_or_notify_cancel():
                continue
            try:
                command.future.set_result(command.fn())
            except BaseException as exc:
                command.future.set_exception(exc)

    def _release_disconnected(self) -> None:
        if not self._release:
            return
        waiting = []
        for call in self._release:
            if call.sip_call is None and not call.unattended:
                waiting.append(call)      # its SipCall is on the way and must hear how it ended
            else:
                self._drop(call)
        self._release = waiting

    def _drop(self, call: _PjCall) -> None:
        # No reference cycle may survive: the cyclic collector could then destroy a pjsua2 object on
        # whatever thread it happens to run, outside pjsua's knowledge.
        self.calls.pop(call.token, None)
        call.media_open = False
        call.bridged_to = None
        if call.port is not None:
            port, call.port = call.port, None
            del port                       # unregisters from the conference bridge
        call.inbox.put(_close_leg, call.leg)
        call.sip_call = None

    def _start_pjsua(self) -> None:
        global _FAST_VECTORS
        cfg = self.cfg
        # pjlib logs its start-up at level 5 before any EpConfig applies; its level is a C global.
        with contextlib.suppress(Exception):
            ctypes.CDLL(pj._pjsua2.__file__).pj_log_set_level(min(cfg.log_level, 1))
        ep = self.ep = pj.Endpoint()
        ep.libCreate()
        ep_cfg = pj.EpConfig()
        ua = ep_cfg.uaConfig
        ua.maxCalls = cfg.max_calls
        ua.threadCnt = 0
        ua.mainThreadOnly = False
        ua.userAgent = cfg.user_agent
        self._log_writer = _LogWriter()
        ep_cfg.logConfig.writer = self._log_writer
        ep_cfg.logConfig.level = cfg.log_level
        ep_cfg.logConfig.consoleLevel = cfg.log_level
        ep_cfg.logConfig.decor = 0
        med = ep_cfg.medConfig
        med.clockRate = 8000
        med.sndClockRate = 8000
        med.channelCount = 1
        med.audioFramePtime = 20
        med.ptime = 20
        med.noVad = True
        med.ecTailLen = 0
        med.maxMediaPorts = 3 * cfg.max_calls + 8
        ep.libInit(ep_cfg)
        ep.audDevManager().setNullDev()
        transport_type = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP,
                          "tls": pj.PJSIP_TRANSPORT_TLS}[cfg.trunk.transport]
        tcfg = pj.TransportConfig()
        tcfg.port = cfg.sip_port
        if cfg.bind_address not in ("0.0.0.0", "::"):
            tcfg.boundAddress = cfg.bind_address
        if cfg.trunk.transport == "tls":
            tcfg.tlsConfig.verifyServer = cfg.trunk.tls_verify_server
            if cfg.trunk.tls_ca_file:
                tcfg.tlsConfig.CaListFile = cfg.trunk.tls_ca_file
        transport_id = ep.transportCreate(transport_type, tcfg)
        self.local_address = ep.transportGetInfo(transport_id).localName
        ep.libStart()
        self._set_codecs()
        self.account = _PjAccount(self)
        self.account.create(self._account_config())
        _FAST_VECTORS = _vector_layout_ok()

    def _set_codecs(self) -> None:
        wanted = [c.lower() for c in self.cfg.codecs]
        for codec in self.ep.codecEnum2():
            name = codec.codecId.split("/")[0].lower()
            priority = 255 - wanted.index(name) if name in wanted else 0
            self.ep.codecSetPriority(codec.codecId, priority)

    def _account_config(self) -> Any:
        cfg = self.cfg
        trunk = cfg.trunk
        acfg = pj.AccountConfig()
        user = trunk.username or (cfg.caller_id.number or "callpact")
        acfg.idUri = f"sip:{user}@{trunk.host}"
        if trunk.register:
            acfg.regConfig.registrarUri = f"sip:{trunk.host}:{trunk.port}"
            acfg.regConfig.registerOnAdd = True
        else:
            acfg.regConfig.registerOnAdd = False
        if trunk.username and trunk.password:
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", trunk.realm, trunk.username, 0,
                                                            trunk.password))
        if trunk.outbound_proxy:
            # Loose routing (RFC 3261); without ;lr pjsip would rewrite the request URI (strict routing).
            proxy = trunk.outbound_proxy if ";lr" in trunk.outbound_proxy else f"{trunk.outbound_proxy};lr"
            acfg.sipConfig.proxies.append(proxy)
        rtp = acfg.mediaConfig.transportConfig
        rtp.port = cfg.rtp_port_start
        rtp.portRange = cfg.rtp_port_count
        if cfg.bind_address not in ("0.0.0.0", "::"):
            rtp.boundAddress = cfg.bind_address
        acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_OPTIONAL
        return acfg

    def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._run_commands()
            self.ep.hangupAllCalls()
            deadline = time.monotonic() + 3.0
            while self.calls and time.monotonic() < deadline:
                self.ep.libHandleEvents(20)
                self._release_disconnected()
        for call in list(self.calls.values()):
            self._drop(call)
        self._destroy()

    def _destroy(self) -> None:
        self.calls.clear()
        self._release.clear()
        if self.account is not None:
            with contextlib.suppress(Exception):
                self.account.shutdown()
            self.account = None
        if self.ep is not None:
            with contextlib.suppress(Exception):
                self.ep.libDestroy()
            self.ep = None


def _close_leg(leg: MediaLeg) -> None:
    leg.close()


# -- the loop side ---------------------------------------------------------------------------------
class SipAgentDesk(AgentDesk):
    """Agents as SIP URIs per queue (config ``agents``); busy while we bridge or transfer to them."""

    def __init__(self, agents: Mapping[str, tuple[str, ...]]) -> None:
        self.queues = {queue_name: list(uris) for queue_name, uris in agents.items()}
        self.busy_since: dict[str, float] = {}

    def snapshot(self) -> AgentSnapshot:
        now = time.monotonic()
        everyone = {uri for uris in self.queues.values() for uri in uris}
        talking = tuple(now - since for uri, since in self.busy_since.items() if uri in everyone)
        return AgentSnapshot(logged_in=len(everyone), idle=len(everyone) - len(talking),
                             talking_s=talking)

    def take(self, queue_name: str) -> str | None:
        for uri in self.queues.get(queue_name, []):
            if uri not in self.busy_since:
                self.busy_since[uri] = time.monotonic()
                return uri
        return None

    def release(self, uri: str) -> None:
        self.busy_since.pop(uri, None)


class SipCall(Call):
    """A call through the trunk, seen from the event loop."""

    def __init__(self, telephony: Pjsua2Telephony, ref: CallRef, request: OriginateRequest,
                 inbound: Inbound | None = None) -> None:
        super().__init__(request, inbound)
        self.telephony = telephony
        # Only the token: a pjsua2 Call object released here (on the loop thread) would hang up
        # whichever call pjsua has since given the same id.
        self._token = ref.token
        self.leg: MediaLeg = ref.leg
        self.stats: CallStats = ref.stats
        self.history = CallHistory()
        self.answered = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.media: MediaSession | None = None
        self.media_ready = asyncio.Event()     # the MediaSession runs: play/listen may start
        self._ring_timer: asyncio.TimerHandle | None = None
        self._trunk_timer: asyncio.TimerHandle | None = None
        self._dead_air: asyncio.Task[None] | None = None
        self._transfer: asyncio.Future[int] | None = None
        self._agent_leg: SipCall | None = None
        self._agent_uri: str | None = None
        self._loop = asyncio.get_running_loop()
        self._rang = False
        self._end_detail = ""
        self.counted = True
        self._tasks: set[asyncio.Future[Any]] = set()

    def _on_worker(self, fn: Callable[..., T], *args: Any) -> Callable[[], T | None]:
        """A command for the worker: ``fn(pj_call, *args)``, or nothing once pjsua released the call."""
        worker = self.telephony.worker
        token = self._token

        def command() -> T | None:
            pj_call = worker.calls.get(token)
            return fn(pj_call, *args) if pj_call is not None else None
        return command

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def masked(self) -> str:
        return mask_number(self.request.number)

    # -- pjsua events (on the loop) ---------------------------------------------------------------
    def _on_state(self, update: tuple[int, int, str, bool]) -> None:
        state, code, reason, responded = update
        if responded and not self.history.trunk_responded:
            self.history = _replace(self.history, trunk_responded=True)
            self._cancel_timer("_trunk_timer")
        if state == pj.PJSIP_INV_STATE_EARLY and self.inbound is None and not self._rang:
            self._rang = True
            self._emit(CallEvent(CallEventKind.RINGING, self._loop.time(), detail=f"SIP {code}"))
        elif state == pj.PJSIP_INV_STATE_CONFIRMED and not self.answered.is_set():
            self._cancel_timer("_ring_timer")
            self._cancel_timer("_trunk_timer")
            self.history = _replace(self.history, answered=True, trunk_responded=True)
            self.answered.set()
            self._dead_air = asyncio.create_task(self._watch_dead_air(), name=f"dead-air-{self.attempt_id}")
            self._spawn(self._start_media())
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self._ended(code, reason)

    def _ended(self, code: int, reason: str) -> None:
        if self.disconnected.is_set():
            return
        self._cancel_timer("_ring_timer")
        self._cancel_timer("_trunk_timer")
        self.disconnected.set()
        if self._dead_air is not None:
            self._dead_air.cancel()
        self.leg.close()
        if self.media is not None:
            self._spawn(self.media.close())
        if self._transfer is not None and not self._transfer.done():
            self._transfer.set_result(0)
        cause = hangup_cause(code, self.history)
        detail = self._end_detail or describe(code, reason, self.history)
        if cause is HangupCause.FAILED:
            log.warning("call %s to %s failed: %s", self.attempt_id, self.masked, detail)
        self.telephony._call_ended(self, cause)
        self._emit(CallEvent(CallEventKind.HANGUP, self._loop.time(), cause=cause, detail=detail))
        if self._agent_leg is not None and not self._agent_leg.ended:
            self._spawn(self._agent_leg.hangup())

    async def _start_media(self) -> None:
        """audio/'s MediaSession over the leg; then (outbound) machine detection and ANSWERED."""
        cfg = self.telephony.cfg
        inband = cfg.inband_dtmf == "always"
        if cfg.inband_dtmf == "auto":
            # In-band detection only as the fallback: with telephone-event negotiated a key press
            # arrives out of band, and counting the audible tone too would double it.
            event_pt = await self.telephony.worker.call(self._on_worker(_rx_event_pt))
            inband = event_pt is not None and event_pt <= 0
        self.media = MediaSession(self.leg, render=self.telephony.render,
                                  params=SessionParams(inband_dtmf=inband))
        await self.media.start()
        self.media_ready.set()
        if self.inbound is not None:
            return
        answered_by = AnsweredBy.HUMAN
        if cfg.amd.enabled and not self.ended:
            result = await self.media.detect_machine(amd_params(cfg.amd))
            # NOTSURE counts as a person: a person must never get the machine treatment by default.
            if result.verdict is AmdVerdict.MACHINE:
                answered_by = AnsweredBy.MACHINE
            log.debug("call %s: AMD %s", self.attempt_id, result.cause)
        if not self.ended:
            self._emit(CallEvent(CallEventKind.ANSWERED, self._loop.time(), answered_by=answered_by))

    def _on_transfer_status(self, update: tuple[int, str, bool]) -> None:
        code, _reason, final = update
        if self._transfer is not None and not self._transfer.done() and (final or code >= 200):
            self._transfer.set_result(code)

    async def _watch_dead_air(self) -> None:
        """An answered call that never delivers RTP is dead air: hang up, say why."""
        await asyncio.sleep(self.telephony.cfg.dead_air_s)
        packets = await self.telephony.worker.call(self._on_worker(_rx_packets))
        if packets == 0 and not self.ended:   # None: the call is already gone
            log.warning("call %s to %s: no RTP for %.0f s after answer (dead air); hanging up",
                        self.attempt_id, self.masked, self.telephony.cfg.dead_air_s)
            self._end_detail = f"dead air: no RTP for {self.telephony.cfg.dead_air_s:.0f} s after answer"
            await self._hangup_sip(0)

    # -- timers ---------------------------------------------------------------------------------
    def start_timers(self, ring_timeout_s: float) -> None:
        self._ring_timer = self._loop.call_later(ring_timeout_s, self._ring_timeout)
        self._trunk_timer = self._loop.call_later(min(TRUNK_SILENCE_S, ring_timeout_s), self._trunk_silent)

    def _cancel_timer(self, name: str) -> None:
        timer = getattr(self, name)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)

    def _ring_timeout(self) -> None:
        self._ring_timer = None
        if self.answered.is_set() or self.ended:
            return
        self.history = _replace(self.history, cancelled_at_ring_timeout=True)
        self.telephony.worker.post(self._on_worker(_hangup, 0))

    def _trunk_silent(self) -> None:
        """Not even 100 Trying: the trunk is down. pjsua gives up on its own later (Timer B)."""
        self._trunk_timer = None
        if self.history.trunk_responded or self.ended:
            return
        self.telephony.worker.post(self._on_worker(_hangup, 0))
        self._ended(408, "")

    # -- the Call interface -----------------------------------------------------------------------
    async def _hangup_sip(self, code: int) -> None:
        self.history = _replace(self.history, hung_up_locally=True)
        with contextlib.suppress(Exception):
            await self.telephony.worker.call(self._on_worker(_hangup, code))

    async def hangup(self) -> None:
        if self.ended:
            return
        await self._hangup_sip(0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.disconnected.wait(), 5.0)
        if not self.ended:      # pjsua never reported the end: record it anyway
            self._ended(0, "hung up, no confirmation")

    async def media_stats(self) -> dict[str, int]:
        """RTP and jitter-buffer counters of the call's audio stream (empty once the call is gone)."""
        return await self.telephony.worker.call(self._on_worker(_stream_stats)) or {}

    async def _session(self) -> MediaSession | None:
        if not self.media_ready.is_set() and not self.ended:
            ready = asyncio.ensure_future(self.media_ready.wait())
            gone = asyncio.ensure_future(self.disconnected.wait())
            await asyncio.wait({ready, gone}, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            gone.cancel()
        return self.media if self.media_ready.is_set() else None

    async def play(self, prompt: Prompt, *, barge_in: bool = False) -> PlayResult | None:
        media = await self._session()
        if media is None or self.ended:
            return PlayResult(completed=False)
        return await media.play(prompt, barge_in=barge_in)

    async def collect_dtmf(self, *, max_digits: int = 1, timeout_s: float = 5.0,
                           terminator: str | None = "#") -> str:
        media = await self._session()
        if media is None:
            return ""
        return await media.collect_dtmf(max_digits=max_digits, timeout_s=timeout_s, terminator=terminator)

    async def listen(self, *, grammar: Grammar | None = None, language: str = "nl", max_digits: int = 1,
                     timeout_s: float = 5.0, terminator: str | None = "#", initial_digits: str = "") -> Heard:
        media = await self._session()
        if media is None:
            return Heard(HeardKind.HANGUP)
        return await media.listen(grammar=grammar, language=language, max_digits=max_digits,
                                  timeout_s=timeout_s, terminator=terminator, initial_digits=initial_digits)

    async def wait_for_beep(self, timeout_s: float = 10.0) -> bool:
        media = await self._session()
        return False if media is None else await media.wait_for_beep(timeout_s)

    async def connect_agent(self, queue: str, patience_s: float, context: Mapping[str, str]) -> str | None:
        """Blind transfer by REFER where the trunk allows it, else a second leg bridged here."""
        desk = self.telephony.agents
        loop = self._loop
        deadline = loop.time() + patience_s
        uri = desk.take(queue)
        while uri is None and loop.time() < deadline and not self.ended:
            await asyncio.sleep(0.1)
            uri = desk.take(queue)
        if uri is None or self.ended:
            return None
        self._agent_uri = uri
        headers = {f"{CONTEXT_HEADER_PREFIX}{_header_name(k)}": v for k, v in context.items()}
        try:
            if self.telephony.cfg.trunk.allows_refer:
                ok = await self._refer(uri, headers, deadline - loop.time())
            else:
                ok = await self._bridge(uri, headers, deadline - loop.time())
        except Exception:
            desk.release(uri)
            raise
        if not ok:
            desk.release(uri)
            return None
        return uri

    async def _refer(self, uri: str, headers: dict[str, str], patience_s: float) -> bool:
        self._transfer = self._loop.create_future()
        query = "&".join(f"{k}={_uri_escape(v)}" for k, v in headers.items())
        target = f"<{uri}?{query}>" if query else uri
        try:
            await self.telephony.worker.call(self._on_worker(_xfer, target))
        except Exception as exc:
            log.warning("call %s: REFER refused locally (%s)", self.attempt_id, _pj_reason(exc))
            return False
        try:
            code = await asyncio.wait_for(self._transfer, max(1.0, patience_s))
        except TimeoutError:
            code = 0
        if 200 <= code < 300:
            # The trunk has the call now; our leg is no longer needed.
            self._spawn(self._release_agent_on_end(uri))
            await self._hangup_sip(0)
            return True
        log.info("call %s: transfer by REFER failed (%s)", self.attempt_id, code or "no NOTIFY")
        return False

    async def _bridge(self, uri: str, headers: dict[str, str], patience_s: float) -> bool:
        agent_request = OriginateRequest(attempt_id=f"{self.attempt_id}-agent", number=uri,
                                         caller_id=self.request.caller_id, ring_timeout_s=patience_s,
                                         variables=dict(self.request.variables))
        agent = await self.telephony._dial(agent_request, uri, headers, counted=False)
        self._agent_leg = agent
        done = asyncio.ensure_future(agent.disconnected.wait())
        answered = asyncio.ensure_future(agent.answered.wait())
        await asyncio.wait({done, answered}, timeout=max(1.0, patience_s),
                           return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
        answered.cancel()
        if not agent.answered.is_set() or agent.ended or self.ended:
            await agent.hangup()
            return False
        worker = self.telephony.worker
        await worker.call(lambda: _bridge_calls(worker.calls[self._token], worker.calls[agent._token]))
        self._spawn(self._release_agent_on_end(uri))
        return True

    async def _release_agent_on_end(self, uri: str) -> None:
        leg = self._agent_leg or self
        await leg.disconnected.wait()
        self.telephony.agents.release(uri)
        if self._agent_leg is not None and not self.ended:
            await self.hangup()


def _replace(history: CallHistory, **changes: bool) -> CallHistory:
    from dataclasses import replace
    return replace(history, **changes)


def _header_name(key: str) -> str:
    return "-".join(part.capitalize() for part in re.split(r"[_\-\s]+", key) if part)


def _uri_escape(value: str) -> str:
    from urllib.parse import quote
    return quote(value, safe="")


def _pj_reason(exc: BaseException) -> str:
    """pjsua2's Error carries the plain reason ("Address already in use") besides C call details."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    info = getattr(exc, "info", None)
    if callable(info):
        with contextlib.suppress(Exception):
            return str(info())
    return str(exc)


# Worker-side helpers (run inside worker commands only).
def _hangup(pj_call: Any, code: int) -> None:
    prm = pj.CallOpParam()
    if code:
        prm.statusCode = code
    with contextlib.suppress(Exception):   # already gone: nothing to hang up
        pj_call.hangup(prm)


def _rx_packets(pj_call: Any) -> int:
    try:
        return int(pj_call.getStreamStat(0).rtcp.rxStat.pkt)
    except Exception:
        return -1          # no stream (already ended): not dead air


def _rx_event_pt(pj_call: Any) -> int:
    try:
        return int(pj_call.getStreamInfo(0).audRxEventPt)
    except Exception:
        return 0


def amd_params(cfg: AmdConfig) -> AmdParams:
    """audio/'s app_amd-style parameters: the tuned set, with the limits the trunk config sets."""
    from dataclasses import replace
    return replace(TUNED, greeting_ms=round(cfg.max_greeting_s * 1000),
                   after_greeting_silence_ms=round(cfg.after_greeting_silence_s * 1000),
                   total_analysis_ms=round(cfg.decide_within_s * 1000))


def _stream_stats(pj_call: Any) -> dict[str, int]:
    try:
        stat = pj_call.getStreamStat(0)
    except Exception:
        return {}
    rx, jb = stat.rtcp.rxStat, stat.jbuf
    return {"rx_packets": int(rx.pkt), "rx_lost": int(rx.loss), "rx_discarded": int(rx.discard),
            "tx_packets": int(stat.rtcp.txStat.pkt), "jitter_buffer_lost": int(jb.lost),
            "jitter_buffer_discarded": int(jb.discard), "jitter_buffer_empty": int(jb.empty)}


def _xfer(pj_call: Any, target: str) -> None:
    pj_call.xfer(target, pj.CallOpParam(True))


def _bridge_calls(a: Any, b: Any) -> None:
    """Connect two calls' audio directly in the bridge; our taps stop talking to them."""
    a.bridged_to, b.bridged_to = b, a
    a.media_open = b.media_open = False
    audio_a, audio_b = a.getAudioMedia(-1), b.getAudioMedia(-1)
    for call, audio in ((a, audio_a), (b, audio_b)):
        if call.port is not None:
            with contextlib.suppress(Exception):
                call.port.stopTransmit(audio)
            with contextlib.suppress(Exception):
                audio.stopTransmit(call.port)
    audio_a.startTransmit(audio_b)
    audio_b.startTransmit(audio_a)


class Pjsua2Telephony(Telephony):
    """The :class:`~dialer.core.telephony.Telephony` of a real SIP trunk."""

    def __init__(self, cfg: SipConfig, *, renderer: PromptRenderer | None = None) -> None:
        self.cfg = cfg
        # Text prompts -> 8 kHz PCM with the voices of the deployment's tts: section, chosen by
        # whoever builds the backend (dialer/backends.py); the backend owns it and closes it.
        self.renderer = renderer
        self.renders_prompts = renderer is not None
        self.agents: SipAgentDesk = SipAgentDesk(cfg.agents)
        self.worker: _Worker | None = None  # type: ignore[assignment]
        self.local_address = ""
        self.active_calls = 0
        self._calls: set[SipCall] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._cps_next = 0.0
        self._consecutive_failures = 0
        self._refuse_until = 0.0
        self.registered = asyncio.Event()      # set while the trunk accepts our REGISTER
        self.registration_status = 0           # last REGISTER response code (0: none yet)

    STORM_FAILURES = 20          # this many failed calls in a row ...
    STORM_BACKOFF_S = 5.0        # ... and new calls are refused for this long

    async def start(self) -> None:
        if pj is None:
            raise Pjsua2Unavailable("the pjsua2 module is not installed; run tools/build_pjsua2.sh "
                                    ".venv/bin/python (or make setup)")
        loop = asyncio.get_running_loop()
        self.worker = _Worker(self.cfg, loop, self)
        self.worker.start()
        try:
            self.local_address = await asyncio.wrap_future(self.worker.started_future)
        except Exception as exc:
            where = f"{self.cfg.bind_address}:{self.cfg.sip_port or 'any'} ({self.cfg.trunk.transport})"
            raise OriginateError(f"SIP stack did not start on {where}: {_pj_reason(exc)}") from None
        log.info("sip: listening on %s (%s), trunk %s:%d", self.local_address, self.cfg.trunk.transport,
                 self.cfg.trunk.host, self.cfg.trunk.port)

    @property
    def local_port(self) -> int:
        return int(self.local_address.rsplit(":", 1)[1]) if self.local_address else 0

    async def close(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        live = [call for call in self._calls if not call.ended]
        if live:
            await asyncio.wait([asyncio.ensure_future(call.hangup()) for call in live], timeout=6.0)
        if self.worker is not None:
            self.worker.stop()
            await asyncio.to_thread(self.worker.join, 10.0)
            self.worker = None
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    async def originate(self, request: OriginateRequest) -> SipCall:
        if self.worker is None:
            raise OriginateError("SIP backend not started")
        loop = asyncio.get_running_loop()
        if loop.time() < self._refuse_until:
            raise OriginateError(f"trunk failing every call (last {self.STORM_FAILURES} failed); "
                                 f"pausing new calls for {self.STORM_BACKOFF_S:.0f} s")
        if self.active_calls >= self.cfg.max_calls:
            raise OriginateError(f"all {self.cfg.max_calls} SIP lines are in use")
        # Calls per second: space call starts evenly.
        now = loop.time()
        wait = self._cps_next - now
        self._cps_next = max(now, self._cps_next) + 1.0 / self.cfg.calls_per_second
        if wait > 0:
            await asyncio.sleep(wait)
        headers = {f"{CONTEXT_HEADER_PREFIX}Attempt": request.attempt_id}
        caller = request.caller_id or self.cfg.caller_id.number or ""
        if caller and self.cfg.caller_id.p_asserted_identity:
            headers["P-Asserted-Identity"] = f"<sip:{caller}@{self.cfg.trunk.host}>"
        return await self._dial(request, self.cfg.trunk.uri_for(request.number), headers, caller=caller)

    async def _dial(self, request: OriginateRequest, uri: str, headers: dict[str, str], *,
                    caller: str = "", counted: bool = True) -> SipCall:
        assert self.worker is not None
        worker = self.worker
        cfg = self.cfg
        local_uri = ""
        if caller:
            name = cfg.caller_id.display_name.replace('"', "")
            local_uri = (f'"{name}" ' if name else "") + f"<sip:{caller}@{cfg.trunk.host}>"

        ref = worker.new_ref()
        call = SipCall(self, ref, request)

        def make() -> None:
            pj_call = worker.new_call(ref, call)
            prm = pj.CallOpParam(True)
            prm.opt.audioCount = 1
            prm.opt.videoCount = 0
            if local_uri:
                prm.txOption.localUri = local_uri
            for name, value in headers.items():
                header = pj.SipHeader()
                header.hName = name
                header.hValue = value
                prm.txOption.headers.append(header)
            try:
                pj_call.makeCall(uri, prm)
            except Exception:
                worker.calls.pop(pj_call.token, None)
                pj_call.sip_call = None
                raise

        self._register(call, counted)
        try:
            await worker.call(make)
        except Exception as exc:
            self._unregister(call)
            self._count_failure()
            raise OriginateError(f"call to {mask_number(request.number)} not placed: {_pj_reason(exc)}") \
                from None
        call.start_timers(request.ring_timeout_s)
        return call

    def _register(self, call: SipCall, counted: bool) -> None:
        self._calls.add(call)
        call.counted = counted
        if counted:
            self.active_calls += 1

    def _count_failure(self) -> None:
        self._consecutive_failures += 1
        if self._consecutive_failures >= self.STORM_FAILURES:
            self._refuse_until = asyncio.get_running_loop().time() + self.STORM_BACKOFF_S
            self._consecutive_failures = 0
            log.error("sip: %d calls in a row failed (trunk down or rejecting); no new calls for %.0f s",
                      self.STORM_FAILURES, self.STORM_BACKOFF_S)

    def _unregister(self, call: SipCall) -> None:
        if call in self._calls:
            self._calls.discard(call)
            if call.counted:
                self.active_calls -= 1

    def _call_ended(self, call: SipCall, cause: HangupCause) -> None:
        self._unregister(call)
        if cause is HangupCause.FAILED:
            self._count_failure()
        elif call.history.trunk_responded:
            self._consecutive_failures = 0

    def _on_registration(self, update: tuple[int, int]) -> None:
        code, expiration = update
        self.registration_status = code
        if code // 100 == 2 and expiration > 0:
            self.registered.set()
        else:
            self.registered.clear()

    # -- inbound --------------------------------------------------------------------------------
    def _on_incoming(self, update: tuple[CallRef, dict[str, str]]) -> None:
        ref, headers = update
        region = self.cfg.default_region
        caller_header = headers["pai"] or headers["from"]
        caller = number_from_header(caller_header, region)
        dialled = number_from_header(headers["to"], region)
        name_match = re.match(r'\s*"?([^"<]*)"?\s*<', caller_header)
        loop = asyncio.get_running_loop()
        inbound = Inbound(call_id=headers["call_id"] or f"in-{ref.token}", caller=caller, dialled=dialled,
                          at=loop.time(), caller_name=(name_match.group(1).strip() if name_match else ""))
        request = OriginateRequest(attempt_id=inbound.call_id, number=caller, caller_id=dialled,
                                   ring_timeout_s=0.0)
        call = SipCall(self, ref, request, inbound)
        self._register(call, True)
        handler = self.inbound_handler
        log.info("sip: inbound call from %s to %s", mask_number(caller), mask_number(dialled))

        async def run() -> None:
            await self.worker.call(call._on_worker(_attach, call))  # type: ignore[union-attr]
            if handler is None:
                await call._hangup_sip(480)
                return
            await self.worker.call(call._on_worker(_answer))  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(call.media_ready.wait(), 10.0)
            except TimeoutError:
                await call.hangup()
                return
            try:
                await handler(call, inbound)
            except Exception:
                log.exception("inbound call from %s: handler failed", mask_number(caller))
            finally:
                if not call.ended:
                    await call.hangup()

        task = asyncio.create_task(run(), name=f"inbound-{inbound.call_id}")
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    # -- prompts --------------------------------------------------------------------------------
    def _prompt_renderer(self) -> PromptRenderer:
        if self.renderer is None:
            raise RuntimeError("a text prompt but this SIP backend has no prompt renderer "
                               "(build it with dialer.backends, which reads the tts: section)")
        return self.renderer

    async def render(self, prompt: Prompt) -> bytes:
        """Text prompts become 8 kHz PCM through audio/prompts.py (cached renders)."""
        return await self._prompt_renderer().render(prompt)

    async def prepare_prompts(self, prompts: Sequence[Prompt]) -> None:
        """Warm the render cache so that an answered call never waits for synthesis."""
        if self.renderer is None or not prompts:
            return
        report = await self.renderer.prerender(prompts)
        for error in getattr(report, "errors", ())[:3]:
            log.warning("sip: prompt not prepared: %s", error)


def _attach(pj_call: Any, call: SipCall) -> None:
    """Worker side: route an inbound call's callbacks to ``call`` and replay what already happened."""
    pj_call.sip_call = call
    if pj_call.last_state is not None:
        pj_call.worker.to_loop(call._on_state, pj_call.last_state)


def _answer(pj_call: Any) -> None:
    prm = pj.CallOpParam()
    prm.statusCode = 200
    pj_call.answer(prm)
