"""Engine scale benchmark: the real pacing engine, in real time, on a real Redis.

    .venv/bin/python tools/bench_engine.py                        # 6000 lines, 250 calls/s, 60 s
    .venv/bin/python tools/bench_engine.py --lines 2000 --cps 100 --seconds 30 --json

What runs: one process, one plain asyncio loop (no virtual time). A private
``redis-server`` is started in a temporary directory (the same embedded setup
as production: unix socket, append-only file) and stopped by its PID at the end.
A campaign is stored, enough debtors are imported through
:meth:`Store.upsert_debtors` in batches, and :class:`CampaignEngine` paces it
against :class:`SimulatedNetwork`: claims from the hopper, attempt writes,
originations, one task per call, the atomic finish script per call, heartbeats
and crash reconciliation, exactly as in production.

The load: by default an *agentless* campaign on the one-message ``thank_you``
flow (every answered call hears the message, stretched to ``--hold`` seconds;
unanswered calls ring out the 25 s ring timeout), so each call lasts about half
a minute and thousands are in flight at once. ``--flow payment_reminder`` runs
the collections flow instead: a right-party question, the reminder, a menu and
its branches, at a natural 2.5 words/s, answered by the simulated debtors; such
a call lasts as long as they take (about a minute), so fewer originations fit
in the same lines. ``--mode ratio`` dials for a pool of ``--agents`` simulated
agents instead (answered calls are held for a talk time of about ``--hold``);
``--mode predictive`` paces that pool with callpact's predictive policy, the
one a collections desk runs, whose decision per tick grows with the calls
ringing and the agents logged in.

What is measured (the steady window is from ``--warmup`` to the end):

* concurrent calls: peak, and sustained (5th percentile of the per-tick samples
  in the steady window: the level held practically all the time);
* originations per second in the steady window;
* tick latency of the pacing loop: how late a tick starts against its schedule
  (the end of the previous tick's sleep), how long its work takes (control and
  heartbeat reads, reconciliation, the policy, the hopper claim, the attempt
  writes, the originations), and the sum of both (the target's figure);
* event-loop lag (a 20 ms probe timer), garbage-collector pauses;
* CPU seconds of this process (getrusage) and of the Redis server
  (``/proc/PID/stat``) per originated call, and each one's share of a core.

The issue's targets (>= 5,000 concurrent calls, >= 200 originations/s, p99 tick
latency < 50 ms on one core) are checked in the same run. ``--check`` makes
the exit status 1 when a target is missed; otherwise it is 0 whenever the run
completed. ``--profile FILE`` runs the load under cProfile (slower; the figures
are then not comparable) and writes pstats to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import math
import os
import platform
import pstats
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from dialer.campaign import CampaignConfig, parse_campaign
from dialer.core.errors import ConfigError
from dialer.core.records import Debtor
from dialer.engine import CampaignEngine, Clock, tick_for
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_server import EmbeddedRedis, ensure_running, kill
from dialer.store.redis_store import Store
from ivr_flows.catalogue import opening_prompts
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowRun
from ivr_flows.loader import resolve_flow
from ivr_flows.model import Flow
from sip.distributions import Fixed, Uniform
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedCall, SimulatedNetwork

TARGET_CONCURRENT = 5000
TARGET_CPS = 200.0
TARGET_P99_TICK_MS = 50.0
MAX_DEBTORS = 2_000_000
IMPORT_BATCH = 2000
NATURAL_WORDS_PER_S = 2.5
CALLER_ID = "+31202101234"
HANGUP_BATCH = 40          # calls hung up per drain step: stays under the store's 64 connections
LAG_PROBE_S = 0.02
TIMED_PHASES = ("_launch", "reconcile", "_refresh_control")
PHASE_LABELS = {"_launch": "in launch (claim, checks, attempt writes)",
                "reconcile": "in reconcile (dead-dialer scan)", "_refresh_control": "in control read"}


def _phase_rank(name: str) -> int:
    return TIMED_PHASES.index(name) if name in TIMED_PHASES else len(TIMED_PHASES)


# --------------------------------------------------------------------------- recording


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def cpu_of(pid: int | None) -> float | None:
    """User + system CPU seconds of a process, from /proc (Linux); None when unreadable."""
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat[stat.rindex(")") + 2:].split()    # after "pid (comm) "; field 3 is fields_[0]
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Mark:
    """Counters at one instant (start of load, start of the steady window, end)."""

    t: float
    cpu: float
    redis_cpu: float | None
    attempts: int
    finished: int
    gc_s: float
    involuntary_switches: int       # the kernel preempted us: a shared, busy machine


@dataclass
class Recorder:
    """Everything the benchmark stamps while the engine runs."""

    tick_s: float
    started: float = 0.0
    warm_at: float = 0.0
    end_at: float = 0.0
    redis_pid: int | None = None
    # per tick: (t, latency, lateness or NaN, work or NaN, this thread's CPU during the work or NaN,
    #            calls in flight, lines in use, calls launched)
    ticks: list[tuple[float, float, float, float, float, int, int, int]] = field(default_factory=list)
    lag: list[tuple[float, float]] = field(default_factory=list)
    gc_pauses: list[tuple[float, float, float, int]] = field(default_factory=list)  # (t, wall, cpu, gen)
    durations: list[tuple[float, float]] = field(default_factory=list)       # (ended t, seconds)
    marks: dict[str, Mark] = field(default_factory=dict)
    warnings: list[float] = field(default_factory=list)     # when the engine logged a warning
    gc_mode: str = "default"
    phases: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # (t, wall, cpu)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    exited_at: float | None = None
    split_ticks: bool = False
    _wake: float | None = None
    _wake_cpu: float = 0.0
    _scheduled: float | None = None
    _last_done: float | None = None
    _last_attempts: int = 0
    _gc_started: float | None = None
    _gc_started_cpu: float = 0.0
    gc_total_s: float = 0.0

    # -- the pacing loop ------------------------------------------------------------------
    def woke(self, now: float, scheduled: float) -> None:
        self._wake, self._scheduled, self._wake_cpu = now, scheduled, time.thread_time()

    def tick_done(self, engine: CampaignEngine, network: SimulatedNetwork) -> None:
        now = time.perf_counter()
        attempts = engine.counters.attempts
        launched = attempts - self._last_attempts
        self._last_attempts = attempts
        lateness = work = work_cpu = math.nan
        if self._scheduled is not None and self._wake is not None:
            lateness = max(0.0, self._wake - self._scheduled)
            work = now - self._wake
            work_cpu = time.thread_time() - self._wake_cpu
            latency = now - self._scheduled
        elif self._last_done is not None:        # no sleep hook: period overrun = lateness + work
            latency = max(0.0, now - self._last_done - self.tick_s)
        else:
            latency = math.nan
        self._last_done = now
        self._wake = self._scheduled = None
        if self.warm_at and now >= self.warm_at and "warm" not in self.marks:
            self.mark("warm", engine)
        if not math.isnan(latency):
            self.ticks.append((now, latency, lateness, work, work_cpu, engine.calls_in_flight,
                               network.lines_in_use, launched))

    def loop_exited(self, engine: CampaignEngine) -> None:
        self.exited_at = time.perf_counter()
        if "end" not in self.marks:
            self.mark("end", engine)
        self.exited.set()

    def mark(self, name: str, engine: CampaignEngine) -> None:
        self.marks[name] = Mark(time.perf_counter(), cpu_self(), cpu_of(self.redis_pid),
                                engine.counters.attempts, engine.counters.finished, self.gc_total_s,
                                resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw)

    # -- garbage collector ----------------------------------------------------------------
    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started, self._gc_started_cpu = time.perf_counter(), time.thread_time()
        elif self._gc_started is not None:
            now = time.perf_counter()
            took = now - self._gc_started
            self.gc_total_s += took
            self.gc_pauses.append((now, took, time.thread_time() - self._gc_started_cpu,
                                   info.get("generation", -1)))
            self._gc_started = None


class _CountWarnings(logging.Handler):
    def __init__(self, rec: Recorder) -> None:
        super().__init__(logging.WARNING)
        self.rec = rec

    def emit(self, record: logging.LogRecord) -> None:
        self.rec.warnings.append(time.perf_counter())


class BenchNetwork(SimulatedNetwork):
    """The simulated network, also noting how long each call lasted."""

    recorder: Recorder | None = None

    def _call_ended(self, call: SimulatedCall) -> None:
        super()._call_ended(call)
        if self.recorder is not None and call.ended_at is not None:
            self.recorder.durations.append((time.perf_counter(), call.ended_at - call.placed_at))


def timed_engine_class(rec: Recorder) -> type[CampaignEngine]:
    """The engine with stamps around its per-tick sleep (to split the tick latency into start
    lateness and work), around the parts of a tick, and where its pacing loop ends. Each hook
    is only added where the engine still has that method, so a refactored engine still runs."""

    class TimedEngine(CampaignEngine):
        pass

    async def idle_sleep(self: CampaignEngine, *args: Any, **kwargs: Any) -> None:
        went = time.perf_counter()
        await super(TimedEngine, self)._idle_sleep(*args, **kwargs)  # type: ignore[misc]
        rec.woke(time.perf_counter(), went + self.tick_s)

    async def drain(self: CampaignEngine, *args: Any, **kwargs: Any) -> None:
        rec.loop_exited(self)               # the pacing loop is over: at the deadline, or it failed
        await super(TimedEngine, self)._drain(*args, **kwargs)  # type: ignore[misc]

    if callable(getattr(CampaignEngine, "_idle_sleep", None)):
        TimedEngine._idle_sleep = idle_sleep  # type: ignore[attr-defined,method-assign]
        rec.split_ticks = True
    if callable(getattr(CampaignEngine, "_drain", None)):
        TimedEngine._drain = drain  # type: ignore[attr-defined,method-assign]
    for name in TIMED_PHASES:                # where a tick's time goes (wall includes awaits)
        if callable(getattr(CampaignEngine, name, None)):
            setattr(TimedEngine, name, _timed_phase(TimedEngine, name, rec))
    return TimedEngine


def _timed_phase(cls: type[CampaignEngine], name: str, rec: Recorder) -> Any:
    async def phase(self: CampaignEngine, *args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return await getattr(super(cls, self), name)(*args, **kwargs)
        finally:
            rec.phases.setdefault(name, []).append(
                (wall, time.perf_counter() - wall, time.thread_time() - cpu))
    return phase


# --------------------------------------------------------------------------- setup


def bench_debtor(i: int, due_day: dt.date) -> Debtor:
    return Debtor(f"B{i:07d}", f"Debtor {i}", (f"+316{i:08d}",), Decimal("125.00"), due_date=due_day)


def message_words(flow: Flow) -> int | None:
    """Words an answered call hears in a flow that only speaks, as the interpreter renders them
    for a benchmark debtor (what the simulated network times); None for a flow that stops to
    ask something (its length is the debtors')."""
    today = dt.date.today()
    run = FlowRun(flow, CallFacts(debtor=bench_debtor(0, today - dt.timedelta(days=3)), language="nl",
                                  today=today, callback_number=CALLER_ID))
    prompts = opening_prompts(run)
    if run.finished is None:
        return None
    return max(1, sum(len(p.text.split()) for p in prompts))


def prompt_rate(args: argparse.Namespace) -> float:
    """Words per second of the simulated prompts: an agentless message-only flow is stretched to
    --hold seconds, a flow with questions is said at a natural rate, and an agent campaign's
    prompts (the abandon message, a machine's voicemail) take a few seconds."""
    if args.mode != "agentless":
        return 5.0
    return args.message_words / args.hold if args.message_words else NATURAL_WORDS_PER_S


def campaign_text(args: argparse.Namespace) -> str:
    return always_open_campaign(
        "bench", dial_mode=args.mode, caller_id=CALLER_ID, ivr_flow=args.flow,
        ratio=args.ratio if args.mode == "ratio" else None, max_lines=args.lines,
        calls_per_second=args.cps, ring_timeout="25s",
        attempts={"max_per_day": 20, "max_per_week": 50, "max_total": 50, "min_gap": "1h"},
        retry={"no_answer": "4h", "busy": "4h", "machine": "4h", "failed": "4h", "abandoned": "72h",
               "interrupted": "4h"})


def build_network(args: argparse.Namespace, rec: Recorder) -> BenchNetwork:
    profile = NetworkProfile(
        answer_prob=args.answer,
        machine_share=0.2,
        busy_prob=0.03,
        failed_prob=0.01,
        setup_s=Uniform(0.3, 1.0),
        ring_s=Uniform(args.ring_min, args.ring_max),
        amd_s=Uniform(2.0, 3.0),
        prompt_words_per_s=prompt_rate(args),
    )
    agents = SimulatedAgents(args.agents if args.mode != "agentless" else 0,
                             talk_s=Uniform(0.8 * args.hold, 1.2 * args.hold), wrap_s=Fixed(2.0),
                             seed=args.seed)
    network = BenchNetwork(profile, agents, seed=args.seed, max_lines=args.lines)
    network.recorder = rec
    return network


async def import_debtors(store: Store, cfg: CampaignConfig, n: int, now: float) -> None:
    due_day = dt.date.fromtimestamp(now) - dt.timedelta(days=3)
    for start in range(0, n, IMPORT_BATCH):
        rows = []
        for i in range(start, min(n, start + IMPORT_BATCH)):
            d = bench_debtor(i, due_day)
            due = first_due(d, cfg, now)
            rows.append((d, now if due is None else due, priority_score(d, cfg)))
        await store.upsert_debtors(cfg.name, rows)


async def lag_probe(rec: Recorder, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(LAG_PROBE_S)
        rec.lag.append((time.perf_counter(), loop.time() - before - LAG_PROBE_S))


async def hang_up_all(network: SimulatedNetwork, engine: CampaignEngine, run: asyncio.Task[None]) -> None:
    """End the calls still in flight so that the run ends within seconds rather than after the
    longest call: a batch at a time, each once the previous batch's outcomes are written, because
    more than the store's 64 connections at once are refused (see docs/benchmarks.md)."""
    while not run.done():
        active = list(network.active_calls)[:HANGUP_BATCH]
        target = engine.counters.finished + len(active)
        for call in active:
            await call.hangup()
        deadline = time.perf_counter() + 2.0
        while not run.done() and engine.counters.finished < target and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        if not active:
            await asyncio.sleep(0.1)


# --------------------------------------------------------------------------- run


async def bench(args: argparse.Namespace, server: EmbeddedRedis, rec: Recorder) -> dict[str, Any]:
    store = await Store.open(server.url)
    try:
        text = campaign_text(args)
        cfg = parse_campaign(text, "benchmark campaign")
        await store.save_campaign(cfg.name, text)
        t0 = time.perf_counter()
        await import_debtors(store, cfg, args.debtors, time.time() - 60)
        import_s = time.perf_counter() - t0
        await store.set_state(cfg.name, "running")

        network = build_network(args, rec)
        await network.start()
        engine_cls = timed_engine_class(rec)
        engine = engine_cls(store, network, cfg, clock=Clock(), tick_s=args.tick, gc_mode=args.gc,
                            reconcile_every_s=args.reconcile_every,
                            on_tick=lambda e: rec.tick_done(e, network))
        stop_probe = asyncio.Event()
        probe = asyncio.create_task(lag_probe(rec, stop_probe))

        rec.started = time.perf_counter()
        rec.warm_at = rec.started + args.warmup
        rec.end_at = rec.started + args.seconds
        rec.mark("start", engine)
        run = asyncio.create_task(engine.run(until_epoch=time.time() + args.seconds))
        exited = asyncio.create_task(rec.exited.wait())
        await asyncio.wait({run, exited}, timeout=args.seconds, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if "end" not in rec.marks:
            rec.mark("end", engine)
        if "warm" not in rec.marks:         # a tick never came after the warm-up instant
            rec.marks["warm"] = rec.marks["start"]
        peak = max(network.peak_lines, max((t[6] for t in rec.ticks), default=0))
        in_flight_at_end = network.lines_in_use

        drain_started = time.perf_counter()
        hangup = asyncio.create_task(hang_up_all(network, engine, run))
        try:
            await asyncio.wait_for(asyncio.shield(run), timeout=args.drain_timeout)
        except TimeoutError:
            engine.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run, timeout=30)
        except Exception:
            pass                            # the engine failed: reported below
        finally:
            hangup.cancel()
            stop_probe.set()
            await asyncio.gather(hangup, probe, return_exceptions=True)
        drain_s = time.perf_counter() - drain_started

        error = None
        if run.done() and not run.cancelled() and run.exception() is not None:
            exc = run.exception()
            error = f"{exc.__class__.__name__}: {exc}"
        elif not run.done():
            error = "the engine did not finish draining in time"
        failed_after = (rec.exited_at - rec.started) if error and rec.exited_at else None
        stats = await store.stats(cfg.name)
        hopper = await store.hopper_sizes(cfg.name, time.time())
        finished_outcomes = sum(v for k, v in stats.items() if k.startswith("outcome:"))
        return {
            "import_s": import_s,
            "engine_error": error,
            "engine_failed_after_s": failed_after,
            "peak_concurrent": peak,
            "in_flight_at_end": in_flight_at_end,
            "drain_s": drain_s,
            "outcomes": dict(sorted(engine.counters.outcomes.items(), key=lambda kv: -kv[1])),
            "placed": network.placed,
            "rejected_by_network": network.rejected,
            "lost_writes": engine.counters.lost_writes,
            "store_attempts": stats.get("attempts", 0),
            "store_outcomes": finished_outcomes,
            "open_attempts_left": hopper["open_attempts"],
            "claimed_left": hopper["claimed"],
        }
    finally:
        await store.close()


def summarise(args: argparse.Namespace, rec: Recorder, run: dict[str, Any]) -> dict[str, Any]:
    start, warm, end = rec.marks["start"], rec.marks["warm"], rec.marks["end"]
    win_s = max(1e-9, end.t - warm.t)
    all_s = max(1e-9, end.t - start.t)
    in_win = [t for t in rec.ticks if warm.t <= t[0] <= end.t]
    concurrent = [float(t[6]) for t in in_win]
    lat_ms = [t[1] * 1000 for t in in_win]
    late_ms = [t[2] * 1000 for t in in_win if not math.isnan(t[2])]
    work_ms = [t[3] * 1000 for t in in_win if not math.isnan(t[3])]
    work_cpu_ms = [t[4] * 1000 for t in in_win if not math.isnan(t[4])]
    lag_ms = [x * 1000 for t, x in rec.lag if warm.t <= t <= end.t]
    gcs = [(s, c, g) for t, s, c, g in rec.gc_pauses if warm.t <= t <= end.t]
    durations = [d for t, d in rec.durations if warm.t <= t <= end.t]
    orig_win = end.attempts - warm.attempts
    cpu_win = end.cpu - warm.cpu
    redis_win = (end.redis_cpu - warm.redis_cpu
                 if end.redis_cpu is not None and warm.redis_cpu is not None else None)

    def ms(values: list[float]) -> dict[str, float]:
        return {"p50": pct(values, 50), "p99": pct(values, 99), "max": max(values, default=math.nan),
                "n": len(values)}

    result = {
        "window_s": win_s,
        "concurrent": {"peak": run["peak_concurrent"], "sustained_p5": pct(concurrent, 5),
                       "mean": sum(concurrent) / len(concurrent) if concurrent else math.nan,
                       "min": min(concurrent, default=math.nan)},
        "originations_per_s": orig_win / win_s,
        "originations_per_s_whole_run": end.attempts / all_s,
        "originations": end.attempts,
        "mean_call_s": sum(durations) / len(durations) if durations else math.nan,
        "tick_latency_ms": ms(lat_ms),
        "tick_start_lateness_ms": ms(late_ms),
        "tick_work_ms": ms(work_ms),
        "tick_work_cpu_ms": ms(work_cpu_ms),
        "calls_launched_per_tick": (sum(t[7] for t in in_win) / len(in_win)) if in_win else math.nan,
        "loop_lag_ms": ms(lag_ms),
        "gc": {"collections": len(gcs), "total_s": sum(s for s, _, _ in gcs),
               "max_pause_ms": max((s * 1000 for s, _, _ in gcs), default=0.0),
               "max_pause_cpu_ms": max((c * 1000 for _, c, _ in gcs), default=0.0),
               "gen2": sum(1 for _, _, g in gcs if g == 2)},
        "involuntary_context_switches": end.involuntary_switches - warm.involuntary_switches,
        "cpu": {
            "process_s": cpu_win,
            "process_core_share": cpu_win / win_s,
            "process_ms_per_call": 1000 * cpu_win / orig_win if orig_win else math.nan,
            "process_ms_per_call_whole_run": 1000 * (end.cpu - start.cpu) / end.attempts
            if end.attempts else math.nan,
            "redis_s": redis_win,
            "redis_core_share": redis_win / win_s if redis_win is not None else None,
            "redis_ms_per_call": 1000 * redis_win / orig_win if redis_win is not None and orig_win else None,
        },
        "store_warnings": len(rec.warnings),
        "store_warnings_in_window": sum(1 for t in rec.warnings if warm.t <= t <= end.t),
        "tick_phases_ms": {
            name: {"n": len(rows), "wall": ms([w * 1000 for _, w, _ in rows]),
                   "cpu": ms([c * 1000 for _, _, c in rows])}
            for name, rows in ((n, [x for x in v if warm.t <= x[0] <= end.t]) for n, v in rec.phases.items())
        },
        **run,
    }
    result["integrity_ok"] = (run["lost_writes"] == 0 and run["store_attempts"] == run["store_outcomes"]
                              and run["open_attempts_left"] == 0 and run["claimed_left"] == 0)
    targets = {
        "concurrent_calls": {"target": f">= {TARGET_CONCURRENT}",
                             "value": result["concurrent"]["sustained_p5"],
                             "met": result["concurrent"]["sustained_p5"] >= TARGET_CONCURRENT},
        "originations_per_s": {"target": f">= {TARGET_CPS:g}", "value": result["originations_per_s"],
                               "met": result["originations_per_s"] >= TARGET_CPS},
        "p99_tick_latency_ms": {"target": f"< {TARGET_P99_TICK_MS:g}",
                                "value": result["tick_latency_ms"]["p99"],
                                "met": result["tick_latency_ms"]["p99"] < TARGET_P99_TICK_MS},
    }
    return {
        "config": {
            "mode": args.mode, "lines": args.lines, "cps": args.cps, "seconds": args.seconds,
            "warmup_s": args.warmup, "tick_s": args.tick, "hold_s": args.hold, "answer_prob": args.answer,
            "agents": args.agents if args.mode != "agentless" else 0,
            "ratio": args.ratio if args.mode == "ratio" else None,
            "flow": args.flow,
            "debtors": args.debtors, "tick_split": rec.split_ticks, "gc": args.gc,
            "reconcile_every_s": args.reconcile_every,
            "python": platform.python_version(), "cpus": os.cpu_count(), "redis_pid": rec.redis_pid,
        },
        "results": result,
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()) and not result["engine_error"],
    }


def _no_nan(value: Any) -> Any:
    """NaN (a figure with no samples) as JSON null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def _f(value: Any, fmt: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def print_table(s: dict[str, Any]) -> None:
    c, r, t = s["config"], s["results"], s["targets"]
    mode = c["mode"] + (f" ({c['agents']} agents, ratio {c['ratio']:g})" if c["mode"] == "ratio" else
                        f" ({c['agents']} agents)" if c["mode"] == "predictive" else f" (flow {c['flow']})")
    print(f"callpact engine benchmark: {mode}, max_lines {c['lines']}, {c['cps']:g} calls/s cap, "
          f"{c['seconds']:g} s real time, steady window after {c['warmup_s']:g} s, tick {c['tick_s']:g} s")
    print(f"python {c['python']}, {c['cpus']} CPUs; {c['debtors']} debtors imported in "
          f"{r['import_s']:.1f} s; mean call {_f(r['mean_call_s'])} s")
    rows: list[tuple[str, str]] = []
    conc = r["concurrent"]
    lat, late = r["tick_latency_ms"], r["tick_start_lateness_ms"]
    work, lag, wcpu = r["tick_work_ms"], r["loop_lag_ms"], r["tick_work_cpu_ms"]
    cpu = r["cpu"]
    rows += [
        ("concurrent calls: peak", f"{conc['peak']}"),
        ("concurrent calls: sustained (p5) / mean", f"{_f(conc['sustained_p5'], '.0f')} / "
                                                    f"{_f(conc['mean'], '.0f')}"),
        ("originations/s: steady window / whole run", f"{r['originations_per_s']:.1f} / "
                                                      f"{r['originations_per_s_whole_run']:.1f}"),
        ("calls launched per tick (mean)", _f(r["calls_launched_per_tick"])),
        ("tick latency ms: p50 / p99 / max", f"{_f(lat['p50'])} / {_f(lat['p99'])} / {_f(lat['max'])}"),
        ("  tick start lateness ms: p50 / p99 / max",
         f"{_f(late['p50'])} / {_f(late['p99'])} / {_f(late['max'])}"),
        ("  tick work ms: p50 / p99 / max", f"{_f(work['p50'])} / {_f(work['p99'])} / {_f(work['max'])}"),
        ("    of it CPU of this process ms: p50 / p99 / max",
         f"{_f(wcpu['p50'])} / {_f(wcpu['p99'])} / {_f(wcpu['max'])}"),
        *[(f"    {PHASE_LABELS.get(name, name)} ms",
           f"n {ph['n']}; wall {_f(ph['wall']['p50'])} / {_f(ph['wall']['p99'])} / {_f(ph['wall']['max'])}; "
           f"CPU {_f(ph['cpu']['p50'])} / {_f(ph['cpu']['p99'])} / {_f(ph['cpu']['max'])}")
          for name, ph in sorted(r["tick_phases_ms"].items(), key=lambda kv: _phase_rank(kv[0]))],
        ("event-loop lag ms: p50 / p99 / max", f"{_f(lag['p50'])} / {_f(lag['p99'])} / {_f(lag['max'])}"),
        ("GC: collections (gen2) / total s / max pause ms (CPU)",
         f"{r['gc']['collections']} ({r['gc']['gen2']}) / {r['gc']['total_s']:.2f} / "
         f"{r['gc']['max_pause_ms']:.1f} ({r['gc']['max_pause_cpu_ms']:.1f})"),
        ("involuntary context switches (a busy machine)", f"{r['involuntary_context_switches']}"),
        ("process CPU: share of a core / ms per call",
         f"{cpu['process_core_share']:.0%} / {_f(cpu['process_ms_per_call'], '.2f')}"),
        ("redis-server CPU: share of a core / ms per call",
         f"{_f(cpu['redis_core_share'] and cpu['redis_core_share'] * 100, '.0f')}% / "
         f"{_f(cpu['redis_ms_per_call'], '.2f')}"),
        ("originations / in flight at end / drain s",
         f"{r['originations']} / {r['in_flight_at_end']} / {r['drain_s']:.1f}"),
        ("store warnings: steady window / whole run / lost writes",
         f"{r['store_warnings_in_window']} / {r['store_warnings']} / {r['lost_writes']}"),
        ("store consistent after drain", "yes" if r["integrity_ok"] else
         f"NO (attempts {r['store_attempts']}, outcomes {r['store_outcomes']}, "
         f"open {r['open_attempts_left']}, claimed {r['claimed_left']})"),
        ("engine", "ran to the end" if not r["engine_error"] else
         f"FAILED after {_f(r['engine_failed_after_s'])} s: {r['engine_error']}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print()
    print(f"  {'target':<34}{'wanted':>10}{'measured':>12}  met")
    for name, row in t.items():
        print(f"  {name:<34}{row['target']:>10}{_f(row['value']):>12}  {'yes' if row['met'] else 'NO'}")
    print("\n  outcomes: " + ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Drive the real pacing engine against the simulated network in "
                                            "real time on a private Redis; report scale and tick latency.")
    p.add_argument("--lines", type=int, default=6000, help="campaign max_lines (default 6000; at most 10000)")
    p.add_argument("--cps", type=float, default=250.0, help="campaign calls_per_second (default 250)")
    p.add_argument("--seconds", type=float, default=60.0, help="real seconds of dialling (default 60)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before the steady window starts (default: half the run, at most 35)")
    p.add_argument("--mode", choices=("agentless", "ratio", "predictive"), default="agentless",
                   help="agentless (default: every answer hears a prompt), ratio or predictive (simulated "
                        "agents, paced by a fixed ratio or by callpact's predictive policy)")
    p.add_argument("--flow", default="thank_you",
                   help="the campaign's IVR flow, a shipped name or a .yaml path (default thank_you, one "
                        "message stretched to --hold in agentless mode; payment_reminder asks questions); "
                        "agent modes play only its voicemail branch, to machines")
    p.add_argument("--agents", type=int, default=1500,
                   help="ratio and predictive modes: simulated agents (default 1500)")
    p.add_argument("--ratio", type=float, default=3.0, help="ratio mode: lines per idle agent (default 3)")
    p.add_argument("--hold", type=float, default=25.0,
                   help="seconds an answered call is held: prompt (agentless) or talk; default 25")
    p.add_argument("--answer", type=float, default=0.5, help="answer probability (default 0.5)")
    p.add_argument("--ring-min", type=float, default=5.0, help="ring time of answered calls, from (s)")
    p.add_argument("--ring-max", type=float, default=10.0, help="ring time of answered calls, to (s)")
    p.add_argument("--tick", type=float, default=None,
                   help="engine tick_s (default: the engine's, 0.5 s or shorter for high calls/s)")
    p.add_argument("--debtors", type=int, default=None,
                   help="debtors to import (default: enough for the run, cps x seconds + 10%%)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--drain-timeout", type=float, default=120.0,
                   help="seconds allowed to end the calls in flight after the run (default 120)")
    p.add_argument("--reconcile-every", type=float, default=None,
                   help="engine reconcile_every_s (default: the engine's, half the heartbeat TTL)")
    p.add_argument("--gc", choices=("default", "young"), default="young",
                   help="the engine's gc_mode: young (what `callpact dialer` runs: setup frozen, young "
                        "generations collected between ticks, a full collection every 10 min) or "
                        "default (Python's automatic collection)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--profile", type=Path, default=None,
                   help="run under cProfile and write pstats here (figures then include its overhead)")
    args = p.parse_args(argv)
    if not 1 <= args.lines <= 10000:
        p.error("--lines must be 1..10000 (the campaign's max_lines range)")
    if not 0 < args.cps <= 1000:
        p.error("--cps must be in (0, 1000]")
    if not 1 <= args.seconds <= 3600:
        p.error("--seconds must be 1..3600")
    if args.tick is not None and not 0 < args.tick <= 5:
        p.error("--tick must be in (0, 5]")
    if not 0 <= args.answer <= 1:
        p.error("--answer must be between 0 and 1")
    if args.hold <= 0 or args.ring_min < 0 or args.ring_max < args.ring_min or args.ring_max > 24:
        p.error("--hold must be > 0 and 0 <= --ring-min <= --ring-max <= 24 (inside the 25 s ring timeout)")
    if args.mode != "agentless" and args.agents < 1:
        p.error("--agents must be at least 1")
    try:
        args.message_words = message_words(resolve_flow(args.flow))
    except (ConfigError, OSError) as exc:
        p.error(f"--flow {args.flow}: {exc}")
    if args.warmup is None:
        args.warmup = min(35.0, args.seconds / 2)
    if not 0 <= args.warmup < args.seconds:
        p.error("--warmup must be at least 0 and less than --seconds")
    if args.debtors is None:
        args.debtors = int(args.cps * args.seconds * 1.1) + args.lines
    args.debtors = max(1, min(args.debtors, MAX_DEBTORS))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tick is None:
        args.tick = tick_for(parse_campaign(campaign_text(args), "benchmark campaign"))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rec = Recorder(tick_s=args.tick, gc_mode=args.gc)
    counter = _CountWarnings(rec)
    logging.getLogger("callpact").addHandler(counter)
    data_dir = Path(tempfile.mkdtemp(prefix="callpact-bench-"))
    server: EmbeddedRedis | None = None
    profiler = cProfile.Profile() if args.profile else None
    gc.callbacks.append(rec.gc_callback)
    try:
        server = ensure_running(data_dir)
        rec.redis_pid = server.pid
        if profiler is not None:
            profiler.enable()
        run = asyncio.run(bench(args, server, rec))
        if profiler is not None:
            profiler.disable()
    finally:
        gc.callbacks.remove(rec.gc_callback)
        gc.enable()
        gc.unfreeze()
        logging.getLogger("callpact").removeHandler(counter)
        if server is not None and server.started_here:
            kill(server)                      # by the PID we started, only
        shutil.rmtree(data_dir, ignore_errors=True)
    summary = summarise(args, rec, run)
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    if args.json:
        print(json.dumps(_no_nan(summary), indent=2, default=str))
    else:
        print_table(summary)
    if summary["results"]["engine_error"]:
        return 1                            # the engine itself failed under this load
    return 1 if args.check and not summary["all_targets_met"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
