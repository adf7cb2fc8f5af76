"""Answering-machine detection (app_amd's rules) and the voicemail beep detector, on synthetic
signals with known timing and on a labelled set of espeak-ng-rendered call openings."""

from __future__ import annotations

import shutil

import pytest

from audio import labelled, tones
from audio.amd import APP_AMD_DEFAULTS, TUNED, AmdParams, AmdVerdict, AnsweringMachineDetector
from audio.amd_scoring import find_beep, run_amd, score, ulaw
from audio.beep import BeepDetector
from dialer.core.media import split_frames

VOICE = -20.0   # dBm0: a tone this loud is "voice" to app_amd's amplitude rule


def test_silence_after_answer_is_a_machine_after_the_initial_silence() -> None:
    result = run_amd(tones.silence(6000), APP_AMD_DEFAULTS)
    assert result.verdict is AmdVerdict.MACHINE
    assert (result.cause, result.decided_ms) == ("INITIALSILENCE-2500-2500", 2500)


def test_a_short_hello_then_waiting_is_human() -> None:
    result = run_amd(tones.silence(300) + tones.sine(300, 500, VOICE) + tones.silence(3000), APP_AMD_DEFAULTS)
    assert (result.verdict, result.cause) == (AmdVerdict.HUMAN, "HUMAN-800-800")
    assert result.decided_ms == 300 + 500 + 800


def test_continuous_talk_is_a_long_greeting() -> None:
    result = run_amd(tones.silence(200) + tones.sine(300, 4000, VOICE), APP_AMD_DEFAULTS)
    assert (result.verdict, result.cause, result.decided_ms) == (AmdVerdict.MACHINE, "LONGGREETING-1500-1500",
                                                                 1700)


def test_three_words_are_a_machine_under_app_amd_defaults_but_not_the_tuned_set() -> None:
    word, pause = tones.sine(300, 200, VOICE), tones.silence(150)
    pcm = word + pause + word + pause + word + tones.silence(3000)
    assert run_amd(pcm, APP_AMD_DEFAULTS).cause == "MAXWORDS-3-3"
    assert run_amd(pcm, TUNED).verdict is AmdVerdict.HUMAN


def test_nothing_decisive_within_the_analysis_time_is_notsure() -> None:
    params = AmdParams(total_analysis_ms=1000)
    result = run_amd(tones.silence(3000), params)
    assert (result.verdict, result.cause, result.decided_ms) == (AmdVerdict.NOTSURE, "TOOLONG-1000", 1000)


def test_hangup_before_a_decision_is_notsure_with_the_time_analysed() -> None:
    detector = AnsweringMachineDetector()
    for frame in split_frames(tones.silence(400)):
        assert detector.feed(frame) is None
    result = detector.give_up()
    assert (result.verdict, result.cause, result.decided_ms) == (AmdVerdict.NOTSURE, "HANGUP-400", 400)
    assert detector.feed(bytes(320)) is None       # decided once, stays decided


def test_configuration_errors_name_the_parameter() -> None:
    assert AmdParams.from_mapping({"greeting_ms": 1800}).greeting_ms == 1800
    with pytest.raises(ValueError, match=r"campaign\.amd: unknown AMD parameter\(s\) greting_ms"):
        AmdParams.from_mapping({"greting_ms": 1800}, where="campaign.amd")
    with pytest.raises(ValueError, match=r"amd\.max_words: must be a positive whole number, not '3'"):
        AmdParams.from_mapping({"max_words": "3"})


# -- beep ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("hz", [400.0, 440.0, 1000.0, 1400.0, 2000.0])
def test_beeps_across_the_band_are_found_where_they_start(hz: float) -> None:
    pcm = tones.silence(1000) + tones.sine(hz, 200, -20) + tones.silence(500)
    detector = BeepDetector()
    hits = [detector.feed(frame) for frame in split_frames(ulaw(pcm))]
    assert hits.count(True) == 1
    assert detector.found_at_s == pytest.approx(1.0, abs=0.021)
    assert detector.frequency_hz == pytest.approx(hz, abs=16)


def test_a_beep_in_line_noise_is_found() -> None:
    pcm = tones.silence(700) + tones.sine(1000, 300, -20)
    noisy = labelled.mix(pcm, tones.noise(1000, level_dbm0=-40, seed=4))
    assert find_beep(ulaw(noisy)) == pytest.approx(0.7, abs=0.021)


def test_short_tones_out_of_band_tones_sweeps_and_dtmf_are_not_beeps() -> None:
    assert find_beep(tones.silence(200) + tones.sine(1000, 100, -20) + tones.silence(300)) is None
    assert find_beep(tones.sine(2600, 500, -20)) is None
    assert find_beep(tones.sine(250, 500, -20)) is None
    assert find_beep(tones.dtmf_sequence("1590", on_ms=300, off_ms=100)) is None
    assert find_beep(labelled.sox_synth(3.0, "sine", "400-2000", "vol", "0.3")) is None


# -- the rendered labelled set -------------------------------------------------------------------

@pytest.fixture(scope="module")
def openings() -> list[labelled.Opening]:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run `make setup`")
    return labelled.amd_openings()


def test_the_labelled_set_has_every_kind_of_answer(openings: list[labelled.Opening]) -> None:
    kinds = [o.truth for o in openings]
    assert kinds.count("human") >= 12 and kinds.count("machine") >= 10
    assert {"silence", "noise"} <= set(kinds)
    machine_lengths = [labelled.duration_s(o.pcm) for o in openings if o.truth == "machine"]
    assert min(machine_lengths) >= 4.0


def test_app_amd_defaults_catch_every_machine_but_hang_up_on_some_people(
        openings: list[labelled.Opening]) -> None:
    s = score("app_amd", openings, APP_AMD_DEFAULTS)
    assert s.missed_machine == 0
    assert s.accuracy >= 0.75
    assert s.false_machine_rate <= 0.40     # measured 5/16: people who answer with a sentence


def test_the_tuned_set_hangs_up_on_at_most_one_person_in_sixteen(openings: list[labelled.Opening]) -> None:
    s = score("tuned", openings, TUNED)
    assert s.false_machine_rate <= 1 / 16
    assert s.missed_machine_rate <= 1 / 12
    assert s.accuracy >= 0.9
    assert s.mean_decision_ms < 4000       # decided well before the 5 s analysis limit


def test_beeps_after_machine_greetings_are_found_close_to_where_they_start(
        openings: list[labelled.Opening]) -> None:
    s = score("tuned", openings, TUNED)
    assert s.beeps >= 6 and s.beeps_found == s.beeps
    assert max(s.beep_error_ms) <= 40
    for opening in openings:
        if opening.truth == "machine" and opening.beep_at_s is None:
            assert find_beep(ulaw(opening.pcm)) is None, opening.name


def test_three_minutes_of_speech_and_music_contain_no_beep() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run `make setup`")
    assert find_beep(ulaw(labelled.speech_corpus(minutes=3.0))) is None
    assert find_beep(ulaw(labelled.music_corpus())) is None


def test_the_tuned_set_carries_over_to_the_held_out_set() -> None:
    """Other texts, flite voices, other speeds and a -45 dBm0 line: nothing was tuned on these."""
    held_out = labelled.amd_openings(held_out=True)
    tuned, defaults = score("tuned", held_out, TUNED), score("app_amd", held_out, APP_AMD_DEFAULTS)
    assert tuned.false_machine_rate <= 1 / 12 and tuned.missed_machine_rate <= 1 / 12   # measured 0 and 0
    assert tuned.false_machine <= defaults.false_machine                               # measured 0 vs 2
    assert tuned.beeps_found == tuned.beeps
