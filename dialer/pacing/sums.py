"""The predictive policy's per-element sums, in numpy and (when built) compiled.

Each decision of :class:`dialer.pacing.predictive.PredictivePolicy` sums, over the agents and the calls
ringing, the chance of each being free or answered by each horizon, then weighs the expected
shortfall for every count of new calls. In numpy that is about 90 operations on arrays of 5 to
150 values, and numpy's fixed cost per operation (about 3 µs on the shared test host) made the
policy half of a simulated day. ``dialer/pacing/_pacing_kernel.c`` does the same arithmetic in the
same order, so both give the same bits (IEEE double, no fused multiply-add; ``exp`` is the C
library's, which numpy also uses unless the CPU has AVX-512, where they may differ in the last
bit). The numpy functions here are the reference, used where the extension was not built (no C
compiler at install) or with ``CALLPACT_PURE_PYTHON=1`` set; tests hold the two to each other.
"""

from __future__ import annotations

import math
import os

import numpy as np

try:
    if os.environ.get("CALLPACT_PURE_PYTHON"):
        raise ImportError("CALLPACT_PURE_PYTHON is set")
    from dialer.pacing import _pacing_kernel as kernel
except ImportError:         # not built (no compiler at install) or turned off: numpy does it
    kernel = None

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), vectorised; math.erf is per element."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def expected_shortfall(mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E[X+] for X ~ Normal(mu, var), elementwise."""
    sigma = np.sqrt(np.maximum(var, 1e-9))
    z = mu / sigma
    phi = _INV_SQRT2PI * np.exp(-0.5 * z * z)
    cdf = 0.5 * (1.0 + _erf(z / _SQRT2))
    return sigma * phi + mu * cdf


def cdf(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The share of the samples at or below each x (0 with no samples)."""
    if sorted_values.size == 0:
        return np.zeros_like(x)
    return sorted_values.searchsorted(x, side="right") / sorted_values.size


def share_below(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The share of the samples strictly below each x (0 with no samples).

    What is still going on at age ``a`` lasts ``a`` or longer: one due to end at exactly ``a``
    may not have been seen to end yet (its event comes in the same instant). So survival to
    ``a`` is read as ``1 - share_below(a)``, not ``1 - cdf(a)``. It matters only where samples
    tie with ages, as with fixed durations on a whole-second tick: with ``cdf``, a call ringing
    for exactly the fixed ring time, about to be answered, looked certain not to be.
    """
    if sorted_values.size == 0:
        return np.zeros_like(x)
    return sorted_values.searchsorted(x, side="left") / sorted_values.size


def done_within(sorted_values: np.ndarray, elapsed: np.ndarray, within: np.ndarray,
                overdue: np.ndarray | float) -> np.ndarray:
    """P(X <= e + w | X >= e) from sorted samples of X, one row per ``elapsed`` e and one column
    per ``within`` w; ``overdue`` where no sample lasted as long as e."""
    f_now = share_below(sorted_values, elapsed)[:, None]
    f_then = cdf(sorted_values, elapsed[:, None] + within[None, :])
    survive = 1.0 - f_now
    # (Dividing by at least 1e-9 changes nothing where survive > 1e-9, the only place it is used,
    # and spares a floating-point error state per call.)
    prob = np.where(survive > 1e-9, (f_then - f_now) / np.maximum(survive, 1e-9), overdue)
    return prob.clip(0.0, 1.0)


def conditional_sums(sorted_values: np.ndarray, elapsed: np.ndarray, within: np.ndarray,
                     overdue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of how many of the ``elapsed`` are done within each ``within``: the sums
    over rows of :func:`done_within` and of its Bernoulli variances (``overdue``: one per column)."""
    if kernel is None:
        return conditional_sums_numpy(sorted_values, elapsed, within, overdue)
    mu, var = np.empty(within.size), np.empty(within.size)
    kernel.conditional_sums(sorted_values, elapsed, within, overdue, mu, var)
    return mu, var


def conditional_sums_numpy(sorted_values: np.ndarray, elapsed: np.ndarray, within: np.ndarray,
                           overdue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prob = done_within(sorted_values, elapsed, within, overdue[None, :])
    return prob.sum(axis=0), (prob * (1 - prob)).sum(axis=0)


def ringing_sums(answer: np.ndarray, other: np.ndarray, ringing: np.ndarray, horizons: np.ndarray,
                 p: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of how many of the calls ringing for ``ringing`` seconds reach a person
    by each horizon ``h``: ``p·(G(r+h) - G(r-)) / (1 - p·G(r-) - (1-p)·H(r))`` per call, ``G``
    and ``H`` the sorted dial-to-answer and dial-to-end delays (``G(r-)``: strictly below ``r``,
    see :func:`share_below`).

    ``H`` is read at or below ``r``: a call at exactly its ring timeout is ending this instant.
    That makes it look like a likely answer where answers were seen later than the timeout (the
    "phantom answers" of docs/pacing.md), a small reserve the margins were sized with: reading
    ``H`` strictly below ``r`` as well put example-20's worst hour at 3.18% (16 of 503)."""
    if kernel is None:
        return ringing_sums_numpy(answer, other, ringing, horizons, p)
    mu, var = np.empty(horizons.size), np.empty(horizons.size)
    kernel.ringing_sums(answer, other, ringing, horizons, p, mu, var)
    return mu, var


def ringing_sums_numpy(answer: np.ndarray, other: np.ndarray, ringing: np.ndarray, horizons: np.ndarray,
                       p: float) -> tuple[np.ndarray, np.ndarray]:
    r = ringing[:, None]
    g_now, g_then = share_below(answer, r), cdf(answer, r + horizons[None, :])
    h_now = cdf(other, r)
    pending = np.maximum(1.0 - p * g_now - (1.0 - p) * h_now, 1e-6)
    q = (p * (g_then - g_now) / pending).clip(0.0, 1.0)
    return q.sum(axis=0), (q * (1 - q)).sum(axis=0)


def max_shortfall(base_mu: np.ndarray, base_var: np.ndarray, q_new: np.ndarray, cap: int) -> np.ndarray:
    """For k = 0..cap new calls, each reaching a person by horizon j with chance ``q_new[j]``: the
    largest expected shortfall over the horizons, ``max_j E[(base_j + Binomial(k, q_new[j]))+]``
    with each count taken as normal."""
    if kernel is None:
        return max_shortfall_numpy(base_mu, base_var, q_new, cap)
    out = np.empty(cap + 1)
    kernel.max_shortfall(base_mu, base_var, q_new, out)
    return out


def max_shortfall_numpy(base_mu: np.ndarray, base_var: np.ndarray, q_new: np.ndarray, cap: int) -> np.ndarray:
    k = np.arange(cap + 1, dtype=float)[:, None]
    kq = k * q_new
    return expected_shortfall(base_mu + kq, base_var + kq * (1 - q_new)).max(axis=1)
