"""Speech recognisers restricted to the answers the current question accepts.

A flow node asks e.g. ``{"yes": ("yes", "yeah"), "agent": ("agent",)}`` and
perhaps digits; a recogniser may only return one of those phrases (a grammar),
never free dictation, so that "I paid last week" cannot turn into a promise.
Every recogniser returns a :class:`Recognition`: the matched choice (or None),
the text, a confidence, and spoken digits when digits were allowed.

- :class:`PocketSphinxRecognizer`: English; its acoustic model and dictionary
  ship inside the ``pocketsphinx`` wheel. Line audio is upsampled to 16 kHz
  first (the model's rate: it doubled accuracy in the trials). A JSGF grammar
  per question.
- :class:`VoskRecognizer`: any language a Kaldi model directory exists for
  (the deployment supplies Dutch); the grammar is vosk's JSON phrase list plus
  ``[unk]``, so off-grammar speech comes back as no-match. Takes 8 kHz.

Decoding is CPU-bound and synchronous; :mod:`audio.session` runs it in a
worker thread. Recognisers serialise their own use (a lock per instance).
"""

from __future__ import annotations

import abc
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.vad import Upsampler2x
from dialer.core.media import SAMPLE_RATE

Grammar = Mapping[str, Sequence[str]]

DIGIT_WORDS: dict[str, dict[str, str]] = {
    "en": {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
           "six": "6", "seven": "7", "eight": "8", "nine": "9"},
    "nl": {"nul": "0", "een": "1", "één": "1", "twee": "2", "drie": "3", "vier": "4", "vijf": "5",
           "zes": "6", "zeven": "7", "acht": "8", "negen": "9"},
}


class GrammarError(ValueError):
    """A grammar the recogniser cannot use (a word it does not know, odd characters, empty)."""


@dataclass(frozen=True)
class Recognition:
    choice: str | None           # the grammar choice, None on no-match
    text: str = ""
    confidence: float = 0.0
    digits: str = ""             # spoken digits, when the question allowed them

    @property
    def matched(self) -> bool:
        return self.choice is not None or bool(self.digits)


NO_MATCH = Recognition(None)

_PHRASE = re.compile(r"^[^\W\d_]+(?:['-][^\W\d_]+)*(?: [^\W\d_]+(?:['-][^\W\d_]+)*)*$")


def normalise_phrase(phrase: str, where: str) -> str:
    """Lower-case, single spaces; letters (any script), apostrophes and hyphens only."""
    text = " ".join(phrase.lower().split())
    if not text or not _PHRASE.match(text):
        raise GrammarError(f"{where}: phrase {phrase!r} must be words of letters only")
    return text


def phrase_table(grammar: Grammar) -> dict[str, str]:
    """normalised phrase -> choice; one phrase may not mean two choices."""
    table: dict[str, str] = {}
    for choice, phrases in grammar.items():
        if isinstance(phrases, str):
            raise GrammarError(f"grammar[{choice!r}]: phrases must be a list, not the string {phrases!r}")
        if not phrases:
            raise GrammarError(f"grammar[{choice!r}]: no phrases")
        for phrase in phrases:
            norm = normalise_phrase(phrase, f"grammar[{choice!r}]")
            if table.get(norm, choice) != choice:
                raise GrammarError(f"grammar: phrase {norm!r} means both {table[norm]!r} and {choice!r}")
            table[norm] = choice
    return table


def interpret(text: str, table: Mapping[str, str], language: str, digits: int,
              confidence: float) -> Recognition:
    """Map a recogniser's text (which the grammar made one phrase or a digit string) to a choice."""
    text = " ".join(text.lower().split())
    if not text:
        return Recognition(None, "", confidence)
    if text in table:
        return Recognition(table[text], text, confidence)
    words = DIGIT_WORDS.get(language, {})
    if digits and len(text.split()) <= digits and all(w in words for w in text.split()):
        return Recognition(None, text, confidence, "".join(words[w] for w in text.split()))
    return Recognition(None, text, confidence)


class Recognizer(abc.ABC):
    """One speech engine for one or more languages."""

    languages: frozenset[str]

    @abc.abstractmethod
    def recognize(self, pcm: bytes, grammar: Grammar, *, language: str, digits: int = 0) -> Recognition:
        """Recognise one utterance (8 kHz 16-bit mono PCM) within ``grammar``, or up to ``digits``
        spoken digits ("two five" -> "25") when ``digits`` > 0."""


class PocketSphinxRecognizer(Recognizer):
    """US English with the model in the pocketsphinx wheel (or ``model_dir``)."""

    languages = frozenset({"en"})

    def __init__(self, model_dir: str | Path | None = None) -> None:
        from pocketsphinx import Decoder, get_model_path

        model = Path(model_dir) if model_dir else Path(get_model_path("en-us"))
        if not (model / "en-us").is_dir() or not (model / "cmudict-en-us.dict").is_file():
            raise FileNotFoundError(f"pocketsphinx model directory {model}: "
                                    "needs en-us/ and cmudict-en-us.dict")
        self._decoder = Decoder(hmm=str(model / "en-us"), dict=str(model / "cmudict-en-us.dict"),
                                lm=None, samprate=16000, loglevel="FATAL")
        self._lock = threading.Lock()
        self._searches: dict[tuple[tuple[str, ...], int], str] = {}

    def _jsgf(self, phrases: Sequence[str], digits: int) -> str:
        alternatives = [" ".join(p.split()) for p in phrases]
        # exactly 1..digits digits: an open "<digit>+" lets noise at the edges become extra digits
        alternatives += [" ".join(["<digit>"] * n) for n in range(1, digits + 1)]
        rules = ["#JSGF V1.0;", "grammar answer;",
                 f"public <answer> = {' | '.join(alternatives)};"]
        if digits:
            rules.append(f"<digit> = {' | '.join(sorted(DIGIT_WORDS['en']))};")
        return "\n".join(rules) + "\n"

    def _search_for(self, phrases: tuple[str, ...], digits: int) -> str:
        key = (phrases, digits)
        name = self._searches.get(key)
        if name is None:
            for phrase in phrases:
                for word in phrase.split():
                    if self._decoder.lookup_word(word) is None:
                        raise GrammarError(f"pocketsphinx: {word!r} (in {phrase!r}) "
                                           "is not in its English dictionary")
            name = f"g{len(self._searches)}"
            self._decoder.add_jsgf_string(name, self._jsgf(phrases, digits))
            self._searches[key] = name
        return name

    def recognize(self, pcm: bytes, grammar: Grammar, *, language: str = "en",
                  digits: int = 0) -> Recognition:
        if language not in self.languages:
            raise GrammarError(f"pocketsphinx: no model for language {language!r} (English only)")
        table = phrase_table(grammar)
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        audio16k = np.clip(Upsampler2x()(x), -32768, 32767).astype("<i2").tobytes()
        with self._lock:
            self._decoder.activate_search(self._search_for(tuple(sorted(table)), digits))
            self._decoder.start_utt()
            self._decoder.process_raw(audio16k, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        if hyp is None:
            return NO_MATCH
        return interpret(hyp.hypstr, table, "en", digits, float(hyp.prob))


class VoskRecognizer(Recognizer):
    """A Kaldi model directory (``am/``, ``conf/``, ``graph/``) for ``language``."""

    def __init__(self, model_dir: str | Path, language: str) -> None:
        import vosk

        path = Path(model_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"vosk model directory {path} does not exist")
        if not (path / "am").is_dir() or not (path / "conf").is_dir():
            raise FileNotFoundError(f"vosk model directory {path}: no am/ and conf/ inside "
                                    "(not a Kaldi model)")
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(str(path))
        self.languages = frozenset({language})
        self._lock = threading.Lock()

    def recognize(self, pcm: bytes, grammar: Grammar, *, language: str, digits: int = 0) -> Recognition:
        if language not in self.languages:
            raise GrammarError(f"vosk: this model is for {sorted(self.languages)}, not {language!r}")
        table = phrase_table(grammar)
        phrases = sorted(table)
        if digits:
            phrases += sorted(DIGIT_WORDS.get(language, {}))
        with self._lock:
            vocabulary = json.dumps([*phrases, "[unk]"], ensure_ascii=False)
            rec = self._vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE), vocabulary)
            rec.SetWords(True)
            step = 8000          # 0.5 s per call, as vosk's streaming examples do
            for i in range(0, len(pcm), step):
                rec.AcceptWaveform(pcm[i:i + step])
            result = json.loads(rec.FinalResult())
        words = [w for w in result.get("result", []) if w.get("word") != "[unk]"]
        text = " ".join(w["word"] for w in words)
        confidence = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        return interpret(text, table, language, digits, confidence)
