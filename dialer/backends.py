"""The one place that builds a telephony backend from its kind and its settings, connected.

``callpact dialer``, ``callpact call``, the demo and the tests all get their backend here, so
the three kinds are assembled one way: the simulated network with its answer-rate profile,
the SIP trunk from a file's ``sip:`` section and the Asterisk servers from its ``backend:``
section. For both real backends a ``tts:`` section in the same file chooses the prompts'
voices; the renderer is built here and given to the backend, which never picks voices itself.
Every problem is one line (file, line, key; or why the backend did not start).

This is the application layer: it imports the backends (``sip``) and ``audio``, never
``dialer.simulation``; what the simulated debtors say (a respondent) is passed in by the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio.prompts import PromptRenderer
from audio.tts_config import TTSConfig, tts_config_from_section
from dialer.core.errors import CallpactError, ConfigError
from dialer.core.telephony import OriginateError, Telephony
from dialer.core.yamlconf import Section, load_yaml
from sip.distributions import Fixed, LogNormal
from sip.simulated import NetworkProfile, Respondent, SimulatedAgents, SimulatedNetwork

if TYPE_CHECKING:
    from sip.asterisk.backend import AsteriskTelephony
    from sip.pjsua2.backend import Pjsua2Telephony
    from sip.pjsua2.settings import SipConfig

KINDS = ("sim", "sip", "asterisk")


@dataclass(frozen=True)
class SimSettings:
    """The simulated network's knobs; the rest of its profile is the Dutch-mobile one below."""

    agents: int = 10
    answer_prob: float = 0.35
    seed: int = 1
    respondent: Respondent | None = None      # who answers the IVR (the demo's FlowRespondent); None: keys
    dead_numbers: frozenset[str] = frozenset()  # disconnected lines: the network says so
    max_lines: int | None = None
    callback_prob: float = 0.0                # share of missed calls the debtor calls back later


@dataclass(frozen=True)
class Backend:
    """A connected backend, and the words the dialer's start line uses for it."""

    telephony: Telephony
    where: str


async def open_backend(kind: str, *, config: Path | None = None, sim: SimSettings | None = None) -> Backend:
    """The connected backend of ``kind``: ``sim`` from ``sim``, ``sip`` and ``asterisk`` from ``config``."""
    if kind == "asterisk":
        asterisk = await open_asterisk(config)
        return Backend(asterisk, f"Asterisk ({', '.join(s.name for s in asterisk.settings.servers)})")
    if kind == "sip":
        sip = await open_sip(config)
        return Backend(sip, f"the SIP trunk {sip.cfg.trunk.host}:{sip.cfg.trunk.port}")
    if kind == "sim":
        settings = sim or SimSettings()
        return Backend(await open_sim(settings), f"the simulated network ({settings.agents} agents)")
    raise ConfigError(f"unknown backend {kind!r}; choose from {', '.join(KINDS)}")


# -- the simulated network ------------------------------------------------------------------------
def sim_network(settings: SimSettings) -> SimulatedNetwork:
    """Dutch mobile answer rates, two-and-a-half-minute conversations, debtors who understand the
    shipped flows (with a respondent) and sometimes call back a call they missed."""
    profile = NetworkProfile(
        answer_prob=settings.answer_prob,
        machine_share=0.2,
        busy_prob=0.05,
        failed_prob=0.01,
        ring_s=LogNormal(mean=12.0, sd=6.0),
        amd_s=Fixed(1.5),
        invalid_numbers=settings.dead_numbers,
        callback_prob=settings.callback_prob,
        callback_delay_s=LogNormal(mean=1800.0, sd=1500.0),
        barge_in_share=0.15 if settings.respondent else 0.0,
    )
    desk = SimulatedAgents(settings.agents, talk_s=LogNormal(mean=150.0, sd=80.0), wrap_s=Fixed(10.0),
                           seed=settings.seed)
    return SimulatedNetwork(profile, desk, seed=settings.seed, max_lines=settings.max_lines,
                            respondent=settings.respondent)


async def open_sim(settings: SimSettings) -> SimulatedNetwork:
    network = sim_network(settings)
    await network.start()
    return network


# -- the prompts' voices ----------------------------------------------------------------------------
def _tts_config(data: Any, path: Path) -> TTSConfig:
    """The file's ``tts:`` section (relative paths from the file's folder), or the built-in voices."""
    if not isinstance(data, dict) or "tts" not in data:
        return TTSConfig()
    return tts_config_from_section(Section(data, str(path)).section("tts"), path.parent)


# -- SIP (pjsua2) ---------------------------------------------------------------------------------
def read_sip_file(path: Path) -> tuple[SipConfig, TTSConfig]:
    """The trunk (``sip:``) and the voices (``tts:``) of a SIP settings file, both read strictly."""
    from sip.pjsua2.settings import sip_config_from_document

    data = load_yaml(path)
    return sip_config_from_document(data, str(path)), _tts_config(data, path)


def sip_telephony(cfg: SipConfig, tts: TTSConfig | None = None) -> Pjsua2Telephony:
    """The SIP backend with its prompt renderer, not started (``callpact call`` starts it itself)."""
    from sip.pjsua2.backend import Pjsua2Telephony

    return Pjsua2Telephony(cfg, renderer=PromptRenderer(tts or TTSConfig()))


async def open_sip(path: Path | None) -> Pjsua2Telephony:
    """The backend for ``callpact dialer --backend sip``, started."""
    if path is None:
        raise ConfigError("--backend sip needs --backend-config FILE.yaml (with a 'sip:' section, "
                          "see config/sip.yaml)")
    telephony = sip_telephony(*read_sip_file(path))
    try:
        await telephony.start()
    except OriginateError as exc:
        raise CallpactError(str(exc)) from None
    return telephony


# -- Asterisk (AMI + AudioSocket) -------------------------------------------------------------------
async def open_asterisk(path: Path | None) -> AsteriskTelephony:
    """The Asterisk backend from a YAML file's ``backend:`` section, connected."""
    from sip.asterisk.backend import AsteriskTelephony
    from sip.asterisk.settings import settings_from_mapping

    if path is None:
        raise ConfigError("--backend asterisk needs --backend-config FILE.yaml (with a 'backend:' section)")
    data = load_yaml(path)
    section = data.get("backend") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigError("no 'backend:' section", where=str(path))
    tts = _tts_config(data, path)
    try:
        settings = settings_from_mapping(section, "backend", env=os.environ)
    except ValueError as exc:
        raise ConfigError(str(exc), where=str(path)) from None
    renderer = PromptRenderer(tts)
    telephony = AsteriskTelephony(settings, render=renderer.render, prerender=renderer.prerender,
                                  release=renderer.close)
    try:
        await telephony.start()
    except OriginateError as exc:
        renderer.close()
        raise CallpactError(f"cannot use Asterisk: {exc}") from None
    return telephony
