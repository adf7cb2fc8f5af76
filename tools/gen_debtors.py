"""Write a synthetic debtor list for demos and load tests.

    python tools/gen_debtors.py --rows 1000000 --out debtors.csv --seed 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from dialer.simulation.debtor_generator import write_debtors_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic Dutch debtor list (CSV).")
    parser.add_argument("--rows", type=int, default=1000, help="number of debtors (default 1000)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same list (default 1)")
    parser.add_argument("--invalid-share", type=float, default=0.01,
                        help="share of rows with a broken number (default 0.01)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="date the due dates count back from (YYYY-MM-DD; default today)")
    parser.add_argument("--delimiter", default=",", help="',' (default), ';' or 'tab'")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be 0 or more")
    if not 0 <= args.invalid_share <= 1:
        parser.error("--invalid-share must be between 0 and 1")
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    if len(delimiter) != 1:
        parser.error("--delimiter must be one character or 'tab'")
    started = time.perf_counter()
    try:
        count = write_debtors_csv(args.out, args.rows, args.seed, invalid_share=args.invalid_share,
                                  today=args.today, delimiter=delimiter)
    except (OSError, ValueError) as exc:
        print(f"gen_debtors: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} debtors to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
