"""``callpact flow`` and ``callpact callbacks`` in a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def callpact(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dialer.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False)


def test_flow_check_names_the_problem_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: x\nlanguages: [nl]\nstart: a\nnodes:\n"
                   "  a: {type: say, prompt: {nl: hoi}, next: b}\n")
    proc = callpact("flow", "payment_reminder", bad, cwd=tmp_path)
    assert proc.returncode == 2
    assert "payment_reminder: flow payment_reminder is valid" in proc.stdout
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "bad.yaml, line 5: nodes.a.next: goes to 'b', but there is no such node" in proc.stderr


def test_callbacks_export_of_an_unknown_campaign_is_a_clear_error(tmp_path: Path) -> None:
    proc = callpact("--data-dir", tmp_path / "data", "callbacks", "nope", "--out", tmp_path / "c.csv",
                    cwd=tmp_path)
    assert proc.returncode == 2 and "campaign 'nope' is not loaded" in proc.stderr
