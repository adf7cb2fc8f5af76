"""Judge pacing on many days: each scenario file under many seeds, one policy.

    .venv/bin/python tools/pacing_days.py config/scenarios/*.yaml --seeds 70:75 --jobs 2
    .venv/bin/python tools/pacing_days.py config/scenarios/*.yaml --seeds 70:75 --json > before.json
    .venv/bin/python tools/pacing_days.py config/scenarios/*.yaml --seeds 70:75 --against before.json

One simulated day is a lottery: its utilisation moves by ±0.5–1 point with the
seed, and whether a clock hour ends one abandon over 3% is luck on about one day
in 35 (docs/pacing-log.md, seventh round). A change to the policy redraws every
shipped day, so the shipped days alone cannot tell a better policy from a lucky
one; judging one takes 150 days or more. This tool runs them: every file with
every seed (the rest of the scenario as written), through the same
``run_policy`` that ``callpact simulate`` uses, and prints per scenario family
the mean utilisation, the mean and worst day abandon rate, and the days with a
clock hour over the limit (counted only for desks of 20 or more, the bar
callpact holds itself to there). ``--against`` compares with an earlier run's
JSON, family by family: run it once on the old code, once on the new.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dialer.core.errors import CallpactError  # noqa: E402
from dialer.pacing.settings import HOURLY_CAP_MIN_AGENTS  # noqa: E402
from dialer.simulation.compare import check_policy, process_pool, run_policy  # noqa: E402
from dialer.simulation.scenario import load_scenario  # noqa: E402

MAX_DAYS = 5000


def parse_seeds(text: str) -> list[int]:
    """``70:75`` (both ends included) or ``1,2,3``."""
    try:
        if ":" in text:
            lo, hi = (int(p) for p in text.split(":"))
            if hi < lo:
                raise ValueError
            seeds = list(range(lo, hi + 1))
        else:
            seeds = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise CallpactError(f"--seeds {text!r}: give seeds like 70:75 or 1,2,3") from None
    if not seeds or any(s < 0 for s in seeds):
        raise CallpactError(f"--seeds {text!r}: give at least one seed, none below 0")
    return seeds


def run_day(job: tuple[str, int, str]) -> dict[str, Any]:
    """One scenario file under one seed."""
    path, seed, policy = job
    scenario = replace(load_scenario(path), seed=seed)
    t0 = time.process_time()
    r = run_policy(scenario, policy)
    limit = scenario.abandon_limit
    hour_bar = scenario.max_agents >= HOURLY_CAP_MIN_AGENTS
    return {"family": Path(path).stem, "seed": seed, "utilisation": r.utilisation,
            "abandon_rate": r.abandon_rate, "worst_hour_abandon_rate": r.worst_hour_abandon_rate,
            "hour_bar": hour_bar, "hour_over": hour_bar and not r.feasible(limit, every_hour=True),
            "day_over": not r.feasible(limit), "cpu_s": time.process_time() - t0}


def summarise(days: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per family, and ``all``: mean utilisation and day abandon rate, the worst day, the days over."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in days:
        groups.setdefault(d["family"], []).append(d)
    groups["all"] = days
    out = {}
    for name, ds in groups.items():
        n = len(ds)
        out[name] = {"days": n,
                     "utilisation": sum(d["utilisation"] for d in ds) / n,
                     "abandon_rate": sum(d["abandon_rate"] for d in ds) / n,
                     "worst_day_abandon_rate": max(d["abandon_rate"] for d in ds),
                     "days_hour_over": sum(d["hour_over"] for d in ds),
                     "days_with_hour_bar": sum(d["hour_bar"] for d in ds),
                     "days_day_over": sum(d["day_over"] for d in ds)}
    return out


def judge(paths: list[str], seeds: list[int], policy: str, jobs: int) -> dict[str, Any]:
    check_policy(policy)
    for path in paths:                          # a bad file is one clear error, before any work
        load_scenario(path)
    todo = [(path, seed, policy) for path in paths for seed in seeds]
    if len(todo) > MAX_DAYS:
        raise CallpactError(f"{len(todo)} days asked for; at most {MAX_DAYS} in one run")
    if jobs > 1 and len(todo) > 1:
        with process_pool(jobs) as pool:
            days = list(pool.map(run_day, todo))
    else:
        days = [run_day(job) for job in todo]
    return {"policy": policy, "seeds": seeds, "families": summarise(days), "days": days}


def print_table(out: dict[str, Any], against: dict[str, Any] | None = None) -> None:
    seeds = out["seeds"]
    print(f"pacing over days: policy {out['policy']}, seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} per file)")
    vs = " (against)" if against else ""
    print(f"  {'family':28s} {'days':>4s} {'util' + vs:>20s} {'abandon':>8s} {'worst day':>10s} "
          f"{'days hour over 3%' + vs:>26s}")
    old = (against or {}).get("families", {})
    for name, f in out["families"].items():
        util = f"{100 * f['utilisation']:6.2f}%"
        over = f"{f['days_hour_over']} of {f['days_with_hour_bar']}" if f["days_with_hour_bar"] else "-"
        if name in old:
            o = old[name]
            util += f" ({100 * (f['utilisation'] - o['utilisation']):+.2f})"
            if f["days_with_hour_bar"]:
                over += f" (was {o['days_hour_over']})"
        elif against:
            util += " (new)"
        print(f"  {name:28s} {f['days']:4d} {util:>20s} {100 * f['abandon_rate']:7.2f}% "
              f"{100 * f['worst_day_abandon_rate']:9.2f}% {over:>26s}")
    if against and against.get("seeds") != out["seeds"]:
        print("  note: the earlier run used other seeds; the comparison is not day for day")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run scenario files under many seeds and judge a pacing policy "
                                            "on all those days: mean utilisation, abandons, days over.")
    p.add_argument("scenarios", nargs="+", help="scenario files (config/scenarios/*.yaml)")
    p.add_argument("--seeds", default="1:10", help="seeds, e.g. 70:75 or 1,2,3 (default %(default)s)")
    p.add_argument("--policy", default="callpact",
                   help="callpact (default), progressive, adaptive_tapered or ratio:<r>")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--against", type=Path, metavar="FILE.json",
                   help="an earlier run's --json to compare with, family by family")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        against = None
        if args.against is not None:
            try:
                against = json.loads(args.against.read_text())
            except (OSError, ValueError) as exc:
                raise CallpactError(f"--against {args.against}: not a JSON from this tool ({exc})") from None
            if not isinstance(against, dict) or not isinstance(against.get("families"), dict):
                raise CallpactError(f"--against {args.against}: not a JSON from this tool (no families)")
        out = judge(args.scenarios, seeds, args.policy, max(1, args.jobs))
    except CallpactError as exc:
        print(f"pacing_days: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print_table(out, against)
    return 0


if __name__ == "__main__":
    sys.exit(main())
