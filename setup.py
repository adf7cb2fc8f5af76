"""The one compiled part: the pacing policy's per-element sums (dialer/pacing/sums.py says why).

Optional: where no C compiler is found the install goes on, and the policy uses numpy's
identical arithmetic instead, a few times slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "dialer.pacing._pacing_kernel",
    sources=["dialer/pacing/_pacing_kernel.c"],
    extra_compile_args=["-ffp-contract=off"],    # no fused multiply-add: the same bits as numpy
    optional=True,
)])
