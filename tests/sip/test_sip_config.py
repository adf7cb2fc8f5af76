"""The SIP trunk configuration, the SIP response mapping and the far end's audio captures.

Pure logic: no pjsua, no network.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pytest
from helpers.rtp_pcap import RtpStream, pcap_bytes

from dialer.core.errors import ConfigError
from dialer.core.telephony import HangupCause
from sip.pjsua2.backend import amd_params, header_value, mask_log_text, number_from_header
from sip.pjsua2.outcomes import CallHistory, hangup_cause
from sip.pjsua2.settings import AmdConfig, load_sip_config, parse_sip_config, trunk_from_uri

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "sip.yaml"


def test_shipped_example_reads_with_pcma_first() -> None:
    cfg = load_sip_config(EXAMPLE)
    assert cfg.codecs[:2] == ("PCMA", "PCMU")
    assert cfg.trunk.transport == "udp"
    assert cfg.agents["collections"][0] == "sip:agent1@pbx.example.net"


def test_minimal_file_gets_defaults() -> None:
    cfg = parse_sip_config("sip:\n  trunk:\n    host: 192.0.2.10\n", "t.yaml")
    assert (cfg.trunk.host, cfg.trunk.port) == ("192.0.2.10", 5060)
    assert (cfg.max_calls, cfg.calls_per_second) == (200, 10)
    assert cfg.trunk.uri_for("+31612345678") == "sip:+31612345678@192.0.2.10:5060"


@pytest.mark.parametrize(("text", "expected"), [
    ("sip:\n  trunk:\n    host: h\n    prot: 5060\n", "t.yaml, line 4: sip.trunk.prot: unknown key"),
    ("sip:\n  trunk:\n    host: h\n    transport: sctp\n", "sip.trunk.transport: 'sctp' is not allowed"),
    ("sip:\n  trunk:\n    host: h\n    username: u\n", "needs both username and password"),
    ("sip:\n  trunk:\n    host: h\n  codecs: [PCMA, opus]\n", "sip.codecs[1]: 'opus' is not a codec"),
    ("sip:\n  trunk:\n    host: h\n  max_calls: 900\n", "sip.max_calls: must be at most 512"),
    ("sip:\n  trunk:\n    host: h\n  caller_id:\n    number: 0201234567\n", "sip.caller_id.number"),
    ("sip:\n  trunk:\n    host: h\n  local:\n    rtp_port_count: 100\n", "200 calls need 400 RTP ports"),
    ("trunk:\n  host: h\n", "sip: required key is missing"),
    ("sip:\n  trunk:\n    host: h\n    transport: tls\n    tls_ca_file: /no/such.pem\n",
     "t.yaml, line 5: sip.trunk.tls_ca_file: '/no/such.pem' is not a readable file"),
])
def test_bad_configuration_names_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sip_config(text, "t.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("t.yaml")


def test_trunk_uri_from_the_command_line() -> None:
    trunk = trunk_from_uri("sip:127.0.0.1:5070;transport=tcp")
    assert (trunk.host, trunk.port, trunk.transport) == ("127.0.0.1", 5070, "tcp")
    assert trunk_from_uri("sip:carrier.example").port == 5060
    with pytest.raises(ConfigError, match="--trunk: 'http://x' is not a trunk address"):
        trunk_from_uri("http://x")


@pytest.mark.parametrize(("code", "history", "cause"), [
    (486, CallHistory(trunk_responded=True), HangupCause.BUSY),
    (600, CallHistory(trunk_responded=True), HangupCause.BUSY),
    (404, CallHistory(trunk_responded=True), HangupCause.INVALID_NUMBER),
    (484, CallHistory(trunk_responded=True), HangupCause.INVALID_NUMBER),
    (604, CallHistory(trunk_responded=True), HangupCause.INVALID_NUMBER),
    (480, CallHistory(trunk_responded=True), HangupCause.NO_ANSWER),
    (408, CallHistory(trunk_responded=True), HangupCause.NO_ANSWER),
    (408, CallHistory(), HangupCause.FAILED),                      # no response at all: trunk down
    (487, CallHistory(trunk_responded=True, cancelled_at_ring_timeout=True), HangupCause.NO_ANSWER),
    (487, CallHistory(trunk_responded=True, hung_up_locally=True), HangupCause.LOCAL),
    (403, CallHistory(trunk_responded=True), HangupCause.FAILED),
    (503, CallHistory(trunk_responded=True), HangupCause.FAILED),
    (500, CallHistory(trunk_responded=True), HangupCause.FAILED),
    (200, CallHistory(answered=True, trunk_responded=True), HangupCause.NORMAL),
    (200, CallHistory(answered=True, trunk_responded=True, hung_up_locally=True), HangupCause.LOCAL),
])
def test_sip_responses_map_to_outcomes(code: int, history: CallHistory, cause: HangupCause) -> None:
    assert hangup_cause(code, history) is cause


def test_caller_numbers_from_headers_become_e164() -> None:
    assert number_from_header('"Jan" <sip:0612345678@10.0.0.1>;tag=x', "NL") == "+31612345678"
    assert number_from_header("<tel:+31612345678>", "NL") == "+31612345678"
    assert number_from_header("<sip:anonymous@anonymous.invalid>", "NL") == "anonymous"
    message = "INVITE sip:x SIP/2.0\r\nf: <sip:1@h>\r\nP-Asserted-Identity: <sip:2@h>\r\n\r\nbody"
    assert header_value(message, "From", "f") == "<sip:1@h>"
    assert header_value(message, "P-Asserted-Identity") == "<sip:2@h>"
    assert header_value(message, "To", "t") == ""


def test_pjsua_log_lines_are_masked() -> None:
    assert mask_log_text("Making call with uri sip:+31612345678@trunk") == \
        "Making call with uri sip:+31*******78@trunk"


def test_trunk_amd_limits_reach_the_detector() -> None:
    params = amd_params(AmdConfig(max_greeting_s=2.5, after_greeting_silence_s=0.9, decide_within_s=4.0))
    limits = (params.greeting_ms, params.after_greeting_silence_ms, params.total_analysis_ms)
    assert limits == (2500, 900, 4000)


def test_capture_audio_is_the_reference_alaw() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    pcm = struct.pack("<8h", 0, 1, -1, 1000, -1000, 32767, -32768, 12345) * 20     # one 20 ms frame
    stream = RtpStream().audio(pcm)
    assert stream.packets is not None and len(stream.packets) == 1
    assert stream.packets[0][1][12:] == audioop.lin2alaw(pcm, 2)                      # after the RTP header


def test_capture_carries_rtp_audio_and_rfc4733_digits() -> None:
    stream = RtpStream().silence(0.04).digit("5", duration_ms=40)
    assert stream.packets is not None
    payload_types = [p[1] & 0x7F for _, p in stream.packets]
    assert payload_types == [8, 8, 101, 101, 101, 101, 101]
    assert stream.packets[2][1][12] == 5                            # the event is digit 5
    assert stream.packets[-1][1][13] & 0x80                         # end bit on the last packets
    capture = pcap_bytes(stream.packets)
    assert capture[:4] == struct.pack("<I", 0xA1B2C3D4)
    assert len(capture) == 24 + sum(16 + 14 + 20 + 8 + len(p) for _, p in stream.packets)
