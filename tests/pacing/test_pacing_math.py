"""The policy's compiled sums against their numpy reference: the same figures, or a clear error.

A decision may sit on a threshold, so the two must agree to the last bit where both use the same
``exp`` (numpy on a CPU without AVX-512, as here): a simulated day is then identical under either,
which `callpact simulate` relies on when it compares policies across machines.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from dialer.pacing import sums as pacing_math
from dialer.pacing.sums import (
    conditional_sums,
    conditional_sums_numpy,
    max_shortfall,
    max_shortfall_numpy,
    ringing_sums,
    ringing_sums_numpy,
)

# With the kernel built, conditional_sums, ringing_sums and max_shortfall run it.
kernel = pacing_math.kernel
needs_kernel = pytest.mark.skipif(kernel is None, reason="the compiled sums are not built")


def _same(a: np.ndarray, b: np.ndarray) -> None:
    # Bit for bit unless numpy takes its own AVX-512 exp; then within a few units in the last place.
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-300)


def test_the_compiled_sums_are_built_wherever_setup_ran() -> None:
    # setup installs a C compiler and Python's headers; a kernel silently missing would leave the
    # policy on numpy, correct but three times slower, and these comparisons skipped.
    if os.environ.get("CALLPACT_PURE_PYTHON"):
        pytest.skip("CALLPACT_PURE_PYTHON asks for numpy")
    assert kernel is not None


@needs_kernel
def test_agents_done_by_each_horizon_match_numpy() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.choice([0, 1, 2, 5, 30, 400]))
        # Rounded samples and ages make ties with the samples, where "at or below" matters.
        samples = np.sort(np.round(rng.lognormal(4.6, 0.6, n), int(rng.choice([0, 1, 6]))))
        ages = np.round(rng.uniform(0, 600, int(rng.integers(0, 40))), 1)
        within = np.maximum(rng.uniform(-5, 40, 5), 0.0)
        overdue = 1.0 - np.exp(-within / 120.0)
        want = conditional_sums_numpy(samples, ages, within, overdue)
        got = conditional_sums(samples, ages, within, overdue)
        for a, b in zip(got, want, strict=True):
            _same(a, b)


@needs_kernel
def test_an_agent_past_every_sample_is_counted_as_overdue() -> None:
    samples = np.array([10.0, 20.0, 30.0])
    mu, var = conditional_sums(samples, np.array([31.0, 45.0]), np.array([0.0, 5.0]),
                                    np.array([0.25, 0.5]))
    # Both agents have outlasted every sample: each is done with the overdue chance.
    assert mu.tolist() == [0.5, 1.0]
    assert var.tolist() == [2 * 0.25 * 0.75, 2 * 0.25]


@pytest.mark.parametrize("compiled", [True, False])
def test_an_agent_at_exactly_the_fixed_talk_time_is_about_to_be_free(compiled: bool) -> None:
    # Every talk lasts 60 s; at 60.0 the hang-up is due this instant (its event may come after
    # the tick that asks). It is done within any horizon, not overdue.
    if compiled and kernel is None:
        pytest.skip("the compiled sums are not built")
    sums = conditional_sums if compiled else conditional_sums_numpy
    mu, var = sums(np.full(50, 60.0), np.array([60.0, 54.0, 53.0]), np.array([0.0, 6.0]),
                   np.array([0.01, 0.1]))
    assert mu.tolist() == [1.0, 2.0]
    assert var.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("compiled", [True, False])
def test_a_call_ringing_exactly_the_fixed_ring_time_is_about_to_be_answered(compiled: bool) -> None:
    # Every answer comes 5 s after the dial (95% of calls), the rest ring out at 25 s. A call
    # ringing for 5.0 s is being answered this instant: it is a person within any horizon.
    if compiled and kernel is None:
        pytest.skip("the compiled sums are not built")
    answer, other = np.full(95, 5.0), np.full(5, 25.0)
    sums = ringing_sums if compiled else ringing_sums_numpy
    mu, _ = sums(answer, other, np.array([5.0, 2.0]), np.array([0.0, 5.0]), 0.95)
    # At 5.0 s: answered by now with 0.95 (of calls still ringing at 5 s, all but those to ring
    # out). At 2.0 s: not yet by horizon 0, with 0.95 by horizon 5.
    np.testing.assert_allclose(mu, [0.95, 1.9])


@needs_kernel
def test_people_on_the_line_from_ringing_calls_match_numpy() -> None:
    rng = np.random.default_rng(12)
    for _ in range(300):
        answer = np.sort(np.round(rng.lognormal(2.7, 0.45, int(rng.choice([1, 3, 50, 600]))), 1))
        other = np.sort(np.round(rng.choice([1.0, 18.0, 25.0], int(rng.choice([0, 1, 40, 900]))), 1))
        ringing = np.round(rng.uniform(0, 30, int(rng.integers(0, 80))), 1)
        horizons = np.sort(np.round(rng.uniform(2, 30, 5), int(rng.choice([0, 6]))))
        p = float(rng.choice([0.0, 0.12, 0.3, 1.0]))
        for got, want in zip(ringing_sums(answer, other, ringing, horizons, p),
                             ringing_sums_numpy(answer, other, ringing, horizons, p), strict=True):
            _same(got, want)


@needs_kernel
def test_the_shortfall_of_each_count_of_new_calls_matches_numpy() -> None:
    rng = np.random.default_rng(13)
    for _ in range(300):
        base_mu = rng.normal(-3, 4, 5)
        base_var = rng.choice([0.0, 1e-12, 0.5, 9.0], 5) * rng.uniform(0, 2, 5)
        q_new = rng.uniform(0, 0.4, 5)
        cap = int(rng.choice([0, 1, 16, 150]))
        _same(max_shortfall(base_mu, base_var, q_new, cap),
              max_shortfall_numpy(base_mu, base_var, q_new, cap))


@needs_kernel
def test_wrong_arrays_are_refused_by_name() -> None:
    out = np.empty(5)
    with pytest.raises(TypeError, match="q_new: float64"):
        kernel.max_shortfall(np.zeros(5), np.zeros(5), np.zeros(5, dtype=np.float32), out)
    with pytest.raises(TypeError, match="out: a contiguous, writable float64"):
        kernel.max_shortfall(np.zeros(5), np.zeros(5), np.zeros(5), b"x" * 40)
    with pytest.raises(ValueError, match="q_new: lengths differ"):
        kernel.max_shortfall(np.zeros(5), np.zeros(5), np.zeros(4), out)
    with pytest.raises(ValueError, match="out_mu"):
        kernel.conditional_sums(np.zeros(3), np.zeros(2), np.zeros(5), np.zeros(5), np.empty(4), out)
    with pytest.raises(TypeError, match="takes 7 arguments"):
        kernel.ringing_sums(np.zeros(3))
