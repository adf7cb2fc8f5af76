"""The Asterisk backend's settings: which servers, how callpact reaches them, how calls are placed.

Read from the ``backend:`` section of callpact's backend file (see README "Running next to Asterisk");
every mistake is a ValueError whose one line names the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AsteriskServer:
    """One Asterisk server callpact may dial through."""

    name: str
    host: str = "127.0.0.1"
    ami_port: int = 5038
    username: str = "callpact"
    secret: str = ""
    #: Dial string; ``{number}`` is the E.164 number (``+`` kept), ``{digits}`` the same without ``+``.
    dial: str = "PJSIP/{digits}@trunk"
    max_channels: int = 30
    calls_per_second: float = 5.0
    #: Where this Asterisk reaches callpact's AudioSocket server (default: the server's own address).
    audiosocket_address: str = ""


@dataclass(frozen=True)
class AsteriskSettings:
    servers: tuple[AsteriskServer, ...]
    outbound_context: str = "callpact-outbound"
    agent_context: str = "callpact-agents"
    #: Who tells a person from a machine before the answer is reported: "dialplan" (Asterisk's AMD()),
    #: "audio" (callpact's own AMD on the AudioSocket stream), or "none" (every answer is a person).
    amd: str = "none"
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 0
    queues: tuple[str, ...] = ()
    #: Seconds to wait for the AudioSocket session of an answered call before giving up on media.
    media_timeout_s: float = 5.0
    #: Seconds to keep trying the first AMI login (Asterisk may still be starting, e.g. under compose).
    connect_timeout_s: float = 10.0
    #: Seconds an Originate waits for a lost AMI connection to come back before the call is refused.
    reconnect_wait_s: float = 10.0
    #: AudioSocket connections served at once; 0: twice the servers' max_channels together (a call
    #: back from the agent queue reconnects while its first session may still be closing).
    audiosocket_max_connections: int = 0

    @property
    def audiosocket_limit(self) -> int:
        return self.audiosocket_max_connections or 2 * sum(s.max_channels for s in self.servers)


def settings_from_mapping(data: Mapping[str, Any], where: str = "backend",
                          env: Mapping[str, str] | None = None) -> AsteriskSettings:
    """Settings from a config mapping (the ``backend:`` section); ValueError with a one-line reason.

    A server's AMI secret may be given as ``secret_env: NAME`` (read from the environment) so that it
    stays out of files that are committed or mounted.
    """
    env = env or {}
    kind = data.get("kind", "asterisk")
    if kind != "asterisk":
        raise ValueError(f"{where}: kind must be 'asterisk', not {kind!r}")
    servers_raw = data.get("servers")
    if not isinstance(servers_raw, Sequence) or isinstance(servers_raw, str) or not servers_raw:
        raise ValueError(f"{where}: 'servers' must be a non-empty list of Asterisk servers")
    fields = AsteriskServer.__dataclass_fields__
    servers = []
    for i, raw in enumerate(servers_raw):
        here = f"{where}.servers[{i}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{here}: must be a mapping (name, host, ami_port, username, secret...)")
        values = dict(raw)
        if "secret_env" in values:
            name = str(values.pop("secret_env"))
            if name not in env:
                raise ValueError(f"{here}: secret_env {name} is not set in the environment")
            values["secret"] = env[name]
        unknown = set(values) - set(fields)
        if unknown:
            raise ValueError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}")
        values.setdefault("name", f"asterisk{i + 1}")
        for key in ("ami_port", "max_channels"):
            if key in values and (not isinstance(values[key], int) or values[key] <= 0):
                raise ValueError(f"{here}.{key}: must be a positive whole number, not {values[key]!r}")
        if "calls_per_second" in values and (not isinstance(values["calls_per_second"], (int, float))
                                             or values["calls_per_second"] <= 0):
            raise ValueError(f"{here}.calls_per_second: must be a positive number")
        dial = str(values.get("dial", "{digits}"))
        if "{number}" not in dial and "{digits}" not in dial:
            raise ValueError(f"{here}.dial: must contain {{number}} or {{digits}} "
                             "(e.g. PJSIP/{digits}@trunk)")
        if not values.get("secret"):
            raise ValueError(f"{here}: no AMI secret (give secret or secret_env)")
        servers.append(AsteriskServer(**{k: (str(v) if fields[k].type == "str" else v)
                                         for k, v in values.items()}))
    names = [s.name for s in servers]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}.servers: server names must be unique")
    rest = {k: v for k, v in data.items() if k not in ("servers", "kind")}
    known = set(AsteriskSettings.__dataclass_fields__) - {"servers"}
    unknown = set(rest) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if rest.get("amd", "none") not in ("none", "dialplan", "audio"):
        raise ValueError(f"{where}.amd: must be 'none', 'dialplan' or 'audio', not {rest.get('amd')!r}")
    limit = rest.get("audiosocket_max_connections", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"{where}.audiosocket_max_connections: must be a positive whole number "
                         f"(or 0 for twice the servers' max_channels), not {limit!r}")
    if "queues" in rest:
        queues = rest["queues"]
        if isinstance(queues, str) or not isinstance(queues, Sequence):
            raise ValueError(f"{where}.queues: must be a list of queue names")
        rest["queues"] = tuple(str(q) for q in queues)
    return AsteriskSettings(servers=tuple(servers), **rest)
