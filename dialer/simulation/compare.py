"""``callpact simulate SCENARIO.yaml``: pacing policies compared on one simulated day.

Every policy run is the production path with only time and the world made up:
a fresh virtual-time event loop (:func:`~dialer.core.virtual_time.run_virtual`), a
fresh :class:`~dialer.simulation.memory_store.SimulationStore` (an unlimited supply of fresh
debtors), a fresh :class:`~sip.simulated.SimulatedNetwork` and agent desk built
from the scenario, and the real :class:`~dialer.engine.CampaignEngine` with the
policy under test passed as ``policy=``. All runs use the scenario's seed, so
the k-th call of every policy meets the same fate (common random numbers) and
the differences between policies are the policies', not the dice's.

Policies (JSON keys): ``callpact`` (the predictive policy),
``progressive``, ``ratio:<r>`` for each fixed ratio tried, ``adaptive_tapered``
(:class:`dialer.pacing.baselines.AdaptiveTapered`, VICIdial's ADAPT_TAPERED) and
``best_fixed_ratio_hindsight``: of the ratios tried, the one with the highest
utilisation whose abandon rate stayed within the scenario's limit — a
benchmark that knew the day in advance. The ratios tried are found by a coarse
scan (1.0 to 4.5 in steps of 0.5, then 5 to 10 in steps of 1, then on to 40 for lists
that rarely answer, until the abandon rate is clearly over the limit) refined by four steps between the best
feasible coarse ratio and the next one (0.1 apart below 5); ``ratios=`` gives
an explicit grid instead. For a desk of :data:`~dialer.pacing.settings.HOURLY_CAP_MIN_AGENTS`
agents or more, ``best_fixed_ratio_hindsight_hourly`` is the same benchmark held to
the bar callpact holds itself to there: every clock hour within the limit too (the
day's best ratio often lets hours run well over it). Its search refines the same way
between the best ratio that held every hour and the next one tried.

Metrics per policy (see docs/simulate.md): ``utilisation`` (agent talk time /
logged-in time, over the scenario's duration), ``abandon_rate`` (abandoned /
live answers; a person AMD took for a machine counts as both, as Ofcom counts
them), ``worst_hour_abandon_rate`` (per clock hour of simulated time,
hours with fewer than :data:`MIN_HOUR_LIVE` live answers merged with the next),
``calls_placed``, ``live_answers``, ``abandoned``, ``contacts_per_agent_hour``,
``agent_wait_mean_s`` and ``agent_wait_p95_s`` (agents' idle spells before each
call they took).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.campaign import CampaignConfig
from dialer.core.errors import CallpactError
from dialer.core.virtual_time import run_virtual
from dialer.pacing.baselines import AdaptiveTapered
from dialer.pacing.policy import FixedRatio, PacingPolicy, Progressive
from dialer.pacing.predictive import PredictiveParams, PredictivePolicy
from dialer.pacing.settings import HOURLY_CAP_MIN_AGENTS
from dialer.simulation.memory_store import AttemptRecord, SimulationStore
from dialer.simulation.scenario import Scenario
from sip.simulated import AgentStats, SimulatedNetwork

__all__ = [
    "BASE_POLICIES",
    "MIN_HOUR_LIVE",
    "PolicyResult",
    "SimulationReport",
    "ratio_key",
    "run_policy",
    "simulate",
]

START_EPOCH = 1767603600.0          # Monday 5 January 2026, 09:00 UTC: hours since start are clock hours
MIN_HOUR_LIVE = 100                 # an hour with fewer live answers is merged into the next
DEFAULT_TICK_S = 1.0                # production ticks every 0.5 s; 1 s halves the cost, same results
CONTROL_EVERY_S = 60.0              # nothing changes the simulated campaign; polling is cheap anyway
SAMPLE_EVERY_S = 60.0               # time series for --plot
# Fixed ratios: a coarse scan in batches (run in parallel when jobs > 1), stopped once the abandon
# rate is clearly over the limit, then four steps between the best feasible coarse ratio and the next.
# A list that rarely answers needs a ratio past 10 (config/scenarios/robustness/very-low-answer-25:
# 10% answered, ratio 10 abandoned 1.9%); the scan goes on while the ratios keep within the limit.
COARSE_BATCHES = ((1.0, 1.5, 2.0, 2.5, 3.0), (3.5, 4.0, 4.5), (5.0, 6.0, 7.0), (8.0, 9.0, 10.0),
                  (12.0, 14.0, 16.0), (20.0, 24.0, 28.0), (32.0, 36.0, 40.0))
MAX_FIXED_RATIO = COARSE_BATCHES[-1][-1]
FINE_STEPS = 4

BASE_POLICIES = ("callpact", "progressive", "adaptive_tapered")
BEST = "best_fixed_ratio_hindsight"
BEST_HOURLY = "best_fixed_ratio_hindsight_hourly"
METRICS = ("utilisation", "abandon_rate", "worst_hour_abandon_rate", "calls_placed", "live_answers",
           "abandoned", "contacts_per_agent_hour", "agent_wait_mean_s", "agent_wait_p95_s")


def ratio_key(ratio: float) -> str:
    """``ratio:1.0``, ``ratio:2.5``; finer ratios keep their digits (``ratio:2.25``)."""
    tenths = ratio * 10
    if abs(tenths - round(tenths)) < 1e-9:
        return f"ratio:{ratio:.1f}"
    return f"ratio:{ratio:g}"


# -- one run ---------------------------------------------------------------------------------------

@dataclass
class Sample:
    """The state of a run at one instant (for plots)."""

    t_s: float                      # seconds since the start
    lines: int                      # calls in progress
    dial_level: float               # calls in progress per logged-in agent, mean since the last sample
    logged_in: int
    talking: int
    talk_s: float                   # cumulative agent talk seconds
    logged_in_s: float              # cumulative agent logged-in seconds
    live: int                       # cumulative live answers
    abandoned: int                  # cumulative abandoned


@dataclass
class PolicyResult:
    """What one policy achieved on the scenario."""

    policy: str
    utilisation: float
    abandon_rate: float
    worst_hour_abandon_rate: float
    calls_placed: int
    live_answers: int
    abandoned: int
    contacts_per_agent_hour: float
    agent_wait_mean_s: float
    agent_wait_p95_s: float
    hourly: list[dict[str, int]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list, repr=False)
    wall_s: float = 0.0             # elapsed seconds of the run
    cpu_s: float = 0.0              # CPU seconds of the run (what it costs on a machine of its own)
    ratio: float | None = None      # the fixed ratio, for ratio runs and the hindsight benchmark

    def feasible(self, limit: float, *, every_hour: bool = False) -> bool:
        """Within the limit over the day (and, ``every_hour``, in every clock hour too)."""
        return self.abandon_rate <= limit + 1e-12 and (
            not every_hour or self.worst_hour_abandon_rate <= limit + 1e-12)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {m: getattr(self, m) for m in METRICS}
        if self.ratio is not None:
            out["ratio"] = self.ratio
        out["hourly"] = self.hourly
        return out


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


def hourly_counts(records: Iterable[AttemptRecord], start_epoch: float, duration_s: float,
                  false_machines: Collection[str] = ()) -> list[dict[str, int]]:
    """Live answers and abandons per clock hour of the run, by the instant of the answer; a person
    AMD took for a machine (an attempt in ``false_machines``) is both, as Ofcom counts them."""
    hours = max(1, math.ceil(duration_s / 3600))
    live = [0] * hours
    abandoned = [0] * hours
    for r in records:
        taken_for_machine = r.attempt_id in false_machines
        if not (r.live or taken_for_machine):
            continue
        at = r.answered_at if r.answered_at is not None else (r.ended_at or r.dialled_at)
        h = min(hours - 1, max(0, int((at - start_epoch) // 3600)))
        live[h] += 1
        abandoned[h] += r.abandoned or taken_for_machine
    return [{"hour": h, "live_answers": live[h], "abandoned": abandoned[h]} for h in range(hours)]


def worst_hour_rate(hourly: Sequence[dict[str, int]], min_live: int = MIN_HOUR_LIVE) -> float:
    """The highest abandon rate of any clock hour; an hour with fewer than ``min_live`` live
    answers is merged with the following hour(s) until the block has enough, and a short
    block left at the end is merged into the block before it."""
    blocks: list[list[int]] = []
    cur = [0, 0]
    for h in hourly:
        cur[0] += h["live_answers"]
        cur[1] += h["abandoned"]
        if cur[0] >= min_live:
            blocks.append(cur)
            cur = [0, 0]
    if cur[0] or cur[1]:
        if blocks:
            blocks[-1][0] += cur[0]
            blocks[-1][1] += cur[1]
        else:
            blocks.append(cur)
    return max((ab / lv for lv, ab in blocks if lv), default=0.0)


def _make_policy(name: str, cfg: CampaignConfig, scenario: Scenario, start_loop: float) -> PacingPolicy:
    if name == "callpact":
        return callpact_policy(cfg)
    if name.startswith("callpact@"):        # θ pinned (tools/pacing_frontier.py; not a --policy)
        theta = float(name.removeprefix("callpact@"))
        return PredictivePolicy(PredictiveParams(pinned_theta=theta).with_campaign(cfg.pacing), name=name)
    if name == "progressive":
        return Progressive()
    if name == "adaptive_tapered":
        return AdaptiveTapered(max_level=cfg.pacing.max_dial_level, drop_limit=cfg.pacing.pacing_abandon_rate,
                               day_end=start_loop + scenario.duration_s, available_only=True)
    if name.startswith("ratio:"):
        return FixedRatio(ratio=float(name.removeprefix("ratio:")), name=name)
    raise CallpactError(f"unknown policy {name!r}")


def callpact_policy(cfg: CampaignConfig) -> PacingPolicy:
    """callpact's predictive policy, as a campaign with ``dial_mode: predictive`` gets it."""
    return PredictivePolicy.for_campaign(cfg.pacing)


def run_policy(scenario: Scenario, policy: str, *, tick_s: float = DEFAULT_TICK_S,
               sample_every_s: float = SAMPLE_EVERY_S) -> PolicyResult:
    """Run the scenario's day once with one policy (a name as in the JSON keys)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_virtual(_run(scenario, policy, tick_s=tick_s, sample_every_s=sample_every_s))
    result.wall_s = time.perf_counter() - wall
    result.cpu_s = time.process_time() - cpu
    return result


async def _run(scenario: Scenario, policy_name: str, *, tick_s: float, sample_every_s: float) -> PolicyResult:
    from dialer.engine import CampaignEngine, Clock

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    cfg = scenario.campaign()
    store = SimulationStore(cfg.name, scenario.campaign_text())
    desk = scenario.agent_desk()
    network = SimulatedNetwork(scenario.network_profile(), desk, seed=scenario.seed, max_lines=scenario.lines)
    await network.start()
    handles = scenario.schedule_agents(desk, t0)
    end_stats: list[AgentStats] = []
    handles.append(loop.call_at(t0 + scenario.duration_s, lambda: end_stats.append(desk.stats())))

    samples: list[Sample] = []
    next_sample = [t0]
    acc = [t0, 0.0, 0.0]                # last tick, integral of calls in progress, logged-in s at last sample

    def on_tick(engine: CampaignEngine) -> None:
        now = min(loop.time(), t0 + scenario.duration_s)
        acc[1] += engine.calls_in_flight * (now - acc[0])
        acc[0] = now
        if now < next_sample[0] or now >= t0 + scenario.duration_s:
            return
        next_sample[0] = now + sample_every_s
        snap = desk.snapshot()
        st = desk.stats()
        c = engine.counters
        agent_s = st.logged_in_s - acc[2]
        mean_level = acc[1] / agent_s if agent_s > 0 else 0.0
        acc[1], acc[2] = 0.0, st.logged_in_s
        samples.append(Sample(now - t0, engine.calls_in_flight, mean_level, snap.logged_in, snap.talking,
                              st.talk_s, st.logged_in_s, c.live, c.abandoned))

    policy = _make_policy(policy_name, cfg, scenario, t0)
    engine = CampaignEngine(store, network, cfg, clock=Clock(START_EPOCH), tick_s=tick_s,
                            control_every_s=CONTROL_EVERY_S, on_tick=on_tick, policy=policy)
    try:
        await engine.run(until_epoch=START_EPOCH + scenario.duration_s)
    finally:
        for h in handles:
            h.cancel()
        await network.close()
    stats = end_stats[0] if end_stats else desk.stats()
    records = store.records
    # A person AMD took for a machine heard no agent: the law counts a live answer and an abandon
    # (hourly_counts does); the day's totals are the hours' sums.
    hourly = hourly_counts(records, START_EPOCH, scenario.duration_s, network.false_machines)
    live = sum(h["live_answers"] for h in hourly)
    abandoned = sum(h["abandoned"] for h in hourly)
    contacts = sum(1 for r in records if r.connected_at is not None)
    hours_logged = stats.logged_in_s / 3600
    spells = stats.idle_spells
    return PolicyResult(
        policy=policy_name,
        utilisation=stats.utilisation,
        abandon_rate=abandoned / live if live else 0.0,
        worst_hour_abandon_rate=worst_hour_rate(hourly),
        calls_placed=len(records),
        live_answers=live,
        abandoned=abandoned,
        contacts_per_agent_hour=contacts / hours_logged if hours_logged else 0.0,
        agent_wait_mean_s=sum(spells) / len(spells) if spells else 0.0,
        agent_wait_p95_s=_percentile(spells, 0.95),
        hourly=hourly,
        samples=samples,
        ratio=float(policy_name.removeprefix("ratio:")) if policy_name.startswith("ratio:") else None,
    )


# -- a whole comparison ----------------------------------------------------------------------------

@dataclass
class SimulationReport:
    scenario: Scenario
    results: dict[str, PolicyResult]          # in the order of the JSON output
    tick_s: float

    def to_json(self) -> dict[str, Any]:
        return {name: r.to_json() for name, r in self.results.items()}


def parse_ratios(text: str) -> list[float]:
    """``"1.5,2,2.5"`` or ``"1.0:4.0:0.1"`` (start:stop:step, both ends included)."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            start, stop, step = parts
            count = math.floor((stop - start) / step + 1e-9) + 1
            ratios = [round(start + i * step, 6) for i in range(count)]
        else:
            ratios = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise CallpactError(f"--ratios {text!r}: give ratios like 1.5,2,2.5 or a grid like 1.0:4.0:0.1"
                            ) from None
    if not ratios or any(not 1.0 <= r <= MAX_FIXED_RATIO for r in ratios):
        raise CallpactError(f"--ratios {text!r}: ratios must lie between 1 and {MAX_FIXED_RATIO:g}")
    return sorted(set(ratios))


def _coarse_done(results: dict[float, PolicyResult], limit: float) -> bool:
    """Stop the coarse scan once the abandon rate is clearly over the limit (twice over it,
    or over it at two coarse ratios in a row): higher ratios only abandon more."""
    ordered = sorted(results.items())
    in_row = 0
    for _, res in ordered:
        if res.feasible(limit):
            in_row = 0
            continue
        in_row += 1
        if in_row >= 2 or res.abandon_rate > 2 * limit:
            return True
    return False


def _fine_ratios(results: dict[float, PolicyResult], limit: float, *,
                 every_hour: bool = False) -> list[float]:
    """Four steps (0.1 apart between coarse ratios 0.5 apart) above the best feasible ratio
    tried, short of the next ratio tried."""
    feasible = [res for res in results.values() if res.feasible(limit, every_hour=every_hour)]
    if not feasible:
        return []
    best = max(feasible, key=lambda res: (res.utilisation, -(res.ratio or 0)))
    assert best.ratio is not None
    above = [r for r in results if r > best.ratio]
    if not above:
        return []
    step = (min(above) - best.ratio) / (FINE_STEPS + 1)
    fine = [round(best.ratio + k * step, 2) for k in range(1, FINE_STEPS + 1)]
    return [f for f in fine if f not in results]


def best_in_hindsight(results: dict[str, PolicyResult], limit: float, *,
                      every_hour: bool = False) -> PolicyResult | None:
    ratios = [r for k, r in results.items() if k.startswith("ratio:")]
    feasible = [r for r in ratios if r.feasible(limit, every_hour=every_hour)]
    if not feasible:
        return None
    return max(feasible, key=lambda r: (r.utilisation, -(r.ratio or 0)))


def check_policy(policy: str, *, also: Sequence[str] = ()) -> float | None:
    """A policy name ``run_policy`` takes (``callpact``, ``progressive``, ``adaptive_tapered``,
    ``ratio:<r>`` with r from 1 to :data:`MAX_FIXED_RATIO`) or one of ``also``; the ratio for a
    ratio name. One clear error otherwise."""
    valid = (*BASE_POLICIES, *also)
    if policy in valid:
        return None
    if not policy.startswith("ratio:"):
        raise CallpactError(f"--policy {policy!r} is not a policy; choose one of: {', '.join(valid)}, "
                            f"or ratio:<r> (e.g. ratio:2.0)")
    try:
        r = float(policy.removeprefix("ratio:"))
    except ValueError:
        raise CallpactError(f"--policy {policy!r}: write a fixed ratio as ratio:2.0") from None
    if not 1.0 <= r <= MAX_FIXED_RATIO:
        raise CallpactError(f"--policy {policy!r}: a ratio must lie between 1 and {MAX_FIXED_RATIO:g}")
    return r


def process_pool(jobs: int) -> Any:
    """Worker processes for independent runs (forked where the platform can: no re-import)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)


def _worker(args: tuple[Scenario, str, float]) -> PolicyResult:
    scenario, name, tick_s = args
    return run_policy(scenario, name, tick_s=tick_s)


class _Runner:
    """Runs batches of policies, in worker processes when ``jobs`` > 1 (results do not depend on it)."""

    def __init__(self, scenario: Scenario, tick_s: float, jobs: int,
                 progress: Callable[[str, PolicyResult], None] | None) -> None:
        self.scenario = scenario
        self.tick_s = tick_s
        self.jobs = max(1, jobs)
        self.progress = progress
        self.results: dict[str, PolicyResult] = {}
        self._pool: Any = None

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def run(self, names: Sequence[str]) -> None:
        todo = [n for n in dict.fromkeys(names) if n not in self.results]
        if not todo:
            return
        if self.jobs == 1 or len(todo) == 1:
            for name in todo:
                self._done(name, run_policy(self.scenario, name, tick_s=self.tick_s))
            return
        if self._pool is None:
            self._pool = process_pool(self.jobs)
        futures = {name: self._pool.submit(_worker, (self.scenario, name, self.tick_s)) for name in todo}
        for name in todo:                      # in submission order: output order does not vary
            self._done(name, futures[name].result())

    def _done(self, name: str, result: PolicyResult) -> None:
        self.results[name] = result
        if self.progress is not None:
            self.progress(name, result)


def simulate(scenario: Scenario, *, policy: str | None = None, ratios: Sequence[float] | None = None,
             tick_s: float = DEFAULT_TICK_S, jobs: int = 1,
             progress: Callable[[str, PolicyResult], None] | None = None) -> SimulationReport:
    """Run the comparison (or the one ``policy``) and return every result by JSON key.

    ``jobs`` > 1 runs independent policy runs in that many worker processes; every
    run is seeded the same way, so the results do not depend on it.
    """
    if tick_s <= 0:
        raise CallpactError(f"the tick must be more than 0 s, not {tick_s:g}")
    r = None if policy is None else check_policy(policy, also=(BEST, BEST_HOURLY))
    limit = scenario.abandon_limit
    with _Runner(scenario, tick_s, jobs, progress) as runner:
        if r is not None:
            runner.run([ratio_key(r)])
            return SimulationReport(scenario, runner.results, tick_s)

        base = [n for n in BASE_POLICIES if policy is None or policy == n]
        if policy is not None and policy not in (BEST, BEST_HOURLY):
            runner.run(base)
            return SimulationReport(scenario, runner.results, tick_s)

        by_ratio: dict[float, PolicyResult] = {}

        def run_ratios(rs: Sequence[float], also: Sequence[str] = ()) -> None:
            runner.run([*also, *(ratio_key(r) for r in rs)])
            for r in rs:
                by_ratio[r] = runner.results[ratio_key(r)]

        if ratios:
            run_ratios(ratios, base)
        else:
            for i, batch in enumerate(COARSE_BATCHES):
                before = max((res.utilisation for res in by_ratio.values()), default=0.0)
                run_ratios(batch, base if i == 0 else ())
                if _coarse_done(by_ratio, limit):
                    break
                # Past 10 the lines or the calls per second may bind first: stop once a batch
                # adds no agent time.
                if batch[0] > 10.0 and max(by_ratio[r].utilisation for r in batch) <= before + 1e-3:
                    break
            run_ratios(_fine_ratios(by_ratio, limit))
        # The benchmark comes from its own search; the hour-held one may search on.
        best = best_in_hindsight(runner.results, limit)
        hours_held = scenario.max_agents >= HOURLY_CAP_MIN_AGENTS
        if hours_held and not ratios and not (best and best.feasible(limit, every_hour=True)):
            run_ratios(_fine_ratios(by_ratio, limit, every_hour=True))
        results = runner.results
        ordered = {k: v for k, v in results.items() if not k.startswith("ratio:")}
        if best is not None:
            ordered[BEST] = PolicyResult(**{**best.__dict__, "policy": BEST})
        held = best_in_hindsight(results, limit, every_hour=True) if hours_held else None
        if held is not None:
            ordered[BEST_HOURLY] = PolicyResult(**{**held.__dict__, "policy": BEST_HOURLY})
        ordered.update(sorted(((k, v) for k, v in results.items() if k.startswith("ratio:")),
                              key=lambda kv: kv[1].ratio or 0))
        return SimulationReport(scenario, ordered, tick_s)


# -- output -------------------------------------------------------------------------------------------

def render_table(report: SimulationReport) -> Any:
    """A rich Table of every policy's metrics."""
    from rich.table import Table

    sc = report.scenario
    t = Table(title=f"callpact simulate - {sc.describe()}", title_justify="left")
    for col, justify in (("policy", "left"), ("utilisation", "right"), ("abandon", "right"),
                         ("worst hour", "right"), ("calls", "right"), ("live", "right"),
                         ("abandoned", "right"), ("contacts/agent-h", "right"), ("agent wait", "right"),
                         ("wait p95", "right"), ("cpu", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    limit = sc.abandon_limit
    for name, r in report.results.items():
        label = name
        if name in (BEST, BEST_HOURLY) and r.ratio is not None:
            label = f"{name} ({ratio_key(r.ratio)})"
        over = "" if r.feasible(limit) else " !"
        t.add_row(label, f"{r.utilisation:.1%}", f"{r.abandon_rate:.2%}{over}",
                  f"{r.worst_hour_abandon_rate:.2%}", str(r.calls_placed), str(r.live_answers),
                  str(r.abandoned), f"{r.contacts_per_agent_hour:.1f}", f"{r.agent_wait_mean_s:.1f} s",
                  f"{r.agent_wait_p95_s:.1f} s", f"{r.cpu_s:.1f} s")
    return t


def summary_lines(report: SimulationReport) -> list[str]:
    res = report.results
    lines = []
    cp = res.get("callpact")
    if cp is not None:
        best = res.get(BEST)
        prog = res.get("progressive")
        if best is not None and best.utilisation > 0:
            lines.append(f"callpact utilisation {cp.utilisation:.1%} = "
                         f"{cp.utilisation / best.utilisation:.3f} x the best fixed ratio in hindsight "
                         f"({ratio_key(best.ratio or 0)}, "
                         f"{best.utilisation:.1%})")
        if prog is not None and prog.utilisation > 0:
            lines.append(f"callpact utilisation = {cp.utilisation / prog.utilisation:.2f} x progressive "
                         f"({prog.utilisation:.1%})")
        held = res.get(BEST_HOURLY)
        if held is not None and held.utilisation > 0 and held.ratio != (best.ratio if best else None):
            lines.append(f"callpact utilisation = {cp.utilisation / held.utilisation:.3f} x the best fixed "
                         f"ratio that also kept every clock hour within the limit, as callpact does with "
                         f"{HOURLY_CAP_MIN_AGENTS} agents or more ({ratio_key(held.ratio or 0)}, "
                         f"{held.utilisation:.1%})")
        lines.append(f"callpact abandon rate {cp.abandon_rate:.2%} (worst hour "
                     f"{cp.worst_hour_abandon_rate:.2%}; limit {report.scenario.abandon_limit:.1%})")
    if BEST not in res and any(k.startswith("ratio:") for k in res) and len(res) > 1:
        lines.append("no fixed ratio tried kept the abandon rate within the limit")
    lines.append("'!' marks an abandon rate over the limit. worst hour: clock hours with fewer than "
                 f"{MIN_HOUR_LIVE} live answers are merged with the next.")
    return lines


def plot(report: SimulationReport, path: Path) -> None:
    """Dial level, abandon rate and utilisation over the day, one line per policy."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CallpactError("--plot needs matplotlib: pip install 'callpact[plot]'") from None

    shown = [k for k in report.results if not k.startswith("ratio:")] or list(report.results)
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    window = 15
    for name in shown:
        r = report.results[name]
        s = r.samples
        if not s:
            continue
        label = name if name != BEST or r.ratio is None else f"{name} ({ratio_key(r.ratio)})"
        hours = [x.t_s / 3600 for x in s]
        levels = [x.dial_level for x in s]
        smooth = [sum(levels[max(0, i - 4):i + 1]) / len(levels[max(0, i - 4):i + 1])
                  for i in range(len(levels))]
        axes[0].plot(hours, smooth, label=label, linewidth=1)
        axes[1].plot(hours, [x.abandoned / x.live if x.live else 0.0 for x in s], label=label, linewidth=1)
        util = []
        for i, x in enumerate(s):
            j = max(0, i - window)
            dl = x.logged_in_s - s[j].logged_in_s
            util.append((x.talk_s - s[j].talk_s) / dl if dl > 0 else 0.0)
        axes[2].plot(hours, util, label=label, linewidth=1)
    axes[0].set_ylabel("dial level (calls in\nprogress per logged-in\nagent, 5-min mean)")
    axes[1].set_ylabel("abandon rate\n(cumulative)")
    axes[1].axhline(report.scenario.abandon_limit, color="red", linestyle="--", linewidth=0.8, label="limit")
    axes[1].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[2].set_ylabel(f"utilisation\n(last {window} min)")
    axes[2].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[2].set_xlabel("hours since start")
    axes[0].legend(loc="upper right", fontsize="small")
    axes[0].set_title(report.scenario.describe(), fontsize="small")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
