"""tools/asterisk-testbed writes a loopback-only configuration from config/asterisk/ (no Asterisk run)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_testbed() -> ModuleType:
    script = str(ROOT / "tools" / "asterisk-testbed")
    loader = importlib.machinery.SourceFileLoader("asterisk_testbed_tool", script)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


PORTS = {"ami_port": 41001, "sip_port": 41002, "debtor_port": 41003, "agent_port": 41004,
         "audiosocket_port": 41005, "rtp_start": 30000}


def test_every_listener_is_on_loopback_and_points_at_the_test_peers(tmp_path: Path) -> None:
    tool = load_testbed()
    tool.write_config(tmp_path, Path("/opt/fake-asterisk"), PORTS)
    etc = tmp_path / "etc"
    pjsip = (etc / "pjsip.conf").read_text()
    manager = (etc / "manager.conf").read_text()
    extensions = (etc / "extensions.conf").read_text()
    assert re.findall(r"^bind = (.*)$", pjsip, re.M) == ["127.0.0.1:41002"]
    assert "bindaddr = 127.0.0.1" in manager and "port = 41001" in manager
    assert "contact = sip:127.0.0.1:41003" in pjsip                 # the trunk: sipp as the debtor
    assert "contact = sip:agent1@127.0.0.1:41004" in pjsip          # agent1: sipp as the agent
    assert "media_address = 127.0.0.1" in pjsip and "sip.provider.example" not in pjsip
    assert "CALLPACT_AUDIOSOCKET = 127.0.0.1:41005" in extensions
    assert "rtpstart = 30000" in (etc / "rtp.conf").read_text()
    assert f"astetcdir => {etc}" in (etc / "asterisk.conf").read_text()


def test_a_shipped_config_the_testbed_cannot_rewrite_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = load_testbed()
    fake = tmp_path / "config"
    fake.mkdir()
    for conf in (ROOT / "config" / "asterisk").glob("*.conf"):
        (fake / conf.name).write_text(conf.read_text())
    (fake / "pjsip.conf").write_text((fake / "pjsip.conf").read_text().replace("bind = 0.0.0.0:5060",
                                                                                "bind = 10.1.1.1:5060"))
    monkeypatch.setattr(tool, "CONFIG", fake)
    with pytest.raises(tool.TestbedError, match=r"pjsip.conf: expected 'bind = 0.0.0.0:5060'"):
        tool.write_config(tmp_path / "out", Path("/opt/fake-asterisk"), PORTS)
