"""tools/pacing_days.py: one policy judged on every scenario file under many seeds."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from dialer.simulation.compare import run_policy
from dialer.simulation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import pacing_days  # noqa: E402

DESK = """\
seed: 1
duration_s: 1800
agents: {agents}
answer_prob: 0.35
machine_share: 0.1
amd_s: 2
ring_s: {{dist: lognormal, mean: 12, sd: 5}}
no_answer_timeout_s: 25
talk_s: {{dist: lognormal, mean: 60, sd: 30}}
wrap_s: 5
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    big, small = tmp_path / "big-20.yaml", tmp_path / "small-4.yaml"
    big.write_text(DESK.format(agents=20))
    small.write_text(DESK.format(agents=4))
    return big, small


def test_every_file_runs_under_every_seed_as_simulate_would(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    big, small = _files(tmp_path)
    assert pacing_days.main([str(big), str(small), "--seeds", "3:4", "--jobs", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    days = {(d["family"], d["seed"]): d for d in out["days"]}
    assert sorted(days) == [("big-20", 3), ("big-20", 4), ("small-4", 3), ("small-4", 4)]
    # The figures are run_policy's on the scenario with only the seed changed.
    direct = run_policy(replace(load_scenario(big), seed=4), "callpact")
    assert days[("big-20", 4)]["utilisation"] == direct.utilisation
    assert days[("big-20", 4)]["worst_hour_abandon_rate"] == direct.worst_hour_abandon_rate
    assert days[("big-20", 3)]["utilisation"] != days[("big-20", 4)]["utilisation"]    # other dice
    fam = out["families"]
    assert fam["big-20"]["days"] == 2 and fam["all"]["days"] == 4
    assert fam["big-20"]["utilisation"] == pytest.approx(
        (days[("big-20", 3)]["utilisation"] + days[("big-20", 4)]["utilisation"]) / 2)
    # Hours are callpact's bar only for a desk of 20 or more.
    assert fam["big-20"]["days_with_hour_bar"] == 2 and fam["small-4"]["days_with_hour_bar"] == 0


def test_against_an_earlier_run_prints_the_change_per_family(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    big, _ = _files(tmp_path)
    assert pacing_days.main([str(big), "--seeds", "1", "--json"]) == 0
    before = tmp_path / "before.json"
    before.write_text(capsys.readouterr().out)
    argv = [str(big), "--seeds", "1", "--policy", "ratio:1.0", "--against", str(before)]
    assert pacing_days.main(argv) == 0
    table = capsys.readouterr().out
    line = next(ln for ln in table.splitlines() if ln.strip().startswith("big-20"))
    ratio = run_policy(load_scenario(big), "ratio:1.0").utilisation
    was = json.loads(before.read_text())["families"]["big-20"]
    assert f"({100 * (ratio - was['utilisation']):+.2f})" in line     # one call per idle agent: far below
    assert ratio < was["utilisation"]
    assert f"(was {was['days_hour_over']})" in line


@pytest.mark.parametrize(("argv", "message"), [
    (["--seeds", "9:2"], "--seeds '9:2'"),
    (["--seeds", "x"], "--seeds 'x'"),
    (["--policy", "ratio:0.5"], "--policy 'ratio:0.5'"),
    (["--policy", "fast"], "--policy 'fast'"),
])
def test_bad_arguments_are_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], message: str) -> None:
    big, _ = _files(tmp_path)
    assert pacing_days.main([str(big), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_file_or_a_foreign_json_is_named(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    big, _ = _files(tmp_path)
    assert pacing_days.main([str(tmp_path / "gone.yaml")]) == 2
    assert "gone.yaml" in capsys.readouterr().err
    foreign = tmp_path / "other.json"
    foreign.write_text('{"callpact": {}}')
    assert pacing_days.main([str(big), "--seeds", "1", "--against", str(foreign)]) == 2
    assert "other.json: not a JSON from this tool" in capsys.readouterr().err
