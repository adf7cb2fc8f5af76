"""The pacing engine: one asyncio loop per campaign that turns the hopper into calls.

Every tick it asks the campaign's pacing policy how many calls to launch,
clamps that to free lines and the calls-per-second budget, claims that many
debtors from the hopper, checks each against its calling window and attempt
caps (a debtor may have waited in the hopper past its window), writes the
attempts, and originates the calls. Each call then runs in its own task: a live
answer is offered to an agent for at most ``agent_patience`` seconds; without
one, the person hears the short information message and the call counts as
abandoned. Every attempt ends in :meth:`CampaignEngine._finish`, which records
its one outcome and schedules the debtor's next try in a single atomic write.

Time: ``loop.time()`` drives ticks and durations (virtual in a simulation);
:class:`Clock` maps it to the epoch instants that are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialer.campaign import CampaignConfig, DialMode, parse_campaign
from dialer.core.errors import CallpactError, StoreUnavailable
from dialer.core.privacy import mask_number
from dialer.core.records import DebtorStatus, Outcome
from dialer.core.telephony import (
    AgentSnapshot,
    AnsweredBy,
    Call,
    CallEventKind,
    HangupCause,
    OriginateError,
    OriginateRequest,
    Prompt,
    Telephony,
)
from dialer.inbound import CallbackHandler, InboundRouter
from dialer.outcome_journal import OutcomeJournal, PendingOutcome
from dialer.pacing.policy import (
    Agentless,
    FixedRatio,
    Observations,
    PacingPolicy,
    PacingState,
    PacingStats,
    Progressive,
)
from dialer.pacing.predictive import PredictivePolicy
from dialer.scheduling import dial_check, follow_up, phone_to_dial
from dialer.store.port import AttemptStart, CallbackStore, CampaignStore, Claim
from dialer.windows import zone
from ivr_flows.catalogue import fixed_prompts, opening_prompts
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowRun
from ivr_flows.loader import resolve_flow
from ivr_flows.model import Flow
from ivr_flows.runner import EventSender, run_flow
from ivr_flows.webhook import WebhookSender

log = logging.getLogger("callpact.engine")

_CAUSE_OUTCOME = {
    HangupCause.BUSY: Outcome.BUSY,
    HangupCause.NO_ANSWER: Outcome.NO_ANSWER,
    HangupCause.INVALID_NUMBER: Outcome.INVALID_NUMBER,
    HangupCause.FAILED: Outcome.FAILED,
    HangupCause.NORMAL: Outcome.NO_ANSWER,   # the far end gave up while it was ringing
    HangupCause.LOCAL: Outcome.NO_ANSWER,
}


class Clock:
    """Epoch instants for loop times: wall time normally, a fixed origin in a simulation."""

    def __init__(self, start_epoch: float | None = None) -> None:
        self._origin: float | None = start_epoch
        self._loop_origin: float | None = None

    def now(self) -> float:
        if self._origin is None:
            return time.time()
        loop_now = asyncio.get_running_loop().time()
        if self._loop_origin is None:
            self._loop_origin = loop_now
        return self._origin + (loop_now - self._loop_origin)


def tick_for(cfg: CampaignConfig) -> float:
    """The pacing loop's period: 0.5 s, shorter when that would launch big bursts of calls.

    At 250 calls/s a 0.5 s tick launches 125 calls at once; a 0.1 s tick keeps every
    launch to about :attr:`CampaignEngine.LAUNCHES_PER_TICK` calls so that no tick
    stalls the calls in flight.
    """
    cps = cfg.pacing.calls_per_second
    return min(0.5, max(0.1, CampaignEngine.LAUNCHES_PER_TICK / cps)) if cps > 0 else 0.5


def policy_for(cfg: CampaignConfig, previous: PacingPolicy | None = None) -> PacingPolicy:
    """The campaign's pacing policy; a predictive one keeps what it learned across setting changes."""
    pacing = cfg.pacing
    if cfg.dial_mode is DialMode.PREDICTIVE:
        if isinstance(previous, PredictivePolicy):
            return previous.reconfigured(pacing)
        return PredictivePolicy.for_campaign(pacing)
    if cfg.dial_mode is DialMode.PROGRESSIVE:
        return Progressive()
    if cfg.dial_mode is DialMode.RATIO:
        return FixedRatio(ratio=pacing.ratio)
    if cfg.dial_mode is DialMode.AGENTLESS:
        return Agentless()
    raise AssertionError(cfg.dial_mode)


@dataclass
class EngineCounters:
    """Live figures for progress lines and the pacing statistics (this process only)."""

    attempts: int = 0
    finished: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    live: int = 0
    abandoned: int = 0
    lost_writes: int = 0
    journaled: int = 0      # outcomes the store could not take in time, kept in the journal instead

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def contacts(self) -> int:
        return self.outcomes.get(Outcome.CONNECTED_TO_AGENT.value, 0) + self.outcomes.get(
            Outcome.ANSWERED_HUMAN.value, 0
        )


@dataclass
class _LiveCall:
    claim: Claim
    attempt_id: str
    phone: str
    dialled_at: float
    dialled_loop: float
    ringing: bool = True
    resolved_loop: float | None = None     # when it stopped ringing (answered or ended)
    connected_loop: float | None = None


class CampaignEngine:
    """Runs one campaign against one telephony backend until stopped."""

    #: Most calls one tick should launch: claiming, checking and starting a call costs ~0.2 ms of
    #: CPU, so bursts of a hundred or more stall the loop for every call in flight.
    LAUNCHES_PER_TICK = 25
    #: With ``gc_mode="young"``, a full collection this often (it pauses for ~50 ms per 1,000 calls).
    FULL_GC_EVERY_S = 600.0
    #: How long :meth:`_finish` retries a store that does not answer before it journals the outcome
    #: (without a journal: gives it up). Long enough for a Redis restart or failover.
    FINISH_RETRY_S = 85.0
    #: Pause between tries to replay the journal while the store is away.
    REPLAY_EVERY_S = 2.0

    def __init__(self, store: CampaignStore, telephony: Telephony, cfg: CampaignConfig, *,
                 clock: Clock | None = None, tick_s: float | None = None, control_every_s: float = 2.0,
                 reconcile_every_s: float | None = None,
                 on_tick: Callable[[CampaignEngine], Any] | None = None,
                 policy: PacingPolicy | None = None, gc_mode: str = "default",
                 events: EventSender | None = None, journal: OutcomeJournal | None = None,
                 finish_retry_s: float | None = None) -> None:
        self.store = store
        # Where outcomes go that the store cannot take (shared by a process's engines); None: lost.
        self.journal = journal
        self.finish_retry_s = self.FINISH_RETRY_S if finish_retry_s is None else finish_retry_s
        self.events = events            # where IVR webhook events go (None: the campaign's webhooks, if any)
        self.telephony = telephony
        self.cfg = cfg
        self.name = cfg.name
        self.clock = clock or Clock()
        # None: as short as a campaign's calls-per-second needs (see tick_for), following setting changes.
        self._auto_tick = tick_s is None
        self.tick_s = tick_s if tick_s is not None else tick_for(cfg)
        if gc_mode not in ("default", "young"):
            raise ValueError(f"gc_mode must be 'default' or 'young', not {gc_mode!r}")
        self.gc_mode = gc_mode
        self.control_every_s = control_every_s
        # A dead process is only recognisable once its heartbeat expired, so looking more often is waste.
        self.reconcile_every_s = reconcile_every_s or store.heartbeat_ttl_s / 2
        self.on_tick = on_tick
        self._fixed_policy = policy
        self.policy = policy or policy_for(cfg)
        self.observed = Observations()
        self.counters = EngineCounters()
        self.state = "stopped"
        self._version = -1
        self._calls: dict[str, _LiveCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting_for_agent = 0
        self._tokens = 0.0
        self._last_refill: float | None = None
        self._window: dict[int, list[int]] = {}   # hour epoch -> [live, abandoned]
        self._stop = asyncio.Event()
        self._nothing_due_until = 0.0
        self._next_control = self._next_heartbeat = self._next_reconcile = 0.0
        self._reconciling: asyncio.Task[None] | None = None
        self._replaying: asyncio.Task[None] | None = None

    # -- public ----------------------------------------------------------------------------
    @property
    def calls_in_flight(self) -> int:
        return len(self._calls)

    def stop(self) -> None:
        self._stop.set()

    async def run(self, *, until_epoch: float | None = None, exit_when_stopped: bool = False) -> None:
        """Pace the campaign until :meth:`stop`, ``until_epoch``, or (optionally) its stop state."""
        loop = asyncio.get_running_loop()
        await self._load_window()
        if self.journal is not None:
            # Before reconciling: an attempt whose outcome waits in a journal is not 'interrupted'.
            self.journal.adopt_orphans()
            await self.journal.replay(self.store)
        await self.reconcile()
        callbacks = self._answer_callers_back()
        self._prepare_flow_prompts()
        self._next_control = loop.time()
        self._next_reconcile = self._next_heartbeat = time.monotonic()
        quiet_gc = self.gc_mode == "young" and gc.isenabled()
        if quiet_gc:
            # Full collections walk every object of every call in flight (~47 per call): at 6,000
            # calls that is a 250+ ms pause, several per minute. Freeze what setup made, collect the
            # young generations between ticks, and the old one rarely (docs/benchmarks.md).
            gc.collect()
            gc.freeze()
            gc.disable()
            next_full_gc = time.monotonic() + self.FULL_GC_EVERY_S
        try:
            outage_since: float | None = None
            while not self._stop.is_set():
                if quiet_gc:
                    gc.collect(1)
                    if time.monotonic() >= next_full_gc:
                        gc.collect()
                        next_full_gc = time.monotonic() + self.FULL_GC_EVERY_S
                now_loop = loop.time()
                now = self.clock.now()
                if until_epoch is not None and now >= until_epoch:
                    break
                try:
                    stop = await self._tick(now, now_loop, exit_when_stopped, until_epoch)
                except StoreUnavailable as exc:
                    # Calls in progress go on (their outcomes are retried); no new ones until Redis
                    # is back. The loop itself must survive: a dialer that silently stops is worse.
                    if outage_since is None:
                        outage_since = now_loop
                        log.error("campaign %s: %s; not launching calls until it is back", self.name, exc)
                    await asyncio.sleep(1.0)
                    continue
                if outage_since is not None:
                    log.warning("campaign %s: Redis is back after %.0f s", self.name, now_loop - outage_since)
                    outage_since = None
                if stop:
                    break
        finally:
            if callbacks is not None:
                callbacks[0].unregister(callbacks[1])
            try:
                if self._reconciling is not None:
                    await asyncio.wait({self._reconciling}, timeout=30)
                await self._drain()
                await self._stop_replaying()
            finally:
                if quiet_gc:
                    gc.unfreeze()
                    gc.enable()

    async def _tick(self, now: float, now_loop: float, exit_when_stopped: bool,
                    until_epoch: float | None) -> bool:
        """One round of the pacing loop; True when the engine should stop."""
        if now_loop >= self._next_control:
            await self._refresh_control()
            self._next_control = now_loop + self.control_every_s
        # Heartbeats and the search for dead processes follow real time: Redis expires
        # heartbeats in real seconds, also while a simulation runs in virtual time.
        real_now = time.monotonic()
        if real_now >= self._next_heartbeat:
            await self.store.heartbeat(f"campaign {self.name}")
            self._next_heartbeat = real_now + self.store.heartbeat_ttl_s / 3
        if real_now >= self._next_reconcile and self._reconciling is None:
            # In its own task: at thousands of calls in flight the search takes tens of ms of Redis
            # time, which the pacing loop must not wait for.
            self._reconciling = asyncio.create_task(self._reconcile_in_background(), name="reconcile")
            self._next_reconcile = real_now + self.reconcile_every_s
        if exit_when_stopped and self.state == "stopped" and not self._calls:
            return True
        agents = self.telephony.agents.snapshot()    # one snapshot per tick; pacing reads it
        launched = 0
        if self.state == "running":
            launched = await self._launch(now, now_loop, agents)
        if self.on_tick is not None:
            self.on_tick(self)
        await self._idle_sleep(launched, now, until_epoch)
        return False

    # -- one tick ------------------------------------------------------------------------------
    async def _launch(self, now: float, now_loop: float, agents: AgentSnapshot) -> int:
        want = self.policy.calls_to_launch(self._pacing_state(agents))
        want = min(want, self.cfg.pacing.max_lines - len(self._calls), self._take_tokens(now_loop, want))
        if want <= 0:
            return 0
        if now < self._nothing_due_until:
            return 0
        claims = await self.store.claim(self.name, want, now)
        if len(claims) < want:
            # The hopper ran dry: do not ask Redis again every tick, only when something falls due
            # (our own retries lower this bound as they are scheduled; imports by other processes
            # are noticed within a few control intervals).
            due = await self.store.next_due(self.name)
            self._nothing_due_until = min(math.inf if due is None else due, now + 5 * self.control_every_s)
        starts: list[AttemptStart] = []
        for claim in claims:
            not_before = dial_check(claim.debtor, claim.state, self.cfg, now)
            phone = phone_to_dial(claim.debtor, claim.state)
            if phone is None:
                await self.store.reschedule(self.name, claim.debtor.debtor_id, None,
                                            DebtorStatus.UNREACHABLE)
            elif not_before == math.inf:
                await self.store.reschedule(self.name, claim.debtor.debtor_id, None,
                                            DebtorStatus.EXHAUSTED)
            elif not_before is not None:
                await self.store.reschedule(self.name, claim.debtor.debtor_id, not_before)
                self._nothing_due_until = min(self._nothing_due_until, not_before)
            else:
                starts.append(AttemptStart(claim, phone, now))
        ids = await self.store.begin_attempts(self.name, starts)
        self._tokens -= len(ids)
        for aid, start in zip(ids, starts, strict=True):
            live = _LiveCall(start.claim, aid, start.phone, start.dialled_at, now_loop)
            self._calls[aid] = live
            self.counters.attempts += 1
            task = asyncio.create_task(self._run_call(live), name=f"call-{aid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._prepare_greeting(live)
        return len(ids)

    def _take_tokens(self, now_loop: float, want: int) -> int:
        cps = self.cfg.pacing.calls_per_second
        if self._last_refill is None:
            self._tokens = min(cps, max(1.0, cps * self.tick_s))
        else:
            self._tokens = min(cps, self._tokens + (now_loop - self._last_refill) * cps)
        self._last_refill = now_loop
        return min(want, int(self._tokens))

    def _pacing_state(self, agents: AgentSnapshot) -> PacingState:
        now_loop = asyncio.get_running_loop().time()
        ringing_s = tuple(now_loop - c.dialled_loop for c in self._calls.values() if c.ringing)
        ringing = len(ringing_s)
        live, abandoned = self._window_totals()
        this_hour = self._window.get(int(self.clock.now() // 3600 * 3600), (0, 0))
        stats = PacingStats(
            calls_finished=self.counters.finished,
            live_answers=self.counters.live,
            abandoned=self.counters.abandoned,
            window_live_answers=live,
            window_abandoned=abandoned,
            hour_live_answers=this_hour[0],
            hour_abandoned=this_hour[1],
            hour_elapsed_s=self.clock.now() % 3600,
        )
        return PacingState(
            agents=agents,
            calls_ringing=ringing,
            calls_waiting_for_agent=self._waiting_for_agent,
            lines_in_use=len(self._calls),
            max_lines=self.cfg.pacing.max_lines,
            stats=stats,
            max_abandon_rate=self.cfg.pacing.pacing_abandon_rate,
            now=now_loop,
            ringing_s=ringing_s,
            observed=self.observed,
            agent_patience_s=self.cfg.pacing.agent_patience_s,
            typical_wrap_s=getattr(self.telephony.agents, "typical_wrap_s", None),
            ring_timeout_s=self.cfg.pacing.ring_timeout_s,
        )

    async def _idle_sleep(self, launched: int, now: float, until_epoch: float | None) -> None:
        """Sleep one tick; with nothing in flight and nothing due, sleep until something is due."""
        delay = self.tick_s
        if not launched and not self._calls and self.state == "running":
            due = await self.store.next_due(self.name)
            if due is not None and due > now + self.tick_s:
                delay = min(due - now, self.control_every_s * 30)
                if until_epoch is not None:
                    delay = min(delay, max(self.tick_s, until_epoch - now))
        if delay <= self.tick_s:
            await asyncio.sleep(delay)          # the common case: cheap, and stop() waits a tick at most
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def _refresh_control(self) -> None:
        control = await self.store.control(self.name)
        if control.version != self._version:
            if self._version != -1:
                text = await self.store.campaign_text(self.name)
                try:
                    cfg = parse_campaign(text, f"campaign {self.name} (stored)")
                except CallpactError as exc:
                    log.error("campaign %s: stored configuration rejected, keeping the old one: %s",
                              self.name, exc)
                else:
                    if cfg != self.cfg:
                        log.info("campaign %s: configuration changed while running; applied", self.name)
                    if self._fixed_policy is None:
                        self.policy = policy_for(cfg, previous=self.policy)
                    self.cfg = cfg
                    if self._auto_tick:
                        self.tick_s = tick_for(cfg)
            self._version = control.version
            if control.state != self.state:
                log.info("campaign %s: %s -> %s", self.name, self.state, control.state)
            self.state = control.state

    # -- abandon window --------------------------------------------------------------------------
    async def _load_window(self) -> None:
        hourly = await self.store.hourly_counts(self.name)
        self._window = {hour: [live, abandoned] for hour, (live, abandoned) in hourly.items()}
        stats = await self.store.stats(self.name)
        self.counters.live = stats.get("live", 0)
        self.counters.abandoned = stats.get("abandoned", 0)
        self.counters.finished = sum(v for k, v in stats.items() if k.startswith("outcome:"))

    def _window_totals(self) -> tuple[int, int]:
        horizon = self.clock.now() - self.cfg.pacing.abandon_window_s
        live = abandoned = 0
        for hour, (lv, ab) in self._window.items():
            if hour + 3600 > horizon:
                live += lv
                abandoned += ab
        return live, abandoned

    # -- one call ------------------------------------------------------------------------------
    async def _run_call(self, live: _LiveCall) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.cfg
        fields: dict[str, Any] = {}
        outcome: Outcome | None = None
        detail = ""
        request = OriginateRequest(
            attempt_id=live.attempt_id,
            number=live.phone,
            caller_id=cfg.caller_id or "",
            ring_timeout_s=cfg.pacing.ring_timeout_s,
            variables={
                "attempt_id": live.attempt_id,
                "campaign": self.name,
                "debtor_attempt": str(live.claim.state.attempts + 1),
            },
        )
        call: Call | None = None
        try:
            call = await self.telephony.originate(request)
            async for event in call.events():
                if event.kind is CallEventKind.RINGING:
                    fields["ringing_at"] = self.clock.now()
                elif event.kind is CallEventKind.ANSWERED:
                    live.ringing = False
                    live.resolved_loop = event.at
                    self.observed.call_resolved(event.answered_by is not AnsweredBy.MACHINE,
                                                event.at - live.dialled_loop, at=event.at)
                    fields["answered_at"] = self.clock.now()
                    if event.answered_by is AnsweredBy.MACHINE:
                        outcome = Outcome.ANSWERED_MACHINE
                        if cfg.dial_mode is DialMode.AGENTLESS:
                            await self._run_ivr(call, live, fields, machine=True)
                        else:
                            await call.hangup()
                    else:
                        outcome = await self._handle_person(call, live, fields, loop.time())
                elif event.kind is CallEventKind.HANGUP:
                    if live.resolved_loop is None:
                        live.resolved_loop = event.at
                        self.observed.call_resolved(False, event.at - live.dialled_loop, at=event.at)
                    if live.connected_loop is not None:
                        self.observed.talk_times.append(max(0.0, event.at - live.connected_loop))
                    detail = event.detail or (event.cause.value if event.cause else "")
                    if outcome is None:
                        outcome = _CAUSE_OUTCOME.get(event.cause or HangupCause.FAILED, Outcome.FAILED)
        except OriginateError as exc:
            outcome, detail = Outcome.FAILED, f"originate refused: {exc}"
        except asyncio.CancelledError:
            # Shutting down: hang up, but still record the attempt before going.
            if call is not None and not call.ended:
                with contextlib.suppress(Exception):
                    await call.hangup()
            fields["ended_at"] = self.clock.now()
            fields["detail"] = "dialer shut down mid-call"
            await self._finish(live, outcome or Outcome.INTERRUPTED, fields)
            raise
        except Exception as exc:  # a backend bug must not lose the attempt
            log.exception("attempt %s: call handling failed", live.attempt_id)
            outcome, detail = Outcome.FAILED, f"internal error: {exc.__class__.__name__}"
            if call is not None and not call.ended:
                with contextlib.suppress(Exception):
                    await call.hangup()
        finally:
            live.ringing = False
        fields["ended_at"] = self.clock.now()
        fields["detail"] = detail
        await self._finish(live, outcome or Outcome.FAILED, fields)

    async def _handle_person(self, call: Call, live: _LiveCall, fields: dict[str, Any],
                             answered_loop: float) -> Outcome:
        cfg = self.cfg
        debtor = live.claim.debtor
        if cfg.dial_mode is DialMode.AGENTLESS:
            agent = await self._run_ivr(call, live, fields, machine=False)
            return Outcome.CONNECTED_TO_AGENT if agent else Outcome.ANSWERED_HUMAN
        self._waiting_for_agent += 1
        try:
            agent = await call.connect_agent(
                cfg.agent_queue, cfg.pacing.agent_patience_s,
                {"attempt_id": live.attempt_id, "debtor_id": debtor.debtor_id, "campaign": self.name},
            )
        finally:
            self._waiting_for_agent -= 1
        if agent is not None:
            live.connected_loop = asyncio.get_running_loop().time()
            fields["connected_at"] = self.clock.now()
            fields["agent"] = agent
            return Outcome.CONNECTED_TO_AGENT
        message = cfg.pacing.abandon_message.get(debtor.language) or next(
            iter(cfg.pacing.abandon_message.values())
        )
        await call.play(Prompt(message.replace("{caller_id}", cfg.caller_id or ""), debtor.language))
        await call.hangup()
        return Outcome.ABANDONED

    def _answer_callers_back(self) -> tuple[InboundRouter, CallbackHandler] | None:
        """Take this campaign's callers back while it runs (unless the backend's inbound calls are
        someone else's, or the store cannot look debtors up by number, as in ``callpact simulate``)."""
        if not isinstance(self.store, CallbackStore):
            return None
        router = InboundRouter.attach(self.telephony)
        if router is None:
            return None
        handler = CallbackHandler(self.store, lambda: self.cfg, self.clock.now, sender=self._event_sender())
        router.register(handler)
        return router, handler

    async def _run_ivr(self, call: Call, live: _LiveCall, fields: dict[str, Any], *,
                       machine: bool) -> str | None:
        """Run the campaign's flow on an answered call (its voicemail branch for a machine); the
        flow's result goes into the attempt's fields. Returns the agent a transfer reached, if any."""
        flow = ivr_flow(self.cfg)
        if machine and flow.machine is None:
            await call.hangup()
            return None
        run = self._flow_run(live, flow, machine=machine)
        result = await run_flow(call, run, sender=self._event_sender())
        fields.update(result.attempt_fields())
        if result.agent:
            live.connected_loop = asyncio.get_running_loop().time()
            fields["connected_at"] = self.clock.now()
            fields["agent"] = result.agent
        return result.agent

    def _flow_run(self, live: _LiveCall, flow: Flow, *, machine: bool) -> FlowRun:
        cfg = self.cfg
        debtor, state = live.claim.debtor, live.claim.state
        local_today = dt.datetime.fromtimestamp(self.clock.now(), zone(debtor.timezone)).date()
        facts = CallFacts(
            debtor=debtor, language=debtor.language, today=local_today, attempt=state.attempts + 1,
            heard_before=state.heard_at is not None, machine=machine,
            callback_number=cfg.caller_id or "",
        )
        return FlowRun(flow, facts, agent_queue=cfg.agent_queue,
                       context={"attempt_id": live.attempt_id, "debtor_id": debtor.debtor_id,
                                "campaign": self.name})

    # -- prompts ahead of need -------------------------------------------------------------------
    def _prepare_in_background(self, prompts: list[Prompt], what: str) -> None:
        async def prepare() -> None:
            try:
                await self.telephony.prepare_prompts(prompts)
            except Exception as exc:       # a prompt that cannot be rendered fails its call, later
                log.warning("campaign %s: could not render %s ahead: %s", self.name, what, exc)

        task = asyncio.create_task(prepare(), name=f"prepare-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _prepare_flow_prompts(self) -> None:
        """At campaign start: the flow's prompts that are the same for every debtor."""
        if self.telephony.renders_prompts and self.cfg.dial_mode is DialMode.AGENTLESS:
            self._prepare_in_background(fixed_prompts(ivr_flow(self.cfg)), "fixed prompts")

    def _prepare_greeting(self, live: _LiveCall) -> None:
        """When a debtor is claimed: their personal greeting, rendered while the phone rings."""
        if self.telephony.renders_prompts and self.cfg.dial_mode is DialMode.AGENTLESS:
            prompts = opening_prompts(self._flow_run(live, ivr_flow(self.cfg), machine=False))
            if prompts:
                self._prepare_in_background(prompts, f"greeting of {live.attempt_id}")

    def _event_sender(self) -> EventSender | None:
        if self.events is None and self.cfg.webhooks is not None:
            secret = os.environ.get(self.cfg.webhooks.secret_env, "")
            if not secret:
                log.error("campaign %s: webhooks.secret_env %s is not set; webhook events are not sent",
                          self.name, self.cfg.webhooks.secret_env)
                return None
            self.events = WebhookSender(self.cfg.webhooks.url, secret, clock=self.clock.now)
        return self.events

    async def _finish(self, live: _LiveCall, outcome: Outcome, fields: dict[str, Any]) -> None:
        """Record the outcome and the debtor's next step; retried while Redis is away."""
        debtor, state = live.claim.debtor, live.claim.state
        ended = fields["ended_at"]
        plan = follow_up(debtor, state, outcome, live.dialled_at, ended, live.phone, self.cfg,
                         ivr_outcome=fields.get("ivr_outcome"),
                         message_heard=fields.get("message_heard") == "1")
        hour = int(fields.get("answered_at", ended) // 3600 * 3600)
        delay, waited, attempt = 0.5, 0.0, 0
        while True:
            try:
                await self.store.finish_attempt(
                    self.name, live.attempt_id, debtor.debtor_id, outcome, fields,
                    plan.state, plan.status, plan.due, hour,
                )
                break
            except StoreUnavailable as exc:
                attempt += 1
                unrecorded = PendingOutcome(self.name, live.attempt_id, debtor.debtor_id, outcome, fields,
                                            plan.state, plan.status, plan.due, hour)
                if waited + delay > self.finish_retry_s:
                    self._keep_unrecorded(unrecorded)
                    break
                log.warning("attempt %s: cannot record outcome yet (%s); retry %d",
                            live.attempt_id, exc, attempt)
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:     # hung up while waiting (a second Ctrl-C): keep it
                    self._keep_unrecorded(unrecorded)
                    raise
                waited += delay
                delay = min(delay * 2, 10.0)
        self._calls.pop(live.attempt_id, None)
        if plan.due is not None:
            self._nothing_due_until = min(self._nothing_due_until, plan.due)
        c = self.counters
        c.finished += 1
        now_loop = asyncio.get_running_loop().time()
        self.observed.call_finished(outcome.is_live_answer, at=now_loop)
        c.outcomes[outcome.value] = c.outcomes.get(outcome.value, 0) + 1
        if outcome.is_live_answer:
            c.live += 1
            self._window.setdefault(hour, [0, 0])[0] += 1
        if log.isEnabledFor(logging.DEBUG):        # (masking every number costs a simulated day a second)
            log.debug("attempt %s to %s: %s", live.attempt_id, mask_number(live.phone), outcome.value)
        if outcome is Outcome.ABANDONED:
            c.abandoned += 1
            self._window.setdefault(hour, [0, 0])[1] += 1
            log.info("attempt %s to %s abandoned: no agent within %.1f s", live.attempt_id,
                     mask_number(live.phone), self.cfg.pacing.agent_patience_s)

    def _keep_unrecorded(self, item: PendingOutcome) -> None:
        """The store stayed away past the retry window: journal the outcome, replay it when it is back."""
        if self.journal is not None:
            try:
                self.journal.append(item)
            except OSError as exc:
                log.error("attempt %s: cannot write the outcome journal %s: %s", item.attempt_id,
                          self.journal.path, exc.strerror or exc)
            else:
                self.counters.journaled += 1
                log.error("attempt %s: outcome %s kept in %s until the store answers", item.attempt_id,
                          item.outcome.value, self.journal.path)
                if self._replaying is None:
                    self._replaying = asyncio.create_task(self._replay_in_background(), name="replay")
                return
        self.counters.lost_writes += 1
        log.error("attempt %s: outcome %s not recorded; it stays open and will be reconciled",
                  item.attempt_id, item.outcome.value)

    async def _replay_in_background(self) -> None:
        assert self.journal is not None
        try:
            while self.journal.pending:
                await asyncio.sleep(self.REPLAY_EVERY_S)
                try:
                    await self.store.heartbeat(f"campaign {self.name}")   # alive again before replaying
                    await self.journal.replay(self.store)
                except StoreUnavailable:
                    continue
        except Exception:
            log.exception("campaign %s: replaying the outcome journal failed", self.name)
        finally:
            self._replaying = None

    async def _stop_replaying(self) -> None:
        """At the end of a run: one last replay; what still waits is the caller's (or the next start's)."""
        if self._replaying is not None:
            self._replaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replaying
        if self.journal is not None and self.journal.pending:
            with contextlib.suppress(StoreUnavailable):
                await self.journal.replay(self.store)

    # -- crash recovery --------------------------------------------------------------------------
    async def _reconcile_in_background(self) -> None:
        try:
            await self.reconcile()
        except StoreUnavailable as exc:
            log.warning("campaign %s: dead-dialer search postponed: %s", self.name, exc)
        except Exception:
            log.exception("campaign %s: dead-dialer search failed", self.name)
        finally:
            self._reconciling = None

    async def reconcile(self) -> int:
        """Close attempts and release claims left behind by dialer processes that died."""
        now = self.clock.now()
        closed = 0
        my_debtors = {c.claim.debtor.debtor_id for c in self._calls.values()}
        others_open, others_claimed = await self.store.orphan_candidates(
            self.name, set(self._calls), my_debtors, now=now)
        alive: dict[str, bool] = {}

        async def is_alive(owner: str) -> bool:
            if owner not in alive:
                alive[owner] = await self.store.is_alive(owner)
            return alive[owner]

        for row in await self.store.attempts(self.name, others_open) if others_open else []:
            owner = row.get("owner", "")
            if row.get("state") != "open" or await is_alive(owner):
                continue
            found = await self.store.debtor(self.name, row["debtor_id"])
            if found is None:
                continue
            debtor, state, _ = found
            dialled = float(row.get("dialled_at") or now)
            plan = follow_up(debtor, state, Outcome.INTERRUPTED, dialled, now, row.get("phone", ""), self.cfg)
            done = await self.store.finish_attempt(
                self.name, row["attempt_id"], debtor.debtor_id, Outcome.INTERRUPTED,
                {"ended_at": now, "detail": f"dialer {owner} stopped mid-call; reconciled"},
                plan.state, plan.status, plan.due, int(now // 3600 * 3600),
            )
            if done:
                closed += 1
                log.warning("attempt %s (debtor %s) was left open by a dead dialer; marked interrupted",
                            row["attempt_id"], row["debtor_id"])
        claimed = await self.store.claimed_debtors(self.name, others_claimed) if others_claimed else []
        for debtor_id, owner, attempt_id in claimed:
            # Our own claim without a call in flight was cut short by a Redis outage mid-launch.
            if attempt_id or (owner != self.store.owner and await is_alive(owner)):
                continue
            await self.store.reschedule(self.name, debtor_id, now)
            log.warning("debtor %s was claimed by a dead dialer before dialling; back in the hopper",
                        debtor_id)
        return closed

    async def _drain(self, timeout_s: float = 600.0) -> None:
        """Let calls in flight finish (hanging up those that outlive ``timeout_s``)."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=30)


def ivr_flow(cfg: CampaignConfig) -> Flow:
    """The campaign's flow with its ``ivr_params`` applied (checked when the campaign was read)."""
    return _flow(cfg.ivr_flow, tuple(sorted(cfg.ivr_params.items())))


@functools.lru_cache(maxsize=64)
def _flow(name: str, params: tuple[tuple[str, Any], ...]) -> Flow:
    return resolve_flow(name).with_params(dict(params))

