"""The Asterisk telephony backend: several servers behind one campaign, AMI control, AudioSocket media.

Outbound: ``Originate`` (Async, ``ChannelId`` = a fresh UUID that also names the AudioSocket session)
into callpact's outbound context, which optionally runs AMD() and then hands the answered call to
callpact's AudioSocket server. To connect an agent the call is ``Redirect``-ed into the agent context
(``Queue()``, with the debtor's context as inherited channel variables); if no agent takes it within the
patience the dialplan returns it to AudioSocket, so callpact can still play the information message.
Inbound: the callback DID's dialplan raises ``UserEvent CallpactInbound`` (caller, dialled number, media
UUID) and enters AudioSocket; the call goes to :attr:`Telephony.inbound_handler`.

A call's HANGUP comes from AMI (with its cause); a dropped AudioSocket connection ends the call too,
so a call cannot hang while AMI is away. After an AMI reconnect every server is resynchronised
(CoreShowChannels, QueueStatus): calls that ended meanwhile are ended once, calls still up go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audio.asr import Recognizer
from audio.session import MediaSession, Render, SessionParams
from dialer.core.phones import normalise_number
from dialer.core.privacy import mask_number
from dialer.core.telephony import (
    AgentDesk,
    AgentSnapshot,
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
from sip.asterisk.agents import QueueAgents, merge_snapshots
from sip.asterisk.ami import AmiConnection, AmiDisconnected, AmiError
from sip.asterisk.audiosocket import AudioSocketServer, AudioSocketSession
from sip.asterisk.events import CallTracker, Notice, NoticeKind
from sip.asterisk.settings import AsteriskServer, AsteriskSettings

log = logging.getLogger("callpact.asterisk")


class _ServerStopping(OriginateError):
    """Asterisk answered the Originate with "shutting down": it did not dial."""

    def __init__(self, message: str, state: _ServerState) -> None:
        super().__init__(message)
        self.state = state


class _RateLimiter:
    """Calls per second for one server (a token bucket on the monotonic clock)."""

    def __init__(self, rate: float) -> None:
        self.rate = max(0.1, rate)
        self.tokens = 1.0
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_s(self) -> float:
        return max(0.0, (1.0 - self.tokens) / self.rate)


@dataclass
class _ServerState:
    config: AsteriskServer
    ami: AmiConnection
    agents: QueueAgents
    tracker: CallTracker = field(default_factory=CallTracker)
    limiter: _RateLimiter | None = None
    calls: dict[str, AsteriskCall] = field(default_factory=dict)


class _Desk(AgentDesk):
    def __init__(self, backend: AsteriskTelephony) -> None:
        self.backend = backend

    @property
    def typical_wrap_s(self) -> float | None:
        return None

    def snapshot(self) -> AgentSnapshot:
        return merge_snapshots(s.agents.snapshot() for s in self.backend.servers.values()
                               if s.ami.connected.is_set())


def _e164(raw: str) -> str:
    check = normalise_number(raw) if raw.strip() else None
    return check.e164 if check is not None and check.e164 else raw


def _variable_name(key: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in key).upper()


def _clean(value: str) -> str:
    """Channel variable values travel in AMI headers and dialplan arguments: no line breaks or commas."""
    return str(value).replace("\r", " ").replace("\n", " ").replace(",", " ")


class AsteriskCall(Call):
    """One call through Asterisk: control over its server's AMI, audio over its AudioSocket session.

    The audio side (prompts with barge-in, keypad and voice answers, AMD, the voicemail beep) is
    :class:`audio.session.MediaSession` over the session's MediaLeg, as for every real backend.
    AudioSocket delivers keypad digits out of band (0x03, from RFC 4733), so in-band detection is off.
    """

    def __init__(self, backend: AsteriskTelephony, server: _ServerState, channel_id: str,
                 request: OriginateRequest, inbound: Inbound | None = None, media_uuid: str = "") -> None:
        super().__init__(request, inbound)
        self.backend = backend
        self.server = server
        self.channel_id = channel_id
        self.media_uuid = media_uuid or channel_id
        self.session: AudioSocketSession | None = None
        self.media: MediaSession | None = None
        self._media_ready = asyncio.Event()
        self._notices: asyncio.Queue[Notice] = asyncio.Queue()
        self._transferring = False
        self._local_hangup = False
        #: Who took the call in the agent queue; from then on it is the agent's, not callpact's.
        self.agent: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- wiring from the backend ---------------------------------------------------------------
    def notice(self, notice: Notice) -> None:
        if notice.kind is NoticeKind.CALL_EVENT and notice.event is not None:
            self._emit(notice.event)
            if notice.event.kind is CallEventKind.HANGUP:
                self._media_ready.set()
                self._notices.put_nowait(notice)
                self.backend._call_ended(self)
        else:
            self._notices.put_nowait(notice)

    def attach_media(self, session: AudioSocketSession) -> None:
        self.session = session
        session.rename(self.attempt_id)
        media = MediaSession(session.leg, self.backend.render, self.backend.recognizers,
                             SessionParams(inband_dtmf=False))
        self.media = media
        self._spawn(self._start_media(media))
        session.ended.add_done_callback(lambda _f: self._spawn(self._media_ended(session, media)))

    async def _start_media(self, media: MediaSession) -> None:
        await media.start()
        if self.media is media:
            self._media_ready.set()
        tracked = self.server.tracker.calls.get(self.channel_id)
        if self.backend.settings.amd == "audio" and tracked is not None and not tracked.answered:
            result = await media.detect_machine()
            status = "MACHINE" if result.is_machine else "HUMAN"
            self.backend._feed(self.server, {"Event": "UserEvent", "UserEvent": "AmdResult",
                                             "Uniqueid": self.channel_id, "AmdStatus": status,
                                             "AmdCause": result.cause})

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _media_ended(self, session: AudioSocketSession, media: MediaSession) -> None:
        """A dropped AudioSocket is a hangup, unless the call is being moved to the queue."""
        await media.close()
        if self.session is session:
            self.session = None
            self.media = None
            self._media_ready.clear()
        if self._transferring or self.ended:
            return
        # AMI usually reports the Hangup (with its cause) within milliseconds; wait for it briefly.
        await asyncio.sleep(1.0)
        if not self.ended and self.session is None and not self._transferring:
            cause = HangupCause.LOCAL if self._local_hangup else HangupCause.NORMAL
            reason = session.ended.result().reason if session.ended.done() else "closed"
            self.notice(Notice(self.channel_id, NoticeKind.CALL_EVENT, event=CallEvent(
                CallEventKind.HANGUP, asyncio.get_running_loop().time(), cause=cause,
                detail=f"media {reason}")))

    async def _media(self) -> MediaSession | None:
        if self.media is None and not self.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._media_ready.wait(), self.backend.settings.media_timeout_s)
        return None if self.ended else self.media

    # -- the Call interface: audio -------------------------------------------------------------
    async def play(self, prompt: Prompt, *, barge_in: bool = False) -> PlayResult | None:
        media = await self._media()
        if media is None:
            return PlayResult(completed=False)
        if prompt.audio is None and self.backend.render is None:
            log.warning("call %s: a text prompt but no prompt renderer; nothing played", self.attempt_id)
            return PlayResult(completed=True)
        return await media.play(prompt, barge_in=barge_in)

    async def listen(self, *, grammar: Grammar | None = None, language: str = "nl",
                     max_digits: int = 1, timeout_s: float = 5.0, terminator: str | None = "#",
                     initial_digits: str = "") -> Heard:
        media = await self._media()
        if media is None:
            return Heard(HeardKind.HANGUP if self.ended else HeardKind.NO_INPUT, digits=initial_digits)
        return await media.listen(grammar=grammar, language=language, max_digits=max_digits,
                                  timeout_s=timeout_s, terminator=terminator, initial_digits=initial_digits)

    async def collect_dtmf(self, *, max_digits: int = 1, timeout_s: float = 5.0,
                           terminator: str | None = "#") -> str:
        media = await self._media()
        if media is None:
            return ""
        return await media.collect_dtmf(max_digits=max_digits, timeout_s=timeout_s, terminator=terminator)

    async def wait_for_beep(self, timeout_s: float = 10.0) -> bool:
        media = await self._media()
        return False if media is None else await media.wait_for_beep(timeout_s)

    async def connect_agent(self, queue: str, patience_s: float,
                            context: Mapping[str, str]) -> str | None:
        if self.ended:
            return None
        variables = {"CALLPACT_QUEUE": queue, "CALLPACT_PATIENCE": str(max(1, round(patience_s)))}
        for key, value in context.items():
            variables[f"__CALLPACT_{_variable_name(key)}"] = _clean(value)   # __ : the agent leg inherits
        ami = self.server.ami
        self._transferring = True
        while not self._notices.empty():        # only what happens from now on counts
            self._notices.get_nowait()
        try:
            for name, value in variables.items():
                await ami.send({"Action": "Setvar", "Channel": self.channel_id,
                                "Variable": name, "Value": value})
            reply = await ami.send({"Action": "Redirect", "Channel": self.channel_id,
                                    "Context": self.backend.settings.agent_context,
                                    "Exten": "s", "Priority": 1})
        except AmiError as exc:
            log.error("call %s: transfer to queue %s failed: %s", self.attempt_id, queue, exc)
            self._transferring = False
            return None
        if str(reply.get("Response", "")).lower() != "success":
            log.error("call %s: Redirect to queue %s refused: %s", self.attempt_id, queue,
                      reply.get("Message", ""))
            self._transferring = False
            return None
        # Queue() itself times out after the patience; a little slack covers the AMI round trips.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience_s + 5.0
        try:
            while not self.ended:
                left = deadline - loop.time()
                if left <= 0:
                    return None
                try:
                    notice = await asyncio.wait_for(self._notices.get(), left)
                except TimeoutError:
                    return None
                if notice.kind is NoticeKind.AGENT_CONNECTED:
                    self.agent = notice.value or "agent"
                    return self.agent
                if notice.kind is NoticeKind.QUEUE_LEFT:
                    log.info("call %s: no agent of %s within %.0f s (%s)", self.attempt_id, queue,
                             patience_s, notice.value)
                    self._transferring = False
                    return None
            return None
        finally:
            if self.ended:
                self._transferring = False

    async def hangup(self) -> None:
        if self.ended:
            return
        self._local_hangup = True
        self.server.tracker.mark_local_hangup(self.channel_id)
        with contextlib.suppress(AmiError):
            await self.server.ami.send({"Action": "Hangup", "Channel": self.channel_id, "Cause": 16},
                                       timeout_s=3.0)
        if self.session is not None:
            await self.session.hangup()
        # The Hangup event normally follows at once; without AMI the call still ends.
        for _ in range(100):
            if self.ended:
                return
            await asyncio.sleep(0.05)
        self.notice(Notice(self.channel_id, NoticeKind.CALL_EVENT, event=CallEvent(
            CallEventKind.HANGUP, asyncio.get_running_loop().time(), cause=HangupCause.LOCAL,
            detail="hung up (no Hangup event seen)")))


class AsteriskTelephony(Telephony):
    """Drives one or more Asterisk servers; places each call on the least loaded server with room."""

    #: How long an AudioSocket session with an unknown UUID waits for its caller-back's AMI event.
    INBOUND_MEDIA_WAIT_S = 2.0
    STRAY_LOG_INTERVAL_S = 10.0

    def __init__(self, settings: AsteriskSettings, *, render: Render | None = None,
                 prerender: Callable[[Sequence[Prompt]], Awaitable[Any]] | None = None,
                 recognizers: Mapping[str, Recognizer] | None = None,
                 release: Callable[[], None] | None = None) -> None:
        if not settings.servers:
            raise ValueError("the Asterisk backend needs at least one server")
        self.settings = settings
        self.render = render                 # PromptRenderer.render: text prompts -> PCM
        self._prerender = prerender          # PromptRenderer.prerender: into its cache, ahead of need
        self.renders_prompts = prerender is not None
        # What the builder gave us to free when we close (the renderer's workers, engine processes
        # and cache pruning): the backend takes the renderer's functions, not the renderer.
        self._release = release
        self.recognizers = dict(recognizers or {})
        self.audiosocket = AudioSocketServer(self._on_session, settings.audiosocket_host,
                                             settings.audiosocket_port,
                                             max_connections=settings.audiosocket_limit)
        self.servers: dict[str, _ServerState] = {}
        for cfg in settings.servers:
            agents = QueueAgents(settings.queues)
            ami = AmiConnection(host=cfg.host, port=cfg.ami_port, username=cfg.username, secret=cfg.secret,
                                name=cfg.name)
            state = _ServerState(cfg, ami, agents, limiter=_RateLimiter(cfg.calls_per_second))
            ami.handler = lambda msg, s=state: self._on_message(s, msg)
            ami.on_login = lambda conn, again, s=state: self._resync(s, again)
            self.servers[cfg.name] = state
        self.agents = _Desk(self)
        self._by_media: dict[str, AsteriskCall] = {}
        self._unclaimed: dict[str, tuple[AudioSocketSession, float]] = {}
        self._strays = 0                      # stray sessions hung up since the last log line
        self._stray_logged_at = -math.inf
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.audiosocket.start()
        errors = []
        for state in self.servers.values():
            try:
                await state.ami.start(timeout_s=self.settings.connect_timeout_s)
            except AmiError as exc:
                errors.append(str(exc))
        if len(errors) == len(self.servers):
            await self.audiosocket.close()
            raise OriginateError("; ".join(errors))
        for error in errors:
            log.error("%s (server left out)", error)
        self._ticker = asyncio.create_task(self._tick(), name="asterisk-ticker")

    async def close(self) -> None:
        calls = [call for state in self.servers.values() for call in state.calls.values()]
        if calls:
            await asyncio.gather(*(asyncio.wait_for(call.hangup(), 6) for call in calls),
                                 return_exceptions=True)
        if self._ticker is not None:
            self._ticker.cancel()
        for state in self.servers.values():
            await state.ami.close()
        await self.audiosocket.close()
        if self._release is not None:
            release, self._release = self._release, None
            await asyncio.to_thread(release)

    async def prepare_prompts(self, prompts: Sequence[Prompt]) -> None:
        if self._prerender is not None and prompts:
            await self._prerender(prompts)

    def audiosocket_address(self, server: AsteriskServer) -> str:
        return server.audiosocket_address or self.audiosocket.address

    # -- originate ------------------------------------------------------------------------------
    def _pick_server(self) -> _ServerState | None:
        ready = [s for s in self.servers.values()
                 if s.ami.connected.is_set() and len(s.calls) < s.config.max_channels]
        ready.sort(key=lambda s: len(s.calls) / max(1, s.config.max_channels))
        for state in ready:
            if state.limiter is None or state.limiter.take():
                return state
        return None

    async def _await_reconnect(self) -> None:
        """No server is connected: give a reconnect (an Asterisk restart takes seconds) a short chance
        before the call is refused, so that a brief outage does not spend debtors' attempts."""
        if any(s.ami.connected.is_set() for s in self.servers.values()):
            return
        waits = [asyncio.ensure_future(s.ami.connected.wait()) for s in self.servers.values()
                 if s.ami.failed is None and not s.ami.closed]
        if not waits:
            return
        try:
            await asyncio.wait(waits, timeout=self.settings.reconnect_wait_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def originate(self, request: OriginateRequest) -> Call:
        try:
            return await self._originate_once(request)
        except _ServerStopping as stopping:
            # Asterisk refused because it is shutting down, so it did not dial: once its connection
            # has gone (and, with a restart, come back) the call may safely be placed again.
            ami = stopping.state.ami
            for _ in range(100):
                if not ami.connected.is_set():
                    break
                await asyncio.sleep(0.05)
            return await self._originate_once(request)

    async def _originate_once(self, request: OriginateRequest) -> Call:
        await self._await_reconnect()
        state = self._pick_server()
        if state is None:
            waits = [s.limiter.wait_s() for s in self.servers.values()
                     if s.limiter and s.ami.connected.is_set() and len(s.calls) < s.config.max_channels]
            if waits:
                await asyncio.sleep(min(min(waits), 1.0))
                state = self._pick_server()
        if state is None:
            raise OriginateError("no Asterisk server is connected with a free channel")
        check = normalise_number(request.number)
        e164 = check.e164 or request.number
        cfg = state.config
        channel_id = str(uuidlib.uuid4())
        call = AsteriskCall(self, state, channel_id, request)
        action_id = f"orig-{channel_id}"
        state.tracker.expect(channel_id, action_id=action_id, attempt_id=request.attempt_id,
                             amd=self.settings.amd in ("dialplan", "audio"))
        state.calls[channel_id] = call
        self._by_media[channel_id] = call
        variables = {
            "ATTEMPT_ID": request.attempt_id,
            "CALLPACT_MEDIA_UUID": channel_id,
            "CALLPACT_AUDIOSOCKET": self.audiosocket_address(cfg),
            "CALLPACT_AMD": "1" if self.settings.amd == "dialplan" else "0",
        }
        for key, value in request.variables.items():
            variables[f"CALLPACT_{_variable_name(key)}"] = _clean(value)
        action = {
            "Action": "Originate",
            "ActionID": action_id,
            "Channel": cfg.dial.format(number=e164, digits=e164.lstrip("+")),
            "Context": self.settings.outbound_context,
            "Exten": "s",
            "Priority": 1,
            "Timeout": int(request.ring_timeout_s * 1000),
            "CallerID": _clean(request.caller_id) if request.caller_id else "",
            "Async": "true",
            "ChannelId": channel_id,
            "Variable": [f"{k}={v}" for k, v in variables.items()],
        }
        if not action["CallerID"]:
            del action["CallerID"]
        try:
            reply = await state.ami.send(action)
        except AmiDisconnected:
            # Asterisk may or may not have got it. Sending it again could ring the debtor twice, so
            # the call stays tracked: its channel's events, or the resync after the reconnect
            # (CoreShowChannels), decide; without either it ends after a limit (tracker.expire).
            log.warning("attempt %s: AMI %s lost while originating; the resync will tell",
                        request.attempt_id, cfg.name)
            state.tracker.mark_unconfirmed(channel_id, asyncio.get_running_loop().time())
            return call
        except AmiError as exc:
            self._drop(state, call)
            raise OriginateError(str(exc)) from exc
        if str(reply.get("Response", "")).lower() != "success":
            self._drop(state, call)
            message = f"Asterisk {cfg.name} refused the Originate: {reply.get('Message', '')}"
            if "shutting down" in str(reply.get("Message", "")).lower():
                raise _ServerStopping(message, state)
            raise OriginateError(message)
        log.debug("attempt %s: dialling %s on %s", request.attempt_id, mask_number(e164), cfg.name)
        return call

    def _drop(self, state: _ServerState, call: AsteriskCall) -> None:
        state.calls.pop(call.channel_id, None)
        state.tracker.forget(call.channel_id)
        self._by_media.pop(call.media_uuid, None)

    def _call_ended(self, call: AsteriskCall) -> None:
        self._drop(call.server, call)

    # -- AMI events -----------------------------------------------------------------------------
    def _on_message(self, state: _ServerState, msg: Any) -> None:
        state.agents.feed(msg, time.monotonic())
        self._feed(state, msg)

    def _feed(self, state: _ServerState, msg: Any) -> None:
        for notice in state.tracker.feed(msg, asyncio.get_running_loop().time()):
            self._deliver(state, notice)

    def _deliver(self, state: _ServerState, notice: Notice) -> None:
        if notice.kind is NoticeKind.INBOUND:
            self._inbound(state, notice)
            return
        call = state.calls.get(notice.key)
        if call is not None:
            call.notice(notice)

    def _inbound(self, state: _ServerState, notice: Notice) -> None:
        fields = notice.fields
        channel = fields.get("Uniqueid", "")
        media_uuid = notice.key
        if not channel or not media_uuid:
            return
        if self.inbound_handler is None:
            log.warning("inbound call on %s with no handler; hanging up", state.config.name)
            self._spawn(state.ami.send({"Action": "Hangup", "Channel": channel, "Cause": 21}))
            return
        # Both numbers in E.164 when they parse: callers back are matched to campaigns by them.
        caller, dialled = _e164(fields.get("Caller", "")), _e164(fields.get("Dialled", ""))
        loop = asyncio.get_running_loop()
        inbound = Inbound(call_id=channel, caller=caller, dialled=dialled,
                          at=loop.time(), caller_name=fields.get("CallerName", ""))
        request = OriginateRequest(attempt_id=channel, number=caller, caller_id=inbound.dialled,
                                   ring_timeout_s=0.0)
        call = AsteriskCall(self, state, channel, request, inbound, media_uuid=media_uuid)
        state.tracker.adopt(channel, up=True)
        state.calls[channel] = call
        self._by_media[media_uuid] = call
        parked = self._unclaimed.pop(media_uuid, None)
        if parked is not None:
            call.attach_media(parked[0])
        log.info("inbound call from %s to %s on %s", mask_number(caller), inbound.dialled, state.config.name)
        handler = self.inbound_handler
        self._spawn(self._run_inbound(handler, call, inbound))

    async def _run_inbound(self, handler: Any, call: AsteriskCall, inbound: Inbound) -> None:
        try:
            await handler(call, inbound)
        except Exception:
            log.exception("inbound call %s: handler failed", inbound.call_id)
        # Once an agent has answered, the caller is in Queue()'s bridge and the handler has nothing
        # left to do: hanging up here cut the caller off as the agent said hello. The agent's or the
        # caller's hangup ends it (AMI reports it, as for an outbound call put through).
        if not call.ended and call.agent is None:
            await call.hangup()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- AudioSocket ----------------------------------------------------------------------------
    def _on_session(self, session: AudioSocketSession) -> None:
        """Give the session to its call; hold it only while a caller-back's AMI event may be coming.

        An outbound call's UUID is registered before its Originate is sent, so its session is never
        early. A caller back gets its UUID from the dialplan, which announces it (UserEvent
        CallpactInbound) on the AMI connection just before AudioSocket(): the two race, so with an
        inbound handler an unknown UUID waits INBOUND_MEDIA_WAIT_S for its event. Anything else (a
        stray or forged UUID, a call already over) is hung up at once rather than held.
        """
        call = self._by_media.get(session.uuid)
        if call is not None and not call.ended:
            call.attach_media(session)
        elif call is None and self.inbound_handler is not None:
            self._unclaimed[session.uuid] = (session, time.monotonic())
        else:
            self._hang_up_stray(session)

    def _hang_up_stray(self, session: AudioSocketSession) -> None:
        """Hang up a session that belongs to no call; one log line per 10 s however many there are."""
        now = time.monotonic()
        self._strays += 1
        if now - self._stray_logged_at >= self.STRAY_LOG_INTERVAL_S:
            log.warning("AudioSocket session %s belongs to no call; hanging it up (%d such session(s) "
                        "since the last report)", session.uuid, self._strays)
            self._strays, self._stray_logged_at = 0, now
        self._spawn(session.hangup())

    # -- resync and timers ----------------------------------------------------------------------
    async def _resync(self, state: _ServerState, again: bool) -> None:
        """After a (re)login: which of our calls are still up, and the agents' state."""
        loop = asyncio.get_running_loop()
        try:
            status = await state.ami.collect({"Action": "QueueStatus"}, timeout_s=10)
            state.agents.begin_resync()
            for msg in status:
                state.agents.feed(msg, time.monotonic())
            state.agents.end_resync()
            if not again:
                return
            # Only calls placed before this point are judged (a call originated meanwhile may not be
            # listed yet).
            before = state.tracker.live_channel_ids()
            listed = await state.ami.collect({"Action": "CoreShowChannels"}, timeout_s=10)
        except AmiError as exc:
            log.error("AMI %s: resync failed: %s", state.config.name, exc)
            return
        up: dict[str, Any] = {}
        for msg in listed:
            if str(msg.get("Event", "")) == "CoreShowChannel":
                up[str(msg.get("Uniqueid", ""))] = msg
        now = loop.time()
        for channel_id in before:
            msg = up.get(channel_id)
            call = state.calls.get(channel_id)
            if msg is not None:
                # Still up: replay its state in case the answer was missed.
                synthetic = {"Event": "Newstate", "Uniqueid": channel_id,
                             "ChannelState": str(msg.get("ChannelState", "")),
                             "ChannelStateDesc": str(msg.get("ChannelStateDesc", ""))}
                for notice in state.tracker.feed(synthetic, now):
                    self._deliver(state, notice)
            elif call is not None and call.session is not None and not call.session.ended.done():
                continue     # its media is still flowing: it is up, whatever the list says
            else:
                for notice in state.tracker.channel_gone(channel_id, now, "ended while AMI was away"):
                    self._deliver(state, notice)
        log.warning("AMI %s: resynchronised; %d of our calls still up", state.config.name,
                    sum(1 for c in up if c in state.calls))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = asyncio.get_running_loop().time()
            for state in self.servers.values():
                for notice in state.tracker.expire(now):
                    self._deliver(state, notice)
            cutoff = time.monotonic() - self.INBOUND_MEDIA_WAIT_S
            for media_uuid, (session, since) in list(self._unclaimed.items()):
                if since < cutoff:
                    del self._unclaimed[media_uuid]
                    self._hang_up_stray(session)
