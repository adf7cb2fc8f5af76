"""What several test folders share: real peers and recorded traffic, never fakes of callpact itself.

- :mod:`helpers.sip_peers` — sipp scenarios as far ends, on free loopback ports.
- :mod:`helpers.far_end_ua` — a second pjsua2 phone in its own process (a real SIP UA, for media).
- :mod:`helpers.asterisk_testbed` — a real Asterisk built by ``tools/asterisk-testbed``, started per test.
- :mod:`helpers.asterisk_fixtures` — AMI and AudioSocket traffic recorded from Asterisk 22.
- :mod:`helpers.rtp_pcap` — RTP streams from and to pcap files, to hear what crossed the wire.
- :mod:`helpers.cli` — the `callpact` command in-process against the real Redis, and its one-line errors.
"""
