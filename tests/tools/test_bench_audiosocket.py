"""Smoke test of the AudioSocket pacing benchmark (tools/bench_audiosocket.py) at low load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_benchmark_prints_one_line_per_load_level_with_the_one_call_baseline() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_audiosocket.py"), "--calls", "1,3",
                           "--seconds", "1"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "3"]
    assert rows[0][-1] == "1.00x"                       # the baseline compares with itself
    assert all(float(r[4]) > 0 for r in rows)           # frames arrived at every level
    assert "Traceback" not in proc.stderr
