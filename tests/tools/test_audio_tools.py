"""The audio tools run end to end on small inputs and print the figures they promise."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_amd_eval_reports_both_parameter_sets_and_a_custom_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("amd_eval").main(["--set", "greeting_ms=1800", "--set", "max_words=4"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[2:]]
    names = ("app_amd", "tuned", "custom")
    assert rows == [f"{corpus}/{name}" for corpus in ("tuning", "held-out") for name in names]
    assert "false-machine" in out and "mean-decision" in out


def test_amd_eval_refuses_unknown_parameters_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("amd_eval").main(["--set", "greting_ms=1800"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("amd_eval: --set: unknown AMD parameter(s) greting_ms") and "\n" not in err


def test_bench_audio_prints_every_row_against_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("bench_audio").main(["--streams", "2", "--seconds", "6"]) == 0
    out = capsys.readouterr().out
    assert "DTMF alone (baseline)" in out and "same via MediaSession" in out
    baseline = next(line for line in out.splitlines() if line.startswith("DTMF alone"))
    assert baseline.rstrip().endswith("1.0x")
    assert load("bench_audio").main(["--streams", "0"]) == 2
