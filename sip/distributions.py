"""Random durations for the simulated network and agents.

Scenario authors think in the numbers they can read off their own call-centre
reports ("talk time averages 3 minutes, give or take 90 s"), so every skewed
distribution here is parameterised by its *own* mean and standard deviation and
converted to the textbook parameters internally. All samples are durations in
seconds and never negative: a negative ring or talk time would move the
simulation's clock backwards.

Sampling takes the caller's :class:`random.Random` so that the simulator can
give each debtor attempt its own reproducible stream (common random numbers
across pacing policies); nothing here owns or reseeds a generator.
"""

from __future__ import annotations

import abc
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer.core.yamlconf import Section, parse_duration

__all__ = [
    "DIST_NAMES",
    "Distribution",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "ParameterError",
    "Uniform",
    "as_distribution",
    "parse_distribution",
    "read_distribution",
]


class Distribution(abc.ABC):
    """A non-negative random duration in seconds.

    Subclasses expose ``mean`` and ``sd`` (fields or properties) so reports and
    pacing models can use the scenario's own figures without sampling.
    """

    mean: float
    sd: float

    @abc.abstractmethod
    def sample(self, rng: random.Random) -> float:
        """One draw, >= 0."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Short text for reports and error messages, in the YAML's own terms."""


class ParameterError(ValueError):
    """A bad parameter; ``param`` lets the YAML reader point at the exact key."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(f"{param} {message}")


def _check_non_negative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ParameterError(name, f"must be a finite number >= 0, not {value!r}")


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always ``value``: for deterministic tests and for fixed delays."""

    value: float

    def __post_init__(self) -> None:
        _check_non_negative("value", self.value)

    @property
    def mean(self) -> float:  # type: ignore[override]
        return self.value

    @property
    def sd(self) -> float:  # type: ignore[override]
        return 0.0

    def sample(self, rng: random.Random) -> float:
        return self.value

    def describe(self) -> str:
        return f"fixed {self.value:g}s"


@dataclass(frozen=True)
class Exponential(Distribution):
    """Memoryless; sd equals the mean. Good for waits with no typical length."""

    mean: float

    def __post_init__(self) -> None:
        _check_non_negative("mean", self.mean)

    @property
    def sd(self) -> float:  # type: ignore[override]
        return self.mean

    def sample(self, rng: random.Random) -> float:
        if self.mean == 0:
            return 0.0
        return rng.expovariate(1.0 / self.mean)

    def describe(self) -> str:
        return f"exponential(mean {self.mean:g}s)"


@dataclass(frozen=True)
class Uniform(Distribution):
    """Equally likely anywhere in [min, max]: for bounded technical delays."""

    min: float
    max: float

    def __post_init__(self) -> None:
        _check_non_negative("min", self.min)
        _check_non_negative("max", self.max)
        if self.max < self.min:
            raise ParameterError("max", f"must be at least min ({self.min:g}), not {self.max:g}")

    @property
    def mean(self) -> float:  # type: ignore[override]
        return (self.min + self.max) / 2

    @property
    def sd(self) -> float:  # type: ignore[override]
        return (self.max - self.min) / math.sqrt(12)

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.min, self.max)

    def describe(self) -> str:
        return f"uniform({self.min:g}s to {self.max:g}s)"


def _check_mean_sd(mean: float, sd: float) -> None:
    if not math.isfinite(mean) or mean <= 0:
        raise ParameterError("mean", f"must be a finite number > 0, not {mean!r}")
    _check_non_negative("sd", sd)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Right-skewed with a long tail: the usual shape of talk and ring times.

    ``mean`` and ``sd`` are those of the durations themselves, not of their
    logarithm; ``mu``/``sigma`` are derived.
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _check_mean_sd(self.mean, self.sd)

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p((self.sd / self.mean) ** 2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2

    def sample(self, rng: random.Random) -> float:
        if self.sd == 0:
            return self.mean
        return rng.lognormvariate(self.mu, self.sigma)

    def describe(self) -> str:
        return f"lognormal(mean {self.mean:g}s, sd {self.sd:g}s)"


@dataclass(frozen=True)
class Gamma(Distribution):
    """Skewed with a lighter tail than lognormal; shape/scale derived from mean and sd."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _check_mean_sd(self.mean, self.sd)

    @property
    def shape(self) -> float:
        return (self.mean / self.sd) ** 2

    @property
    def scale(self) -> float:
        return self.sd**2 / self.mean

    def sample(self, rng: random.Random) -> float:
        if self.sd == 0:
            return self.mean
        return rng.gammavariate(self.shape, self.scale)

    def describe(self) -> str:
        return f"gamma(mean {self.mean:g}s, sd {self.sd:g}s)"


# dist name -> (class, parameter keys in constructor order)
_KINDS: dict[str, tuple[type[Distribution], tuple[str, ...]]] = {
    "fixed": (Fixed, ("value",)),
    "exponential": (Exponential, ("mean",)),
    "uniform": (Uniform, ("min", "max")),
    "lognormal": (LogNormal, ("mean", "sd")),
    "gamma": (Gamma, ("mean", "sd")),
}
DIST_NAMES: tuple[str, ...] = tuple(_KINDS)

_EXAMPLE = "a number of seconds (fixed) or a mapping like {dist: lognormal, mean: 14, sd: 6}"


def as_distribution(value: Distribution | float) -> Distribution:
    """Let code and tests write ``ring_s=0.01`` where a distribution is expected."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a Distribution or a number of seconds, not {value!r}")
    return Fixed(float(value))


def parse_distribution(value: Any, where: Section, key: str) -> Distribution:
    """Read one distribution given as ``value`` under ``key`` of ``where``.

    Accepts a plain number or duration (``14``, ``"90s"``, ``"3m"``) as a fixed
    value, or a mapping with ``dist:`` one of :data:`DIST_NAMES` and exactly
    that distribution's parameters (durations too). Errors are
    :class:`~dialer.core.errors.ConfigError` naming file, line and key path.
    """
    if not isinstance(value, Mapping):
        seconds = parse_duration(value)
        if seconds is None:
            raise where.error(key, f"must be {_EXAMPLE}; dist is one of: {', '.join(DIST_NAMES)}")
        if seconds < 0:
            raise where.error(key, f"must be at least 0s, not {seconds:g}s")
        return Fixed(seconds)

    sub = Section(value, where.source, where.key_path(key))
    if not getattr(value, "key_lines", None):
        sub._line = where._lines.get(key)
    if not sub.has("dist"):
        raise where.error(
            key, f"needs 'dist:' naming one of: {', '.join(DIST_NAMES)} (or give {_EXAMPLE})"
        )
    name = sub.choice("dist", DIST_NAMES)
    cls, params = _KINDS[name]
    args = [sub.duration(param, minimum=0) for param in params]
    sub.finish(allowed_hint=("dist", *params))
    try:
        return cls(*args)
    except ParameterError as exc:
        raise sub.error(exc.param, f"{str(exc).removeprefix(exc.param + ' ')} for {name}") from None


def read_distribution(section: Section, key: str, default: Distribution | None = None) -> Distribution:
    """Pop ``key`` from ``section`` and parse it; ``default`` when absent (required if None)."""
    if default is not None and not section.has(key):
        return default
    return parse_distribution(section.raw(key), section, key)
