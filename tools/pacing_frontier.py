"""The predictive model's own frontier: agent time against abandons, with θ pinned.

    .venv/bin/python tools/pacing_frontier.py config/scenarios/low-answer-15.yaml
    .venv/bin/python tools/pacing_frontier.py SCENARIO --thetas 0.005,0.01,0.02 --ratios 6,7,7.2,8 --json

``callpact simulate`` shows the policy as it runs, with θ steered by the abandon
budget. This tool separates the two things that result is made of. It runs
the same day with θ pinned at several levels (no budget, no law: the model
alone) and traces the utilisation each level buys for the abandons it costs.
Beside those it runs the steered policy and the fixed ratios given, in the same
run and with the same random streams. It prints:

* each run's utilisation, day abandon rate and worst clock hour;
* the frontier's utilisation at the steered policy's abandon rate
  (interpolated): what the steering costs, or gains, against a θ held steady;
* the frontier's utilisation at each fixed ratio's abandon rate: what the
  model gains over dialling a fixed ratio, at equal abandons;
* the best fixed ratio that kept the day within the limit, and the best that
  kept every clock hour within it too.

docs/pacing-log.md ("Sixth round") has a table made with it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dialer.core.errors import CallpactError  # noqa: E402
from dialer.simulation.compare import PolicyResult, best_in_hindsight, parse_ratios, ratio_key, run_policy  # noqa: E402
from dialer.simulation.scenario import load_scenario  # noqa: E402

DEFAULT_THETAS = (0.005, 0.01, 0.02, 0.03)


def parse_thetas(text: str) -> list[float]:
    try:
        thetas = sorted({float(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise CallpactError(f"--thetas {text!r}: give levels like 0.005,0.01,0.02") from None
    if not thetas or any(not 0 < t <= 1 for t in thetas):
        raise CallpactError(f"--thetas {text!r}: each θ must be above 0 and at most 1")
    return thetas


def on_frontier(points: list[tuple[float, float]], abandon_rate: float) -> float | None:
    """Utilisation at ``abandon_rate`` on the pinned-θ points (abandon, util), linear between
    neighbours; None outside their range (no extrapolation)."""
    pts = sorted(points)
    for (a0, u0), (a1, u1) in itertools.pairwise(pts):
        if a0 <= abandon_rate <= a1:
            return u0 if a1 == a0 else u0 + (u1 - u0) * (abandon_rate - a0) / (a1 - a0)
    return None


def frontier(scenario_path: str, thetas: list[float], ratios: list[float]) -> dict[str, Any]:
    scenario = load_scenario(scenario_path)
    limit = scenario.abandon_limit
    runs: dict[str, PolicyResult] = {"callpact": run_policy(scenario, "callpact")}
    for theta in thetas:
        runs[f"callpact@{theta:g}"] = run_policy(scenario, f"callpact@{theta:g}")
    for ratio in ratios:
        runs[ratio_key(ratio)] = run_policy(scenario, ratio_key(ratio))
    points = [(runs[f"callpact@{t:g}"].abandon_rate, runs[f"callpact@{t:g}"].utilisation) for t in thetas]
    rows = {}
    for name, r in runs.items():
        at = None if name.startswith("callpact@") else on_frontier(points, r.abandon_rate)
        rows[name] = {"utilisation": r.utilisation, "abandon_rate": r.abandon_rate,
                      "worst_hour_abandon_rate": r.worst_hour_abandon_rate,
                      "frontier_at_same_abandons": at}
    day = best_in_hindsight(runs, limit)                        # the ratios' names: ratio:<r>
    hours = best_in_hindsight(runs, limit, every_hour=True)
    return {"scenario": scenario_path, "abandon_limit": limit, "runs": rows,
            "best_ratio_day_within_limit": day.policy if day else None,
            "best_ratio_every_hour_within_limit": hours.policy if hours else None}


def print_table(out: dict[str, Any]) -> None:
    print(f"pacing frontier: {out['scenario']} (abandon limit {100 * out['abandon_limit']:g}%)")
    print(f"  {'run':22s} {'util':>7s} {'abandon':>8s} {'worst hour':>11s} "
          f"{'frontier at same abandons':>27s}")
    for name, r in out["runs"].items():
        at = r["frontier_at_same_abandons"]
        diff = "" if at is None else f"{100 * at:6.2f}% ({100 * (r['utilisation'] - at):+.2f})"
        print(f"  {name:22s} {100 * r['utilisation']:6.2f}% {100 * r['abandon_rate']:7.2f}% "
              f"{100 * r['worst_hour_abandon_rate']:10.2f}% {diff:>27s}")
    for label, key in (("day within the limit", "best_ratio_day_within_limit"),
                       ("every hour within the limit", "best_ratio_every_hour_within_limit")):
        print(f"  best fixed ratio, {label + ':':28s} {out[key] or '-'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The predictive model's frontier (θ pinned) beside the steered "
                                            "policy and fixed ratios, on one scenario day.")
    p.add_argument("scenario", help="a scenario file (config/scenarios/*.yaml)")
    p.add_argument("--thetas", default=",".join(f"{t:g}" for t in DEFAULT_THETAS),
                   help="pinned θ levels (expected abandons per expected answer), default %(default)s")
    p.add_argument("--ratios", default="", help="fixed ratios to run beside, e.g. 6,7,8 or 6.0:8.0:0.5")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    try:
        thetas = parse_thetas(args.thetas)
        ratios = parse_ratios(args.ratios) if args.ratios.strip() else []
        out = frontier(args.scenario, thetas, ratios)
    except CallpactError as exc:
        print(f"pacing_frontier: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print_table(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
