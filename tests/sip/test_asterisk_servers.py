"""Several Asterisk servers behind one campaign: placement, channel limits, a server left out.

The servers are scripted AMI peers on loopback (see test_ami_connection.FakeAmi) that answer Originate
the way Asterisk 22 does; the real-Asterisk behaviour is in test_asterisk_integration.
"""

from __future__ import annotations

import asyncio

import pytest
from test_ami_connection import FakeAmi

from dialer.core.telephony import CallEventKind, HangupCause, OriginateError, OriginateRequest
from sip.asterisk.backend import AsteriskTelephony
from sip.asterisk.settings import AsteriskServer, AsteriskSettings


def request(i: int) -> OriginateRequest:
    return OriginateRequest(attempt_id=f"a{i}", number="+31612345678", caller_id="+31202101234",
                            ring_timeout_s=20, variables={"campaign": "c"})


async def backend_for(fakes: list[FakeAmi], *, max_channels: int = 2, cps: float = 100.0,
                      secrets: list[str] | None = None) -> AsteriskTelephony:
    servers = []
    for i, fake in enumerate(fakes):
        port = await fake.start()
        servers.append(AsteriskServer(name=f"pbx{i + 1}", ami_port=port, username="callpact",
                                      secret=(secrets or ["s"] * len(fakes))[i], max_channels=max_channels,
                                      calls_per_second=cps))
    telephony = AsteriskTelephony(AsteriskSettings(servers=tuple(servers), connect_timeout_s=3))
    await telephony.start()
    return telephony


def originates(fake: FakeAmi) -> int:
    return sum(1 for _, name in fake.actions if name == "Originate")


async def test_calls_spread_over_servers_and_stop_at_their_channel_limits() -> None:
    fakes = [FakeAmi(queue_originates=True), FakeAmi(queue_originates=True)]
    telephony = await backend_for(fakes, max_channels=2)
    try:
        calls = [await telephony.originate(request(i)) for i in range(4)]
        assert [originates(f) for f in fakes] == [2, 2]
        with pytest.raises(OriginateError, match="no Asterisk server is connected with a free channel"):
            await telephony.originate(request(9))
        assert len({c.server.config.name for c in calls}) == 2
    finally:
        await telephony.close()
        for fake in fakes:
            await fake.close()


async def test_a_server_that_rejects_the_login_is_left_out_and_the_others_dial() -> None:
    fakes = [FakeAmi(accept_login=False), FakeAmi(queue_originates=True)]
    telephony = await backend_for(fakes)
    try:
        call = await telephony.originate(request(1))
        assert call.server.config.name == "pbx2"
        assert originates(fakes[0]) == 0 and originates(fakes[1]) == 1
    finally:
        await telephony.close()
        for fake in fakes:
            await fake.close()


async def test_no_server_at_all_is_an_error_naming_each() -> None:
    fakes = [FakeAmi(accept_login=False), FakeAmi(accept_login=False)]
    with pytest.raises(OriginateError, match=r"pbx1.*pbx2"):
        await backend_for(fakes)
    for fake in fakes:
        await fake.close()


async def test_the_calls_per_second_budget_sends_the_next_call_elsewhere() -> None:
    fakes = [FakeAmi(queue_originates=True), FakeAmi(queue_originates=True)]
    telephony = await backend_for(fakes, max_channels=10, cps=0.2)     # one call per 5 s per server
    try:
        await telephony.originate(request(1))
        await telephony.originate(request(2))
        assert [originates(f) for f in fakes] == [1, 1]
    finally:
        await telephony.close()
        for fake in fakes:
            await fake.close()


async def test_a_call_placed_while_the_only_server_reconnects_waits_for_it() -> None:
    fake = FakeAmi(queue_originates=True, drop_after_login=1)     # the first connection drops at once
    port = await fake.start()
    server = AsteriskServer(name="pbx1", ami_port=port, secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3))
    try:
        await telephony.start()
        state = next(iter(telephony.servers.values()))
        while state.ami.connected.is_set():                  # the drop has been seen
            await asyncio.sleep(0.01)
        call = await telephony.originate(request(1))        # waits, then goes out on the second connection
        assert call.server.ami.logins == 2
        assert originates(fake) == 1
    finally:
        await telephony.close()
        await fake.close()


async def test_a_call_is_refused_when_no_server_comes_back_in_time() -> None:
    fake = FakeAmi(queue_originates=True)
    port = await fake.start()
    server = AsteriskServer(name="pbx1", ami_port=port, secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3,
                                                   reconnect_wait_s=0.5))
    try:
        await telephony.start()
        await fake.close()                                   # Asterisk goes away for good
        state = next(iter(telephony.servers.values()))
        while state.ami.connected.is_set():
            await asyncio.sleep(0.02)
        with pytest.raises(OriginateError, match="no Asterisk server is connected"):
            await telephony.originate(request(2))
    finally:
        await telephony.close()


async def test_an_originate_lost_with_the_connection_is_ended_once_by_the_resync() -> None:
    fake = FakeAmi(queue_originates=True, drop_on_originate=1)   # Asterisk never answers that Originate
    port = await fake.start()
    server = AsteriskServer(name="pbx1", ami_port=port, secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3))
    try:
        await telephony.start()
        call = await telephony.originate(request(1))       # not refused: its fate is unknown yet
        events = [e async for e in call.events()]           # ... until the resync lists no such channel
    finally:
        await telephony.close()
        await fake.close()
    assert [(e.kind, e.cause) for e in events] == [(CallEventKind.HANGUP, HangupCause.FAILED)]
    assert "AMI was away" in events[0].detail
    assert originates(fake) == 1                             # and it was never sent again


async def test_an_originate_refused_by_a_stopping_asterisk_goes_out_after_its_restart() -> None:
    fake = FakeAmi(queue_originates=True, stopping_connections=1)
    port = await fake.start()
    server = AsteriskServer(name="pbx1", ami_port=port, secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3))
    try:
        await telephony.start()
        call = await telephony.originate(request(1))
        assert call.server.ami.logins == 2                     # placed on the new connection
        assert [c for c, name in fake.actions if name == "Originate"] == [1, 2]
    finally:
        await telephony.close()
        await fake.close()


async def test_closing_the_backend_frees_once_what_its_builder_gave_it() -> None:
    """The composition root hands the backend the prompt renderer's functions and its close: a dialer that
    stops must not leave the renderer's workers, engine processes and cache pruning running."""
    fake = FakeAmi()
    port = await fake.start()
    freed: list[str] = []
    server = AsteriskServer(name="pbx1", ami_port=port, username="callpact", secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3),
                                  release=lambda: freed.append("renderer"))
    try:
        await telephony.start()
        assert freed == []
        await telephony.close()
        await telephony.close()
        assert freed == ["renderer"]
    finally:
        await fake.close()
