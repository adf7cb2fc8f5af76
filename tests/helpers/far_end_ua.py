"""A second, independent pjsua2 user agent: the far end that *listens* to what callpact plays.

Run as its own process (pjsua allows one endpoint per process):

    python tests/helpers/far_end_ua.py OUT.wav [--tls CERT.pem KEY.pem]

It prints ``READY <sip port>`` once it listens on 127.0.0.1, answers the first
call, records what it hears with pjsua2's own AudioMediaRecorder (none of
callpact's media code is involved on this side), and exits when the call ends
or after 30 s.
"""

from __future__ import annotations

import sys
import time

import pjsua2 as pj


class FarEndCall(pj.Call):
    def __init__(self, account: pj.Account, call_id: int, out_path: str) -> None:
        super().__init__(account, call_id)
        self.out_path = out_path
        self.recorder: pj.AudioMediaRecorder | None = None
        self.done = False

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        if self.recorder is None:
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(self.out_path)
            self.getAudioMedia(-1).startTransmit(self.recorder)

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.done = True


class FarEndAccount(pj.Account):
    def __init__(self, out_path: str) -> None:
        super().__init__()
        self.out_path = out_path
        self.call: FarEndCall | None = None

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.call = FarEndCall(self, prm.callId, self.out_path)
        answer = pj.CallOpParam()
        answer.statusCode = 200
        self.call.answer(answer)


def main() -> int:
    out_path = sys.argv[1]
    tls = sys.argv[3:5] if len(sys.argv) >= 5 and sys.argv[2] == "--tls" else None
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.maxCalls = 4
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()
    tcfg = pj.TransportConfig()
    tcfg.port = 0
    tcfg.boundAddress = "127.0.0.1"
    if tls:
        tcfg.tlsConfig.certFile, tcfg.tlsConfig.privKeyFile = tls
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_TLS if tls else pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    acfg = pj.AccountConfig()
    acfg.idUri = "sip:far-end@127.0.0.1"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account = FarEndAccount(out_path)
    account.create(acfg)
    print("READY", ep.transportGetInfo(tid).localName.rsplit(":", 1)[1], flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (account.call and account.call.done):
        ep.libHandleEvents(10)
    # Objects first, then the library (pjsua aborts otherwise).
    if account.call is not None:
        account.call.recorder = None
        account.call = None
    account.shutdown()
    del account
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
