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


def test_status_and_exports_after_a_demo_show_ivr_outcomes_and_callers_back(tmp_path: Path) -> None:
    import csv
    import json

    data = tmp_path / "data"
    demo = callpact("demo", "--debtors", "120", "--agents", "2", "--hours", "2", "--quiet", "--out",
                    tmp_path / "out", "--data-dir", data, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "outcome payment-link" in demo.stdout and "callers back" in demo.stdout
    status = callpact("--data-dir", data, "campaign", "status", "demo", "--json", cwd=tmp_path)
    report = json.loads(status.stdout)
    assert sum(report["ivr_outcomes"].values()) > 0
    assert report["callbacks"] == sum(report["callback_rules"].values()) > 0
    out = tmp_path / "cb.csv"
    exported = callpact("--data-dir", data, "callbacks", "demo", "--out", out, cwd=tmp_path)
    assert exported.returncode == 0 and f"{report['callbacks']} callers back written" in exported.stdout
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == report["callbacks"] and all(r["rule"] for r in rows)
    with (tmp_path / "out" / "callbacks.csv").open(newline="", encoding="utf-8") as fh:
        assert rows == list(csv.DictReader(fh))          # the demo's own CSV: the same rows
