"""`callpact doctor` on this machine: one line per dependency, non-zero when a required one is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CALLPACT = Path(sys.executable).parent / "callpact"


def run_doctor(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CALLPACT), "doctor"], capture_output=True, text=True, timeout=60,
                          env=env)


def test_doctor_names_every_dependency_once() -> None:
    done = run_doctor()
    lines = done.stdout.splitlines()
    for name in ("pjsua2", "redis-server", "espeak-ng", "flite", "sox", "sipp", "python: redis",
                 "python: phonenumbers", "python: PyYAML", "python: numpy", "vosk"):
        assert sum(name in line for line in lines) == 1, (name, done.stdout)
    assert all(line.split()[0] in ("OK", "MISSING", "optional", "doctor:") for line in lines)


def test_doctor_fails_naming_the_missing_binary_and_its_fix(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}         # nothing on PATH: redis-server, espeak-ng, sox gone
    done = run_doctor(env)
    assert done.returncode == 1
    redis_line = next(line for line in done.stdout.splitlines() if "redis-server" in line)
    assert redis_line.startswith("MISSING")
    assert "apt-get install" in redis_line
    sipp_line = next(line for line in done.stdout.splitlines() if "sipp" in line)
    assert sipp_line.startswith("optional")              # only tests need it: not a failure by itself


def test_doctor_says_whether_the_compiled_pacing_sums_are_in_use() -> None:
    built = next(line for line in run_doctor().stdout.splitlines() if "compiled pacing sums" in line)
    assert built.startswith("OK") and "built" in built
    off = next(line for line in run_doctor({**os.environ, "CALLPACT_PURE_PYTHON": "1"}).stdout.splitlines()
               if "compiled pacing sums" in line)
    assert off.startswith("optional") and "CALLPACT_PURE_PYTHON" in off and "numpy" in off
