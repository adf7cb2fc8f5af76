"""Several Asterisk servers behind one campaign: placement, channel limits, a server left out.

The servers are scripted AMI peers on loopback (see test_ami_connection.FakeAmi) that answer Originate
the way Asterisk 22 does; the real-Asterisk behaviour is in test_asterisk_integration.
"""

from __future__ import annotations

import pytest
from test_ami_connection import FakeAmi

from sip.asterisk.backend import AsteriskTelephony
from sip.asterisk.settings import AsteriskServer, AsteriskSettings
from sip.telephony import OriginateError, OriginateRequest


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
