"""`callpact call` refuses bad input with one clear line (no call is placed, no traceback)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dialer.simulation.always_open import always_open_campaign
from sip.pjsua2.backend import pjsua2_available

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
    # the importer's own reasons, as an import of the same row would give them
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", '{"amount_due": "1.234,56"}'),
     "--debtor: amount_due '1.234,56' uses a thousands separator"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", '{"amount_due": "$ 10"}'),
     "--debtor: amount_due: the amount is in USD but the currency is EUR"),
    (("--to", "0612345678", "--trunk", "sip:h:5999", "--debtor", '{"language": "fr"}'),
     "--debtor: language 'fr' is not supported; use nl or en"),
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


@contextlib.contextmanager
def sip_config_on_a_taken_port(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A SIP settings file whose local port another socket holds: the SIP stack cannot start there."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        cfg = tmp_path / "sip.yaml"
        cfg.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n"
                       f"  local:\n    bind: 127.0.0.1\n    sip_port: {port}\n")
        yield cfg, port


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
def test_local_sip_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with sip_config_on_a_taken_port(tmp_path) as (cfg, port):
        done = call("--to", "0612345678", "--sip-config", str(cfg))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"SIP stack did not start on 127.0.0.1:{port} (udp): Address already in use" in lines[0]


@pytest.mark.parametrize(("given", "amount", "currency"), [
    ({"amount_due": "€ 45,20"}, Decimal("45.20"), "EUR"),
    ({"amount_due": "45,20", "currency": "usd"}, Decimal("45.20"), "USD"),
    ({"amount_due": Decimal("125.5")}, Decimal("125.50"), "EUR"),      # a JSON number, read exactly
    ({"language": "English"}, Decimal("0"), "EUR"),                    # nothing due unless given
])
def test_the_debtor_of_a_test_call_is_read_as_an_import_reads_it(given: dict, amount: Decimal,
                                                                  currency: str) -> None:
    from dialer.test_call import debtor_from_json
    debtor = debtor_from_json(given, "+31612345678")
    assert (debtor.amount_due, debtor.currency) == (amount, currency)
    assert debtor.phones == ("+31612345678",)
    assert debtor.language == ("en" if given.get("language") else "nl")


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
def test_an_amount_written_as_in_a_debtor_list_passes_the_debtor_check(tmp_path: Path) -> None:
    """`€ 45,20` is accepted: the command goes on to start the SIP stack (whose port is taken here)."""
    with sip_config_on_a_taken_port(tmp_path) as (cfg, port):
        done = call("--to", "0612345678", "--sip-config", str(cfg), "--debtor", '{"amount_due": "€ 45,20"}')
    assert done.returncode == 2, done.stderr
    assert "--debtor" not in done.stderr
    assert f"SIP stack did not start on 127.0.0.1:{port}" in done.stderr


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
async def test_dialer_backend_starts_from_a_sip_file_and_listens(tmp_path: Path) -> None:
    from dialer.backends import open_sip
    from dialer.core.errors import CallpactError
    cfg = tmp_path / "sip.yaml"
    cfg.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n  local:\n    bind: 127.0.0.1\n    sip_port: 0\n")
    telephony = await open_sip(cfg)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, pytest.raises(OSError):
            probe.bind(("127.0.0.1", telephony.local_port))      # our SIP port is really taken
    finally:
        await telephony.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n  max_calls: 0\n")
    with pytest.raises(CallpactError, match=r"line 4: sip\.max_calls: must be at least 1"):
        await open_sip(bad)


async def test_sip_backend_prepares_prompts_in_the_render_cache(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's prepare_prompts hook: after it, answering a call does not wait for synthesis."""
    from dialer.backends import sip_telephony
    from dialer.core.telephony import Prompt
    from sip.pjsua2.settings import SipConfig, TrunkConfig
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    telephony = sip_telephony(SipConfig(trunk=TrunkConfig(host="127.0.0.1")))
    assert telephony.renders_prompts
    prompt = Prompt("Goedemiddag, dit is een test.", "nl")
    await telephony.prepare_prompts([prompt])
    renderer = telephony.renderer
    assert renderer is not None
    assert renderer.cache_stats().entries == 1
    pcm = await telephony.render(prompt)
    assert len(pcm) > 8000 and renderer.cache_stats().entries == 1     # served from the cache
    await telephony.close()


DIALER_CAMPAIGN = always_open_campaign("sipday", dial_mode="agentless", caller_id="+31201234567",
                                       max_lines=2, calls_per_second=2)    # the default flow: the reminder


@pytest.mark.slow
@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
def test_the_dialer_process_runs_a_campaign_over_a_sip_trunk(tmp_path: Path, redis_url: str) -> None:
    """The whole product path: `callpact dialer --backend sip` claims a debtor, calls the trunk
    (sipp), runs the reminder flow on the real call and records the outcome with what the IVR heard."""
    import csv
    import json
    import re
    import signal
    import time

    from helpers.sip_peers import scenario, start_sipp
    from test_sip_pjsua2 import CALLER, RtpStream, speech, write_pcap

    def cli(*args: str) -> str:
        done = subprocess.run([str(CALLPACT), "--redis-url", redis_url, *args], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    (tmp_path / "sipday.yaml").write_text(DIALER_CAMPAIGN)
    (tmp_path / "debtors.csv").write_text("debtor_id,name,phone,amount_due,due_date\n"
                                          "D1,Jan de Vries,0612345678,125.50,2026-11-20\n")
    cli("campaign", "load", str(tmp_path / "sipday.yaml"))
    cli("import", str(tmp_path / "debtors.csv"), "--campaign", "sipday")
    pcap = write_pcap(tmp_path / "no.pcap", RtpStream().silence(0.3).audio(speech("Hallo?")).silence(4.0)
                      .digit("2").silence(8.0))                   # "2": I am not Jan de Vries
    sipp = start_sipp(scenario("uas_answer_audio.xml", tmp_path, caller=re.escape(CALLER),
                               attempt="sipday-[0-9]+", pcap=str(pcap)), tmp_path)
    sip_yaml = tmp_path / "sip.yaml"
    sip_yaml.write_text(f"sip:\n  trunk:\n    host: 127.0.0.1\n    port: {sipp.port}\n"
                        "  local:\n    bind: 127.0.0.1\n    sip_port: 0\n  amd:\n    enabled: false\n")
    cli("campaign", "start", "sipday")
    dialer = subprocess.Popen([str(CALLPACT), "--redis-url", redis_url, "dialer", "--backend", "sip",
                               "--backend-config", str(sip_yaml)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            status = json.loads(cli("campaign", "status", "sipday", "--json"))
            if status["attempts"] >= 1 and status["hopper"]["open_attempts"] == 0:
                break
            assert dialer.poll() is None, dialer.communicate()
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
    finally:
        dialer.send_signal(signal.SIGINT)
        out, err = dialer.communicate(timeout=60)
        sipp.stop()
    assert dialer.returncode == 0, err
    assert "on the SIP trunk 127.0.0.1" in out
    assert "0612345678" not in out + err and "Jan de Vries" not in out + err     # masked in logs
    cli("export", "sipday", "--out", str(tmp_path / "attempts.csv"))
    with (tmp_path / "attempts.csv").open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["outcome"] == "answered-human"
    assert row["ivr_outcome"] == "wrong-person"                    # the flow heard the "2"
    assert row["ivr_path"].startswith("greet>wrong_person")
