"""The AMI connection's login, reconnect and no-resend rules, against a scripted AMI peer on loopback.

The peer answers with the bytes a real Asterisk 22.10.1 sent (tests/fixtures/asterisk/ami/a1, a2): its
banner, the delayed ``Authentication failed`` and the socket close that follows it. Real Asterisk is
driven by the slow integration tests.
"""

from __future__ import annotations

import asyncio

import pytest
from helpers.fake_ami import FakeAmi

from sip.asterisk.ami import AmiConnection, AmiDisconnected, AmiLoginError


async def test_wrong_secret_fails_start_once_and_never_retries() -> None:
    fake = FakeAmi(accept_login=False)
    port = await fake.start()
    conn = AmiConnection(host="127.0.0.1", port=port, username="callpact", secret="wrong")
    try:
        with pytest.raises(AmiLoginError, match="login as 'callpact' rejected: Authentication failed"):
            await conn.start(timeout_s=5)
        await asyncio.sleep(1.5)               # panoramisk alone would have reconnected by now
        assert fake.connections == 1
    finally:
        await conn.close()
        await fake.close()


async def test_unreachable_server_is_a_one_line_error() -> None:
    fake = FakeAmi()
    port = await fake.start()
    await fake.close()                         # nothing listens there any more
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s")
    with pytest.raises(Exception, match="no successful login within 2 s"):
        await conn.start(timeout_s=2)


async def test_reconnects_logs_in_again_and_reports_it_for_a_resync() -> None:
    fake = FakeAmi(drop_after_login=1)
    port = await fake.start()
    logins: list[bool] = []

    async def on_login(_conn: AmiConnection, again: bool) -> None:
        logins.append(again)

    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", on_login=on_login)
    try:
        await conn.start(timeout_s=5)
        for _ in range(100):
            if len(logins) >= 2 and conn.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert logins == [False, True]
        assert fake.connections == 2
        reply = await conn.send({"Action": "Ping"})
        assert reply.get("Ping") == "Pong"
    finally:
        await conn.close()
        await fake.close()


async def test_an_unanswered_originate_fails_on_disconnect_and_is_never_sent_again() -> None:
    fake = FakeAmi()
    port = await fake.start()
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s")
    try:
        await conn.start(timeout_s=5)
        pending = asyncio.ensure_future(conn.send({"Action": "Originate", "Channel": "PJSIP/x"}))
        while not any(name == "Originate" for _, name in fake.actions):
            await asyncio.sleep(0.01)
        fake.writers[0].close()                # Asterisk restarts before answering
        with pytest.raises(AmiDisconnected):
            await asyncio.wait_for(pending, 5)
        while fake.connections < 2 or not conn.connected.is_set():
            await asyncio.sleep(0.05)
        await conn.send({"Action": "Ping"})
        assert [c for c, name in fake.actions if name == "Originate"] == [1]
    finally:
        await conn.close()
        await fake.close()


async def test_debug_logging_never_shows_the_numbers_in_events(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeAmi()
    port = await fake.start()
    got: list = []
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", handler=got.append)
    caplog.set_level("DEBUG")
    try:
        await conn.start(timeout_s=5)
        fake.writers[0].write(b"Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\n"
                              b"CallerIDNum: +31612345678\r\nCallerIDName: Jan Jansen\r\n"
                              b"Uniqueid: u1\r\n\r\n")
        while not any(m.get("Event") == "Newchannel" for m in got):
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
        await fake.close()
    assert "+31612345678" not in caplog.text and "Jan Jansen" not in caplog.text


async def test_keepalive_finds_a_dead_connection_and_reconnects() -> None:
    fake = FakeAmi(mute_connections=1)        # TCP stays open but nothing answers: a stale NAT, a hung box
    port = await fake.start()
    logins: list[bool] = []

    async def on_login(_conn: AmiConnection, again: bool) -> None:
        logins.append(again)

    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", on_login=on_login,
                         ping_interval_s=0.3)
    try:
        await conn.start(timeout_s=5)
        for _ in range(200):
            if logins == [False, True]:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
        await fake.close()
    assert logins == [False, True]
    assert fake.connections == 2
