"""Smoke test of the engine scale benchmark (tools/bench_engine.py): a few seconds at low load."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tools" / "bench_engine.py"

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run `make setup` (the benchmark needs a real Redis)")
    return subprocess.run([sys.executable, str(BENCH), "--lines", "200", "--cps", "40", *args],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, check=False)


def test_benchmark_reports_figures_as_json_and_stops_its_redis() -> None:
    proc = _run("--seconds", "4", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    r = out["results"]
    assert r["originations"] > 50
    assert 0 < r["concurrent"]["peak"] <= 200
    assert r["originations_per_s"] > 0
    assert r["tick_latency_ms"]["n"] > 0 and r["tick_latency_ms"]["p99"] >= r["tick_latency_ms"]["p50"] >= 0
    assert r["cpu"]["process_ms_per_call"] > 0
    assert r["integrity_ok"], r              # every attempt closed with one outcome, nothing left open
    assert set(out["targets"]) == {"concurrent_calls", "originations_per_s", "p99_tick_latency_ms"}
    assert all(isinstance(t["met"], bool) for t in out["targets"].values())
    assert not out["all_targets_met"]                # 200 lines cannot hold 5,000 calls
    pid = out["config"]["redis_pid"]
    assert pid and not os.path.exists(f"/proc/{pid}"), "the benchmark's redis-server is still running"


def test_benchmark_prints_a_table_with_the_targets() -> None:
    proc = _run("--seconds", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for needle in ("concurrent calls: peak", "originations/s", "tick latency ms: p50 / p99 / max",
                   "process CPU", "redis-server CPU", "p99_tick_latency_ms", "store consistent after drain"):
        assert needle in proc.stdout, needle


def test_check_fails_when_a_target_is_missed() -> None:
    proc = _run("--seconds", "2", "--check")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_predictive_mode_dials_ahead_of_the_simulated_agents() -> None:
    # Short calls and a high answer rate, so that the policy has seen enough calls within seconds to
    # leave its progressive warm-up: from then on it rings more lines than there are agents, which
    # progressive dialling (at most one call per idle agent) never does.
    proc = _run("--mode", "predictive", "--agents", "100", "--hold", "2", "--ring-min", "1",
                "--ring-max", "2", "--answer", "0.9", "--lines", "300", "--cps", "60", "--seconds", "15",
                "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["config"]["mode"] == "predictive" and out["config"]["agents"] == 100
    r = out["results"]
    assert r["concurrent"]["peak"] > 100, r["concurrent"]
    assert r["outcomes"].get("connected-to-agent", 0) > 50
    assert r["integrity_ok"], r


def test_an_unknown_flow_is_named_in_a_clear_error() -> None:
    proc = _run("--flow", "no_such_flow", "--seconds", "2")
    assert proc.returncode == 2
    assert "--flow no_such_flow: no shipped flow 'no_such_flow'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_a_message_only_flow_is_stretched_to_the_hold_time() -> None:
    # The regression this guards: the default load once ran payment_reminder with every prompt
    # stretched as if it were one short message, and calls lasted minutes, not --hold seconds.
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = bench          # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    from ivr_flows.loader import resolve_flow
    words = bench.message_words(resolve_flow("thank_you"))
    assert words is not None and 20 <= words <= 40           # the thank-you and the goodbye, in Dutch
    assert bench.message_words(resolve_flow("payment_reminder")) is None
    args = bench.parse_args(["--hold", "25"])
    assert bench.prompt_rate(args) == words / 25
    args = bench.parse_args(["--flow", "payment_reminder"])
    assert bench.prompt_rate(args) == bench.NATURAL_WORDS_PER_S
