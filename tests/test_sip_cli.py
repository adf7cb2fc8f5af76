"""`callpact call` refuses bad input with one clear line (no call is placed, no traceback)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sip.pjsua2_backend import pjsua2_available

CALLPACT = Path(sys.executable).parent / "callpact"


def call(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CALLPACT), "call", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "message"), [
    (("--to", "0612345678", "--trunk", "http://x"), "--trunk: 'http://x' is not a trunk address"),
    (("--to", "12", "--trunk", "sip:127.0.0.1:5999"), "--to 12:"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", "{nope"), "--debtor: not valid JSON"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", "[1]"), "--debtor: must be a JSON"),
    (("--to", "0612345678",), "name the trunk with --trunk"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--flow", "no_such_flow"), "no_such_flow"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", '{"amount_due": "lots"}'),
     "amount_due 'lots'"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", '{"nmae": "x"}'), "unknown field 'nmae'"),
])
def test_bad_arguments_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    done = call(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_bad_sip_config_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "sip.yaml"
    bad.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n    transprt: tcp\n")
    done = call("--to", "0612345678", "--sip-config", str(bad))
    assert done.returncode == 2
    assert f"{bad}, line 4: sip.trunk.transprt: unknown key" in done.stderr


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
def test_local_sip_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        cfg = tmp_path / "sip.yaml"
        cfg.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n"
                       f"  local:\n    bind: 127.0.0.1\n    sip_port: {port}\n")
        done = call("--to", "0612345678", "--sip-config", str(cfg))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"SIP stack did not start on 127.0.0.1:{port} (udp): Address already in use" in lines[0]


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
async def test_dialer_backend_starts_from_a_sip_file_and_listens(tmp_path: Path) -> None:
    from dialer.errors import CallpactError
    from sip.pjsua2_backend import start_sip_backend
    cfg = tmp_path / "sip.yaml"
    cfg.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n  local:\n    bind: 127.0.0.1\n    sip_port: 0\n")
    telephony = await start_sip_backend(str(cfg))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, pytest.raises(OSError):
            probe.bind(("127.0.0.1", telephony.local_port))      # our SIP port is really taken
    finally:
        await telephony.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n  max_calls: 0\n")
    with pytest.raises(CallpactError, match=r"line 4: sip\.max_calls: must be at least 1"):
        await start_sip_backend(str(bad))


async def test_sip_backend_prepares_prompts_in_the_render_cache(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's prepare_prompts hook: after it, answering a call does not wait for synthesis."""
    from sip.pjsua2_backend import Pjsua2Telephony
    from sip.sip_config import SipConfig, TrunkConfig
    from sip.telephony import Prompt
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    telephony = Pjsua2Telephony(SipConfig(trunk=TrunkConfig(host="127.0.0.1")))
    assert telephony.renders_prompts
    prompt = Prompt("Goedemiddag, dit is een test.", "nl")
    await telephony.prepare_prompts([prompt])
    renderer = telephony._prompt_renderer()
    assert renderer.cache_stats().entries == 1
    pcm = await telephony.render(prompt)
    assert len(pcm) > 8000 and renderer.cache_stats().entries == 1     # served from the cache
    await telephony.close()
