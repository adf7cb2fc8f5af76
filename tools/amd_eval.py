#!/usr/bin/env python3
"""Accuracy of answering-machine detection per parameter set on a rendered, labelled set.

    .venv/bin/python tools/amd_eval.py                      # app_amd defaults vs the tuned set
    .venv/bin/python tools/amd_eval.py --set greeting_ms=1800 --set max_words=4

Two sets (``audio.labelled.amd_openings``) are rendered at run time (about a
second): short human answers, 4–8 s voicemail greetings with and without a
beep, silence and line noise, all through a µ-law round trip. The tuned
parameters were chosen on the first ("tuning") set; the "held-out" set (other
texts, flite voices, other speeds, a -45 dBm0 line) shows whether they carry
over. The false-machine rate (a live person hung up on) is the figure to keep
lowest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio.amd import APP_AMD_DEFAULTS, TUNED, AmdParams
from audio.amd_scoring import AmdScore, score
from audio.labelled import RenderError, amd_openings


def parse_overrides(pairs: list[str]) -> AmdParams:
    values: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"--set {pair!r}: expected NAME=WHOLE_NUMBER, e.g. greeting_ms=1800")
        values[key.strip()] = int(value)
    return AmdParams.from_mapping(values, where="--set")


def table(scores: list[AmdScore]) -> str:
    head = (f"{'set / parameters':24s} {'cases':>5s} {'accuracy':>8s} {'false-machine':>13s} "
            f"{'human-notsure':>13s} {'missed-machine':>14s} {'mean-decision':>13s} {'beeps':>7s} "
            f"{'beep-err':>8s}")
    lines = [head, "-" * len(head)]
    for s in scores:
        err = f"{max(s.beep_error_ms):.0f}ms" if s.beep_error_ms else "-"
        false_machine = f"{s.false_machine:3d}/{s.humans:<2d} {s.false_machine_rate:6.1%}"
        missed = f"{s.missed_machine:5d}/{s.machines:<2d} {s.missed_machine_rate:5.1%}"
        lines.append(
            f"{s.name:24s} {s.cases:5d} {s.accuracy:8.1%} {false_machine} "
            f"{s.human_notsure:6d}/{s.humans:<6d} {missed} "
            f"{s.mean_decision_ms:11.0f}ms {s.beeps_found:3d}/{s.beeps:<3d} {err:>8s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=MS",
                        help="evaluate one more parameter set: the defaults with these changes")
    parser.add_argument("--linear", action="store_true", help="skip the µ-law round trip")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every wrong decision")
    args = parser.parse_args(argv)
    sets = [("app_amd", APP_AMD_DEFAULTS), ("tuned", TUNED)]
    try:
        if args.set:
            sets.append(("custom", parse_overrides(args.set)))
        corpora = [("tuning", amd_openings()), ("held-out", amd_openings(held_out=True))]
    except (ValueError, RenderError) as exc:
        print(f"amd_eval: {exc}", file=sys.stderr)
        return 2
    scores = [score(f"{corpus}/{name}", openings, params, through_ulaw=not args.linear)
              for corpus, openings in corpora for name, params in sets]
    print(table(scores))
    if args.verbose:
        for s in scores:
            for line in s.wrong:
                print(f"  {s.name}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
