"""tools/pacing_frontier.py: the model with θ pinned, beside the steered policy and fixed ratios."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import pacing_frontier  # noqa: E402

DAY = """\
seed: 5
duration_s: 3600
agents: 10
answer_prob: 0.35
machine_share: 0.1
amd_s: 2
ring_s: {dist: lognormal, mean: 12, sd: 5}
no_answer_timeout_s: 25
talk_s: {dist: lognormal, mean: 60, sd: 30}
wrap_s: 5
"""


def test_a_higher_pinned_theta_buys_agent_time_for_abandons(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(DAY)
    assert pacing_frontier.main([str(path), "--thetas", "0.002,0.1", "--ratios", "1.0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    runs = out["runs"]
    assert list(runs) == ["callpact", "callpact@0.002", "callpact@0.1", "ratio:1.0"]
    low, high = runs["callpact@0.002"], runs["callpact@0.1"]
    assert high["utilisation"] > low["utilisation"]
    assert high["abandon_rate"] > low["abandon_rate"]
    assert runs["ratio:1.0"]["abandon_rate"] == 0.0          # progressive never abandons
    assert low["frontier_at_same_abandons"] is None            # the frontier's own points
    assert out["best_ratio_every_hour_within_limit"] == "ratio:1.0"


def test_the_frontier_is_interpolated_between_pinned_levels_only() -> None:
    points = [(0.01, 0.70), (0.03, 0.80)]
    assert pacing_frontier.on_frontier(points, 0.02) == pytest.approx(0.75)
    assert pacing_frontier.on_frontier(points, 0.005) is None
    assert pacing_frontier.on_frontier(points, 0.04) is None


def test_bad_theta_levels_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(DAY)
    assert pacing_frontier.main([str(path), "--thetas", "0.01,lots"]) == 2
    assert "--thetas '0.01,lots'" in capsys.readouterr().err
    assert pacing_frontier.main([str(path), "--thetas", "0"]) == 2
    assert "above 0" in capsys.readouterr().err
