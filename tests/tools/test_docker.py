"""docker/: the compose file is accepted by compose, and it, the Dockerfiles, backend.yaml and
config/asterisk/ agree with each other (ports, users, secrets, mounted files).

No Docker engine here: images are not built; ``compose config`` validates without one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sip.asterisk.settings import settings_from_mapping

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
CONFIG = ROOT / "config" / "asterisk"


def compose_command() -> list[str]:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither the docker compose plugin nor docker-compose is installed (make setup installs "
                "Debian's docker-compose)")


@pytest.mark.slow
def test_compose_accepts_the_file_and_wires_the_three_services() -> None:
    env = {**os.environ, "CALLPACT_AMI_SECRET": "s3cret-from-env"}
    proc = subprocess.run([*compose_command(), "-f", str(DOCKER / "compose.yaml"), "config"],
                          capture_output=True, text=True, env=env, cwd=DOCKER, timeout=60)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    services = resolved["services"]
    assert set(services) == {"redis", "asterisk", "callpact"}
    assert services["callpact"]["environment"]["CALLPACT_AMI_SECRET"] == "s3cret-from-env"
    assert services["callpact"]["environment"]["REDIS_URL"].startswith("redis://127.0.0.1:")
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name} mounts {source}, which does not exist"
    mounted = {Path(v.split(":")[0]).name for v in services["asterisk"]["volumes"]}
    assert mounted == {p.name for p in CONFIG.glob("*.conf")}     # every shipped config is used


def test_dockerfiles_copy_only_what_exists() -> None:
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "asterisk" / "Dockerfile"):
        text = dockerfile.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            parts = line.split()
            if not parts or parts[0] != "COPY" or any(p.startswith("--from") for p in parts):
                continue
            for source in parts[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"


def test_backend_yaml_matches_the_asterisk_configuration() -> None:
    backend = yaml.safe_load((DOCKER / "backend.yaml").read_text())["backend"]
    settings = settings_from_mapping(backend, env={"CALLPACT_AMI_SECRET": "x"})
    server = settings.servers[0]
    manager = (CONFIG / "manager.conf").read_text()
    extensions = (CONFIG / "extensions.conf").read_text()
    pjsip = (CONFIG / "pjsip.conf").read_text()
    compose = (DOCKER / "compose.yaml").read_text()
    assert f"port = {server.ami_port}" in manager
    assert f"[{server.username}]" in manager
    assert re.search(r"CALLPACT_AMI_SECRET:-(\S+)}", compose).group(1) in manager   # default secret pair
    assert f"CALLPACT_AUDIOSOCKET = {settings.audiosocket_host}:{settings.audiosocket_port}" in extensions
    endpoint = server.dial.split("@")[-1]
    assert f"[{endpoint}](trunk-template)" in pjsip
    queues = (CONFIG / "queues.conf").read_text()
    assert all(f"[{q}]" in queues for q in settings.queues)


def test_the_ami_user_has_only_the_classes_callpact_needs() -> None:
    manager = (CONFIG / "manager.conf").read_text()
    section = manager.split("[callpact]", 1)[1]
    read = re.search(r"^read = (.*)$", section, re.M).group(1).split(",")
    write = re.search(r"^write = (.*)$", section, re.M).group(1).split(",")
    assert set(read) == {"call", "agent", "user"}
    assert set(write) == {"originate", "call", "reporting"}
    assert "bindaddr = 127.0.0.1" in manager and "permit = 127.0.0.1/255.255.255.255" in section
    assert "deny = 0.0.0.0/0.0.0.0" in section
