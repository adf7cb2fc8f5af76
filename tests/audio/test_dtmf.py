"""In-band DTMF on generated keypad tones (numpy and sox), through µ-law, in noise, and on
rendered speech and synthetic music, which must give no digit at all."""

from __future__ import annotations

import audioop
import shutil

import numpy as np
import pytest

from audio import labelled, tones
from audio.dtmf import DtmfDetector, DtmfParams
from dialer.core.media import FRAME_BYTES, split_frames

ALL_KEYS = "0123456789*#ABCD"


def detect(pcm: bytes, params: DtmfParams | None = None, frame_bytes: int = FRAME_BYTES) -> str:
    detector = DtmfDetector(params)
    out: list[str] = []
    if frame_bytes == FRAME_BYTES:
        frames = split_frames(pcm)
    else:
        frames = [pcm[i:i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]
    for frame in frames:
        out += detector.feed(frame)
    return "".join(out)


def ulaw_round_trip(pcm: bytes) -> bytes:
    return audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)


def test_all_sixteen_keys_clean_and_through_ulaw() -> None:
    pcm = tones.dtmf_sequence(ALL_KEYS, on_ms=80, off_ms=80, lead_ms=30)
    assert detect(pcm) == ALL_KEYS
    assert detect(ulaw_round_trip(pcm)) == ALL_KEYS
    assert detect(audioop.alaw2lin(audioop.lin2alaw(pcm, 2), 2)) == ALL_KEYS


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is installed by make setup")
def test_keys_generated_by_sox() -> None:
    pcm = b""
    for key in "159#0*D":
        low, high = tones.DTMF_FREQUENCIES[key]
        pcm += labelled.sox_synth(0.07, "sine", str(low), "sine", "mix", str(high), "vol", "0.4")
        pcm += tones.silence(60)
    assert detect(ulaw_round_trip(pcm)) == "159#0*D"


def test_shortest_valid_tones_and_gaps_40_ms_at_every_alignment() -> None:
    for lead_ms in (0, 3, 7, 11, 15, 19):
        pcm = tones.dtmf_sequence(ALL_KEYS, on_ms=40, off_ms=40, lead_ms=lead_ms)
        assert detect(ulaw_round_trip(pcm)) == ALL_KEYS, lead_ms


def test_repeated_digits_are_each_counted() -> None:
    assert detect(tones.dtmf_sequence("1111", on_ms=45, off_ms=45)) == "1111"
    assert detect(tones.dtmf_sequence("0099##", on_ms=60, off_ms=50)) == "0099##"


def test_a_long_press_counts_once_even_with_a_short_dropout() -> None:
    held = tones.dtmf("5", 1500)
    assert detect(held) == "5"
    dropout = tones.dtmf("7", 200) + tones.silence(10) + tones.dtmf("7", 200)
    assert detect(dropout) == "7"


@pytest.mark.parametrize("twist_db", [6.0, -6.0, 4.0, -4.0])
def test_twist_within_six_db_is_accepted(twist_db: float) -> None:
    pcm = tones.dtmf_sequence(ALL_KEYS, on_ms=50, off_ms=50, twist_db=twist_db)
    assert detect(ulaw_round_trip(pcm)) == ALL_KEYS


def test_excessive_twist_is_rejected() -> None:
    assert detect(tones.dtmf_sequence("123", on_ms=80, off_ms=80, twist_db=14.0)) == ""
    assert detect(tones.dtmf_sequence("123", on_ms=80, off_ms=80, twist_db=-14.0)) == ""


@pytest.mark.parametrize("snr_db", [12.0, 20.0])
def test_keys_in_white_noise(snr_db: float) -> None:
    pcm = tones.dtmf_sequence(ALL_KEYS, on_ms=50, off_ms=50, level_dbm0=-20, lead_ms=20)
    # each tone at -20 dBm0: the pair is 3 dB louder than either
    hiss = tones.noise(labelled.duration_s(pcm) * 1000, level_dbm0=-17 - snr_db, seed=11)
    assert detect(ulaw_round_trip(labelled.mix(pcm, hiss))) == ALL_KEYS


def test_quiet_keys_are_heard_and_too_quiet_ones_are_not() -> None:
    assert detect(ulaw_round_trip(tones.dtmf_sequence(ALL_KEYS, 50, 50, level_dbm0=-28))) == ALL_KEYS
    assert detect(ulaw_round_trip(tones.dtmf_sequence(ALL_KEYS, 50, 50, level_dbm0=-42))) == ""


def test_too_short_tones_are_ignored() -> None:
    assert detect(tones.dtmf_sequence("123", on_ms=15, off_ms=60)) == ""


def test_single_tones_and_three_tone_chords_are_not_keys() -> None:
    assert detect(tones.sine(697, 500) + tones.sine(1209, 500)) == ""
    chord = (np.frombuffer(tones.dtmf("1", 500, level_dbm0=-12), "<i2").astype(np.int32)
             + np.frombuffer(tones.sine(1000, 500, level_dbm0=-12), "<i2"))
    assert detect(chord.astype("<i2").tobytes()) == ""


def test_frames_of_any_size_give_the_same_keys() -> None:
    pcm = tones.dtmf_sequence("4*7#", on_ms=60, off_ms=60)
    assert detect(pcm, frame_bytes=240) == "4*7#"
    assert detect(pcm, frame_bytes=1000) == "4*7#"


def test_detection_time_is_recorded_shortly_after_the_tone_starts() -> None:
    detector = DtmfDetector()
    for frame in split_frames(tones.silence(500) + tones.dtmf("9", 100)):
        detector.feed(frame)
    (key, at_s), = detector.detected
    assert key == "9" and 0.5 < at_s <= 0.56


@pytest.fixture(scope="module")
def speech() -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run `make setup`")
    return labelled.speech_corpus(minutes=3.0)


def test_three_minutes_of_speech_give_no_digit(speech: bytes) -> None:
    assert labelled.duration_s(speech) >= 180
    assert detect(speech) == ""
    assert detect(ulaw_round_trip(speech)) == ""


def test_synthetic_music_gives_no_digit() -> None:
    music = labelled.music_corpus()
    assert labelled.duration_s(music) > 30
    assert detect(ulaw_round_trip(music)) == ""


def test_keys_pressed_over_speech_are_still_heard(speech: bytes) -> None:
    keys = tones.dtmf_sequence("0812", on_ms=70, off_ms=300, level_dbm0=-8, lead_ms=500)
    talk = labelled.scale_to_dbm0(speech[: len(keys)], -26)
    assert detect(ulaw_round_trip(labelled.mix(keys, talk))) == "0812"


def test_bad_synth_arguments_give_a_clear_error_not_a_shell_command() -> None:
    with pytest.raises(labelled.RenderError, match="sox failed"):
        labelled.sox_synth(0.1, "notawave; touch /tmp/callpact-pwned")


def _off_key(key: str, low_offset: float, high_offset: float) -> bytes:
    low, high = tones.DTMF_FREQUENCIES[key]
    t = np.arange(640) / 8000
    amp = tones.dbm0_to_amplitude(-10)
    x = (amp * np.sin(2 * np.pi * low * (1 + low_offset) * t)
         + amp * np.sin(2 * np.pi * high * (1 + high_offset) * t))
    return x.astype("<i2").tobytes() + tones.silence(80)


@pytest.mark.parametrize("offsets", [(0.015, 0.015), (-0.015, -0.015), (0.015, -0.015), (-0.015, 0.015),
                                     (0.01, 0.0)])
def test_tones_within_one_and_a_half_percent_are_accepted(offsets: tuple[float, float]) -> None:
    assert detect(b"".join(_off_key(k, *offsets) for k in ALL_KEYS)) == ALL_KEYS


@pytest.mark.parametrize("offsets", [(0.035, 0.0), (0.0, -0.035), (-0.035, -0.035), (0.05, 0.05)])
def test_tones_three_and_a_half_percent_off_are_rejected(offsets: tuple[float, float]) -> None:
    assert detect(b"".join(_off_key(k, *offsets) for k in ALL_KEYS)) == ""
