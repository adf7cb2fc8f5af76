"""Smoke test of the TTS benchmark (tools/bench_tts.py): one run per figure, without piper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_prints_the_table_and_the_cache_baseline() -> None:
    command = [sys.executable, str(ROOT / "tools" / "bench_tts.py"), "--repeat", "1", "--no-piper"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["engine", "prompt", "chars"]
    rows = [line for line in lines if line.startswith(("espeak-ng", "flite"))]
    assert len(rows) == 4 * 3                                 # four voices, three prompt lengths
    baseline = [line for line in lines if "hit is" in line]
    assert len(baseline) == 4
    for line in baseline:                                     # figures, not a judgement on the machine
        assert float(line.split("miss")[1].split("ms")[0]) > 0
        assert float(line.split("hit ")[1].split("ms")[0]) > 0
