"""The supply chain: `make setup` installs only what requirements.lock pins, by version and hash.

A dependency added to pyproject.toml but not locked would be installed by nobody (setup installs
with --no-deps) and fail at import on a fresh machine; an unhashed line would make pip refuse the
whole lock. Both are caught here, before CI's fresh machine does it the slow way.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    """PEP 503 normalised project name of a requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def locked(lock: str) -> dict[str, str]:
    """Locked name -> the whole entry (requirement line and its hash lines)."""
    entries: dict[str, str] = {}
    current = None
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            current = _name(line)
            assert current not in entries, f"{current} is locked twice"
            entries[current] = line
        else:
            assert current is not None, line
            entries[current] += "\n" + line
    return entries


@pytest.mark.parametrize("lock, extras", [("requirements.lock", ()), ("requirements-test.lock", ("test",))])
def test_every_dependency_of_pyproject_is_locked_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(r for e in extras for r in project["optional-dependencies"][e])]
    entries = locked(lock)
    missing = sorted({_name(r) for r in wanted} - entries.keys())
    assert not missing, f"in pyproject.toml but not in {lock} (run `make lock`): {missing}"
    for name, entry in entries.items():
        assert re.search(r"^[A-Za-z0-9._-]+==\S+", entry), f"{name} is not pinned to one version"
        assert "--hash=sha256:" in entry, f"{name} has no hash"
    assert {"pip", "setuptools"} <= entries.keys(), "the installer and build backend are locked too"


def test_the_image_runs_the_versions_the_tests_ran() -> None:
    """The Docker image's lock pins every package to the version the test lock pins (the tests ran those)."""
    runtime, test = locked("requirements.lock"), locked("requirements-test.lock")
    for name, entry in runtime.items():
        assert entry.split()[0] == test[name].split()[0], f"{name}: the image and the tests differ"


def test_setup_installs_the_lock_with_hashes_and_stops_on_errors() -> None:
    setup = (ROOT / "tools" / "setup.sh").read_text(encoding="utf-8")
    pip_lines = [line for line in setup.splitlines() if "pip install" in line]
    assert any("--require-hashes" in line for line in pip_lines), pip_lines
    assert "-r requirements-test.lock" in setup
    image = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r /app/requirements.lock" in image
    assert all("|| true" not in line for line in pip_lines), "a pip install whose failure is ignored"
    assert all("--upgrade pip" not in line for line in pip_lines), "pip itself comes from the lock"
