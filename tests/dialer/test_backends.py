"""dialer/backends.py: every backend built one way, from its kind and its settings, connected.

The real backends take their prompts' voices from a ``tts:`` section in their own settings file,
so a SIP deployment chooses its voices the way an Asterisk one does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.backends import SimSettings, open_backend, read_sip_file
from dialer.core.errors import ConfigError
from dialer.core.telephony import CallEventKind, HangupCause, OriginateRequest, Prompt
from dialer.core.virtual_time import run_virtual
from sip.pjsua2.backend import pjsua2_available

DEAD = "+31612345678"


def test_the_simulated_network_comes_connected_with_its_agents_and_dead_lines() -> None:
    async def day() -> tuple[str, int, HangupCause | None]:
        backend = await open_backend("sim", sim=SimSettings(agents=3, dead_numbers=frozenset({DEAD})))
        call = await backend.telephony.originate(OriginateRequest(
            attempt_id="a1", number=DEAD, caller_id="+31201234567", ring_timeout_s=30.0))
        cause = None
        async for event in call.events():
            if event.kind is CallEventKind.HANGUP:
                cause = event.cause
        free = backend.telephony.agents.snapshot().idle
        await backend.telephony.close()
        return backend.where, free, cause

    where, free, cause = run_virtual(day())
    assert where == "the simulated network (3 agents)"
    assert free == 3                                  # three agents logged in, waiting
    assert cause is HangupCause.INVALID_NUMBER          # the network says the line is disconnected


async def test_an_unknown_kind_or_a_missing_file_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'pbx'; choose from sim, sip, asterisk"):
        await open_backend("pbx")
    with pytest.raises(ConfigError, match=r"^--backend sip needs --backend-config FILE\.yaml"):
        await open_backend("sip")
    with pytest.raises(ConfigError, match=r"^--backend asterisk needs --backend-config FILE\.yaml"):
        await open_backend("asterisk")


SIP_WITH_VOICES = """\
sip:
  trunk:
    host: 127.0.0.1
  local:
    bind: 127.0.0.1
    sip_port: 0
tts:
  voices:
    en:
      engine: flite
      voice: slt
  cache_dir: renders            # relative to this file
"""


@pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh")
async def test_a_tts_section_in_the_sip_file_chooses_the_voices_the_sip_backend_speaks_with(
        tmp_path: Path) -> None:
    path = tmp_path / "sip.yaml"
    path.write_text(SIP_WITH_VOICES)
    backend = await open_backend("sip", config=path)
    sip = backend.telephony
    try:
        assert backend.where == "the SIP trunk 127.0.0.1:5060"
        renderer = sip.renderer                                      # type: ignore[attr-defined]
        english = renderer.config.voice_for("en")
        assert (english.engine, english.voice) == ("flite", "slt")
        assert renderer.config.voice_for("nl").engine == "espeak-ng"      # the built-in voice stays
        pcm = await sip.render(Prompt("Please press one.", "en"))        # type: ignore[attr-defined]
        assert len(pcm) > 8000
        assert len(list((tmp_path / "renders").rglob("*"))) >= 1          # rendered into the file's cache
    finally:
        await sip.close()


def test_a_bad_tts_key_in_the_sip_file_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "sip.yaml"
    path.write_text(SIP_WITH_VOICES.replace("engine: flite", "engine: flit"))
    with pytest.raises(ConfigError, match=r"sip\.yaml, line 10: tts\.voices\.en\.engine: 'flit' is not "):
        read_sip_file(path)


def test_a_sip_file_without_tts_gets_the_built_in_voices(tmp_path: Path) -> None:
    path = tmp_path / "sip.yaml"
    path.write_text("sip:\n  trunk:\n    host: 127.0.0.1\n")
    cfg, tts = read_sip_file(path)
    assert cfg.trunk.host == "127.0.0.1"
    assert tts.voice_for("nl").engine == "espeak-ng" and tts.voice_for("en").engine == "flite"
