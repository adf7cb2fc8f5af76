"""Callers back through the Asterisk backend, with a scripted AMI peer and a real AudioSocket client.

The order race is the point here: the AudioSocket session may reach callpact before the AMI UserEvent
that says who is calling (real Asterisk end to end: test_asterisk_integration).
"""

from __future__ import annotations

import asyncio
import uuid

from test_ami_connection import FakeAmi

from dialer.core.media import SILENCE_FRAME
from dialer.core.telephony import Call, Inbound, Prompt
from sip.asterisk.audiosocket import KIND_AUDIO, KIND_UUID, FrameDecoder, encode
from sip.asterisk.backend import AsteriskTelephony
from sip.asterisk.settings import AsteriskServer, AsteriskSettings


def inbound_event(media_uuid: str, channel: str) -> bytes:
    return (f"Event: UserEvent\r\nUserEvent: CallpactInbound\r\nUniqueid: {channel}\r\n"
            f"MediaUuid: {media_uuid}\r\nCaller: 0612345678\r\nCallerName: Jan Jansen\r\n"
            "Dialled: 0202101234\r\n\r\n").encode()


async def start(fake: FakeAmi) -> AsteriskTelephony:
    port = await fake.start()
    server = AsteriskServer(name="pbx1", ami_port=port, secret="s")
    telephony = AsteriskTelephony(AsteriskSettings(servers=(server,), connect_timeout_s=3))
    await telephony.start()
    return telephony


async def test_media_first_then_the_event_reaches_the_handler_with_e164_numbers() -> None:
    fake = FakeAmi(queue_originates=True)
    telephony = await start(fake)
    seen: asyncio.Queue[tuple[Inbound, bool]] = asyncio.Queue()

    async def handler(call: Call, inbound: Inbound) -> None:
        result = await call.play(Prompt("welkom", audio=b"\x01\x02" * 800))     # 0.1 s = 5 frames
        await seen.put((inbound, bool(result and result.completed)))

    telephony.set_inbound_handler(handler)
    media_uuid = str(uuid.uuid4())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", telephony.audiosocket.port)
        writer.write(encode(KIND_UUID, uuid.UUID(media_uuid).bytes))       # the media comes first
        await writer.drain()
        await asyncio.sleep(0.2)
        fake.writers[0].write(inbound_event(media_uuid, "1700000000.7"))
        inbound, completed = await asyncio.wait_for(seen.get(), 10)
        got, decoder = [], FrameDecoder()
        while sum(1 for k, p in got if k == KIND_AUDIO and p != SILENCE_FRAME) < 5:
            got += decoder.feed(await asyncio.wait_for(reader.read(4096), 5))
        for _ in range(100):                     # the handler returned: the backend hangs up
            if any(name == "Hangup" for _, name in fake.actions):
                break
            await asyncio.sleep(0.05)
        writer.close()
    finally:
        await telephony.close()
        await fake.close()
    assert (inbound.caller, inbound.dialled, inbound.caller_name) == ("+31612345678", "+31202101234",
                                                                       "Jan Jansen")
    assert inbound.call_id == "1700000000.7"
    assert completed
    assert any(name == "Hangup" for _, name in fake.actions)


async def test_without_a_handler_the_caller_is_refused() -> None:
    fake = FakeAmi(queue_originates=True)
    telephony = await start(fake)
    try:
        fake.writers[0].write(inbound_event(str(uuid.uuid4()), "1700000000.8"))
        for _ in range(100):
            if any(name == "Hangup" for _, name in fake.actions):
                break
            await asyncio.sleep(0.05)
    finally:
        await telephony.close()
        await fake.close()
    assert [name for _, name in fake.actions].count("Hangup") == 1


async def test_a_caller_back_put_through_to_an_agent_is_left_to_them() -> None:
    """The handler returns once the agent answers; callpact must not hang up on the pair."""
    fake = FakeAmi(queue_originates=True)
    telephony = await start(fake)
    taken: asyncio.Queue[str | None] = asyncio.Queue()

    async def handler(call: Call, inbound: Inbound) -> None:
        await taken.put(await call.connect_agent("collections", 10, {"campaign": "it"}))

    telephony.set_inbound_handler(handler)
    channel = "1700000000.9"
    try:
        fake.writers[0].write(inbound_event(str(uuid.uuid4()), channel))
        for _ in range(100):                      # connect_agent has sent its Redirect
            if any(name == "Redirect" for _, name in fake.actions):
                break
            await asyncio.sleep(0.05)
        fake.writers[0].write(f"Event: AgentConnect\r\nUniqueid: {channel}\r\n"
                              "MemberName: Agent One\r\n\r\n".encode())
        agent = await asyncio.wait_for(taken.get(), 10)
        await asyncio.sleep(0.5)                  # the old code hung up within milliseconds
        hangups_while_talking = [name for _, name in fake.actions].count("Hangup")
        fake.writers[0].write(f"Event: Hangup\r\nUniqueid: {channel}\r\nCause: 16\r\n\r\n".encode())
        server = next(iter(telephony.servers.values()))
        for _ in range(100):                      # the agent's hangup ends the call on our side too
            if channel not in server.calls:
                break
            await asyncio.sleep(0.05)
    finally:
        await telephony.close()
        await fake.close()
    assert agent == "Agent One"
    assert hangups_while_talking == 0
    assert channel not in server.calls
