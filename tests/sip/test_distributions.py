"""Distributions: moments match their parameters, specs read strictly from YAML."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from dialer.core.errors import ConfigError
from dialer.core.yamlconf import Section, load_yaml_text
from sip.distributions import (
    DIST_NAMES,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Uniform,
    as_distribution,
    parse_distribution,
    read_distribution,
)

N = 20_000


@pytest.mark.parametrize(
    "dist",
    [Fixed(7.5), Exponential(30.0), Uniform(1.0, 5.0), LogNormal(14.0, 6.0), Gamma(180.0, 90.0),
     LogNormal(3.0, 3.0), Gamma(2.0, 4.0)],
    ids=lambda d: d.describe(),
)
def test_sample_moments_match_parameters(dist) -> None:
    rng = random.Random(12345)
    xs = [dist.sample(rng) for _ in range(N)]
    assert min(xs) >= 0
    # 20k samples: the mean within ~4 standard errors, the sd within 10% (CV <= 2 here)
    assert statistics.fmean(xs) == pytest.approx(dist.mean, abs=4 * dist.sd / math.sqrt(N) + 1e-9)
    assert statistics.pstdev(xs) == pytest.approx(dist.sd, rel=0.1, abs=1e-9)


def test_uniform_stays_in_bounds_and_moments_are_analytic() -> None:
    rng = random.Random(1)
    u = Uniform(2.0, 4.0)
    assert all(2.0 <= u.sample(rng) <= 4.0 for _ in range(1000))
    assert u.mean == 3.0
    assert u.sd == pytest.approx(2 / math.sqrt(12))


def test_lognormal_parameter_conversion() -> None:
    d = LogNormal(14.0, 6.0)
    assert math.exp(d.mu + d.sigma**2 / 2) == pytest.approx(14.0)
    assert math.sqrt((math.exp(d.sigma**2) - 1) * math.exp(2 * d.mu + d.sigma**2)) == pytest.approx(6.0)


def test_zero_spread_is_degenerate_not_an_error() -> None:
    rng = random.Random(0)
    assert LogNormal(5.0, 0.0).sample(rng) == 5.0
    assert Gamma(5.0, 0.0).sample(rng) == 5.0
    assert Exponential(0.0).sample(rng) == 0.0


def test_same_seed_same_samples() -> None:
    d = Gamma(10.0, 3.0)
    a, b = random.Random("x"), random.Random("x")
    assert [d.sample(a) for _ in range(50)] == [d.sample(b) for _ in range(50)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Fixed(-1.0), "value"),
        (lambda: Uniform(5.0, 1.0), "max"),
        (lambda: LogNormal(0.0, 1.0), "mean"),
        (lambda: Gamma(1.0, -1.0), "sd"),
        (lambda: Exponential(math.inf), "mean"),
    ],
)
def test_invalid_parameters_are_rejected(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_describe_reads_like_the_yaml() -> None:
    assert LogNormal(14, 6).describe() == "lognormal(mean 14s, sd 6s)"
    assert Uniform(1, 5).describe() == "uniform(1s to 5s)"
    assert Fixed(3).describe() == "fixed 3s"


def test_as_distribution_accepts_numbers() -> None:
    assert as_distribution(2) == Fixed(2.0)
    d = Gamma(1, 1)
    assert as_distribution(d) is d
    with pytest.raises(TypeError):
        as_distribution("3")  # type: ignore[arg-type]


# -- YAML ----------------------------------------------------------------------------


def _section(text: str) -> Section:
    return Section(load_yaml_text(text, "scenario.yaml"), "scenario.yaml", "network")


def _parse(text: str, key: str = "ring_s"):
    return read_distribution(_section(text), key)


def test_parse_plain_number_and_duration_are_fixed() -> None:
    assert _parse("ring_s: 14") == Fixed(14.0)
    assert _parse("ring_s: 1.5m") == Fixed(90.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ring_s: {dist: lognormal, mean: 14, sd: 6}", LogNormal(14.0, 6.0)),
        ("ring_s: {dist: uniform, min: 1, max: 5}", Uniform(1.0, 5.0)),
        ("ring_s: {dist: gamma, mean: 3m, sd: 90s}", Gamma(180.0, 90.0)),
        ("ring_s: {dist: exponential, mean: 30}", Exponential(30.0)),
        ("ring_s: {dist: fixed, value: 2}", Fixed(2.0)),
        ("ring_s:\n  dist: lognormal\n  mean: 14\n  sd: 6\n", LogNormal(14.0, 6.0)),
    ],
)
def test_parse_mappings(text, expected) -> None:
    assert _parse(text) == expected


def test_read_distribution_default_when_absent() -> None:
    section = _section("other: 1")
    assert read_distribution(section, "ring_s", Fixed(3.0)) == Fixed(3.0)
    with pytest.raises(ConfigError, match=r"network\.ring_s: required key is missing"):
        read_distribution(section, "ring_s")


def test_unknown_dist_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as err:
        _parse("x: 1\nring_s: {dist: poisson, mean: 3}\n")
    message = str(err.value)
    assert "scenario.yaml, line 2" in message
    assert "network.ring_s.dist" in message
    for name in DIST_NAMES:
        assert name in message


def test_unknown_key_for_a_dist_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        _parse("ring_s:\n  dist: uniform\n  min: 1\n  max: 5\n  sd: 2\n")
    message = str(err.value)
    assert "line 5" in message
    assert "network.ring_s.sd: unknown key" in message
    assert "allowed here: dist, max, min" in message


def test_missing_dist_key() -> None:
    with pytest.raises(ConfigError, match=r"network.ring_s: needs 'dist:' naming one of: fixed"):
        _parse("ring_s: {mean: 14, sd: 6}")


def test_missing_parameter() -> None:
    with pytest.raises(ConfigError, match=r"network\.ring_s\.sd: required key is missing"):
        _parse("ring_s: {dist: lognormal, mean: 14}")


def test_bad_parameter_values_point_at_the_parameter() -> None:
    with pytest.raises(ConfigError, match=r"line 4: network.ring_s.max: must be at least min \(5\)"):
        _parse("ring_s:\n  dist: uniform\n  min: 5\n  max: 1\n")
    with pytest.raises(ConfigError, match=r"network\.ring_s\.mean: must be a finite number > 0"):
        _parse("ring_s: {dist: gamma, mean: 0, sd: 1}")
    with pytest.raises(ConfigError, match=r"network\.ring_s\.sd: must be at least 0s"):
        _parse("ring_s: {dist: gamma, mean: 1, sd: -1}")
    with pytest.raises(ConfigError, match=r"network\.ring_s\.mean: must be a duration"):
        _parse("ring_s: {dist: gamma, mean: soon, sd: 1}")


@pytest.mark.parametrize("text", ["ring_s: true", "ring_s: [1, 2]", "ring_s: later", "ring_s: null"])
def test_not_a_distribution(text) -> None:
    with pytest.raises(ConfigError, match=r"network.ring_s: must be a number of seconds .* dist is one of"):
        _parse(text)


def test_negative_fixed_value() -> None:
    with pytest.raises(ConfigError, match=r"network\.ring_s: must be at least 0s"):
        _parse("ring_s: -3")


def test_parse_distribution_on_a_value_already_taken() -> None:
    section = _section("talk_s: {dist: lognormal, mean: 180, sd: 60}")
    value = section.raw("talk_s")
    assert parse_distribution(value, section, "talk_s") == LogNormal(180.0, 60.0)
