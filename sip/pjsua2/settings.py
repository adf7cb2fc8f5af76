"""The SIP trunk configuration (``config/sip.yaml``), read strictly.

A dialer that silently falls back to a default trunk, codec or rate limit when
a key is misspelt places calls nobody configured, so every key is checked and
unknown ones are refused with the file, line and key path (dialer/core/yamlconf.py).
The file holds one top-level ``sip:`` section so that it can share a file with
other settings later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.core.errors import ConfigError
from dialer.core.yamlconf import Section, load_yaml, load_yaml_text

TRANSPORTS = ("udp", "tcp", "tls")
KNOWN_CODECS = ("PCMA", "PCMU", "G722", "GSM", "speex")
_HOST_RE = r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]"
_SIP_URI_RE = r"sips?:[^\s<>\"]+"
_TRUNK_URI_RE = re.compile(r"^sips?:(?:[^@\s]+@)?(" + _HOST_RE + r")(?::(\d{1,5}))?(?:;transport=(\w+))?$")


@dataclass(frozen=True)
class TrunkConfig:
    host: str
    port: int = 5060
    transport: str = "udp"
    username: str | None = None
    password: str | None = None
    realm: str = "*"
    register: bool = False
    outbound_proxy: str | None = None
    allows_refer: bool = True        # blind transfer by REFER; false: bridge a second leg ourselves
    tls_ca_file: str | None = None   # CA certificates (PEM) that sign the trunk's TLS certificate
    tls_verify_server: bool = True   # refuse a TLS trunk whose certificate does not verify

    def uri_for(self, user: str) -> str:
        """The request URI that dials ``user`` (a number) through this trunk."""
        # sip: with transport=tls rather than sips: (which would demand TLS end to end, a sips
        # Contact included); this is what trunks expect.
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{user}@{self.host}:{self.port}{suffix}"


@dataclass(frozen=True)
class CallerIdConfig:
    number: str | None = None        # default caller ID when a request brings none
    display_name: str = ""
    p_asserted_identity: bool = True # also send P-Asserted-Identity (trusted trunks show it)


@dataclass(frozen=True)
class AmdConfig:
    """Answering-machine detection (audio/amd.py, app_amd-style) limits for calls through this trunk."""

    enabled: bool = True
    max_greeting_s: float = 2.0      # a greeting longer than this: a machine
    after_greeting_silence_s: float = 0.7  # a short greeting followed by this much silence: a person
    decide_within_s: float = 5.0     # undecided after this: treated as a person


@dataclass(frozen=True)
class SipConfig:
    trunk: TrunkConfig
    caller_id: CallerIdConfig = field(default_factory=CallerIdConfig)
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    bind_address: str = "0.0.0.0"
    sip_port: int = 5060             # 0: any free port (tests)
    rtp_port_start: int = 10000
    rtp_port_count: int = 2000
    max_calls: int = 200
    calls_per_second: float = 10.0
    dead_air_s: float = 10.0         # hang up an answered call that never sent RTP within this
    default_region: str = "NL"       # to read national caller numbers on inbound calls
    agents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # queue -> agent SIP URIs
    amd: AmdConfig = field(default_factory=AmdConfig)
    inband_dtmf: str = "auto"        # auto: detect tones only when telephone-event was not negotiated
    user_agent: str = "callpact"
    log_level: int = 1               # pjsua's own log level (0-6) on stderr
    source: str = ""


def trunk_from_uri(uri: str) -> TrunkConfig:
    """``sip:HOST:PORT[;transport=tcp]`` as given on the command line."""
    match = _TRUNK_URI_RE.match(uri.strip())
    if not match:
        raise ConfigError(f"{uri!r} is not a trunk address like sip:192.0.2.10:5060", where="--trunk")
    host, port, transport = match.group(1), match.group(2), (match.group(3) or "udp").lower()
    if transport not in TRANSPORTS:
        raise ConfigError(f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}", where="--trunk")
    port_number = int(port) if port else (5061 if transport == "tls" else 5060)
    if not 1 <= port_number <= 65535:
        raise ConfigError(f"port {port_number} is out of range 1-65535", where="--trunk")
    return TrunkConfig(host=host.strip("[]"), port=port_number, transport=transport)


def load_sip_config(path: str | Path) -> SipConfig:
    return _build(load_yaml(path), str(path))


def sip_config_from_document(data: Any, source: str) -> SipConfig:
    """The ``sip:`` section of a file already loaded (whose ``tts:`` section is read by its own reader)."""
    return _build(data, source)


def parse_sip_config(text: str, source: str) -> SipConfig:
    return _build(load_yaml_text(text, source), source)


_TOP_KEYS = ("trunk", "caller_id", "codecs", "local", "max_calls", "calls_per_second", "dead_air_timeout",
             "default_region", "agents", "amd", "inband_dtmf", "user_agent", "log_level")


def _build(data: Any, source: str) -> SipConfig:
    root = Section(data, source)
    top = root.section("sip", required=True)
    trunk = _read_trunk(top.section("trunk", required=True))
    caller = top.section("caller_id")
    number = caller.string("number", None, pattern=r"\+[1-9]\d{5,14}",
                           hint="an E.164 number like \"+31201234567\" (quote it)")
    caller_id = CallerIdConfig(number=number, display_name=caller.string("display_name", ""),
                               p_asserted_identity=caller.boolean("p_asserted_identity", True))
    caller.finish(("number", "display_name", "p_asserted_identity"))
    codecs = tuple(top.items("codecs", lambda path, v: _codec(top, path, v), ["PCMA", "PCMU"]))
    if not codecs:
        raise top.error("codecs", "name at least one codec, e.g. [PCMA, PCMU]")
    local = top.section("local")
    bind = local.string("bind", "0.0.0.0")
    sip_port = local.number("sip_port", 5060, minimum=0, maximum=65535, integer=True)
    rtp_start = local.number("rtp_port_start", 10000, minimum=1024, maximum=65000, integer=True)
    rtp_count = local.number("rtp_port_count", 2000, minimum=2, maximum=60000, integer=True)
    if rtp_start + rtp_count > 65536:
        raise local.error("rtp_port_count", f"ports {rtp_start}..{rtp_start + rtp_count - 1} pass 65535")
    local.finish(("bind", "sip_port", "rtp_port_start", "rtp_port_count"))
    max_calls = top.number("max_calls", 200, minimum=1, maximum=512, integer=True)
    if rtp_count < 2 * max_calls:
        raise top.error("max_calls", f"{max_calls} calls need {2 * max_calls} RTP ports (RTP and RTCP), "
                                     f"local.rtp_port_count is {rtp_count}")
    cps = top.number("calls_per_second", 10.0, minimum=0.1, maximum=500)
    dead_air = top.duration("dead_air_timeout", 10.0, minimum=1, maximum=300)
    region = top.string("default_region", "NL", pattern=r"[A-Z]{2}", hint="a country code like NL")
    agents = _read_agents(top.section("agents"))
    amd = _read_amd(top.section("amd"))
    inband_dtmf = top.choice("inband_dtmf", ("auto", "always", "never"), "auto")
    user_agent = top.string("user_agent", "callpact")
    log_level = top.number("log_level", 1, minimum=0, maximum=6, integer=True)
    top.finish(_TOP_KEYS)
    root.raw("tts", None)            # the prompts' voices beside the trunk, read by audio.tts_config
    root.finish(("sip", "tts"))
    return SipConfig(trunk=trunk, caller_id=caller_id, codecs=codecs, bind_address=bind, sip_port=sip_port,
                     rtp_port_start=rtp_start, rtp_port_count=rtp_count, max_calls=max_calls,
                     calls_per_second=cps, dead_air_s=dead_air, default_region=region, agents=agents,
                     amd=amd, inband_dtmf=inband_dtmf, user_agent=user_agent, log_level=log_level,
                     source=source)


def _read_trunk(sec: Section) -> TrunkConfig:
    host = sec.string("host", pattern=_HOST_RE, hint="a host name or IP address")
    transport = sec.choice("transport", TRANSPORTS, "udp")
    port = sec.number("port", 5061 if transport == "tls" else 5060, minimum=1, maximum=65535, integer=True)
    username = sec.string("username", None)
    password = sec.string("password", None)
    if (username is None) != (password is None):
        raise sec.error("password" if username else "username",
                        "digest authentication needs both username and password")
    realm = sec.string("realm", "*")
    register = sec.boolean("register", False)
    if register and username is None:
        raise sec.error("register", "registration needs username and password")
    proxy = sec.string("outbound_proxy", None, pattern=_SIP_URI_RE,
                       hint="a SIP URI like sip:proxy.example:5060")
    allows_refer = sec.boolean("allows_refer", True)
    ca_file = sec.string("tls_ca_file", None)
    if ca_file is not None and not Path(ca_file).is_file():
        raise sec.error("tls_ca_file", f"{ca_file!r} is not a readable file")
    verify = sec.boolean("tls_verify_server", True)
    sec.finish(("host", "port", "transport", "username", "password", "realm", "register", "outbound_proxy",
                "allows_refer", "tls_ca_file", "tls_verify_server"))
    return TrunkConfig(host=host.strip("[]"), port=port, transport=transport, username=username,
                       password=password, realm=realm, register=register, outbound_proxy=proxy,
                       allows_refer=allows_refer, tls_ca_file=ca_file, tls_verify_server=verify)


def _codec(sec: Section, path: str, value: Any) -> str:
    if not isinstance(value, str) or value not in KNOWN_CODECS:
        raise ConfigError(f"{sec.key_path(path)}: {value!r} is not a codec this build has; "
                          f"choose from {', '.join(KNOWN_CODECS)}", where=sec.where("codecs"))
    return value


def _read_agents(sec: Section) -> dict[str, tuple[str, ...]]:
    agents: dict[str, tuple[str, ...]] = {}
    for queue in sec.remaining_keys():
        def uri(path: str, value: Any, queue: str = queue) -> str:
            if not isinstance(value, str) or not re.fullmatch(_SIP_URI_RE, value):
                raise ConfigError(f"{sec.key_path(path)}: {value!r} is not a SIP URI like sip:agent1@pbx",
                                  where=sec.where(queue))
            return value
        uris = tuple(sec.items(queue, uri))
        if not uris:
            raise sec.error(queue, "list at least one agent SIP URI")
        agents[queue] = uris
    return agents


def _read_amd(sec: Section) -> AmdConfig:
    enabled = sec.boolean("enabled", True)
    greeting = sec.duration("max_greeting", 2.0, minimum=0.5, maximum=10)
    silence = sec.duration("after_greeting_silence", 0.7, minimum=0.2, maximum=5)
    within = sec.duration("decide_within", 5.0, minimum=1, maximum=15)
    sec.finish(("enabled", "max_greeting", "after_greeting_silence", "decide_within"))
    return AmdConfig(enabled=enabled, max_greeting_s=greeting, after_greeting_silence_s=silence,
                     decide_within_s=within)
