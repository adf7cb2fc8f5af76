"""The audio pipeline: speakable text, TTS with a render cache, and call audio analysis.

It stands on the floor (:mod:`dialer.core`, for frames and errors) and on nothing else of callpact, so
both telephony backends and the flows can use it.

Pure (numbers and arrays in, numbers and arrays out): :mod:`~audio.spoken` and :mod:`~audio.normalise`
(figures, dates and amounts in words), :mod:`~audio.convert` (formats and levels), :mod:`~audio.tones`,
and the detectors :mod:`~audio.dtmf`, :mod:`~audio.amd`, :mod:`~audio.beep` and :mod:`~audio.vad`.
Processes and files: :mod:`~audio.tts` runs espeak-ng / flite and :mod:`~audio.piper_worker` a Piper
worker process, :mod:`~audio.cache` keeps rendered prompts on disk, :mod:`~audio.prompts` joins them
into the renderer the backends are given, and :mod:`~audio.asr` loads speech models (Vosk, PocketSphinx).
:mod:`~audio.session` runs one call's media loop over a :class:`~dialer.core.media.MediaLeg`.
:mod:`~audio.labelled` and :mod:`~audio.amd_scoring` make labelled test audio and score AMD on it (for
the tests and tools/, not the dialer).
"""

from audio.amd import AmdParams, AmdResult, AmdVerdict, AnsweringMachineDetector
from audio.asr import PocketSphinxRecognizer, Recognition, Recognizer, VoskRecognizer
from audio.beep import BeepDetector, BeepParams
from audio.convert import AudioFormatError, to_telephone
from audio.dtmf import DtmfDetector, DtmfParams
from audio.normalise import normalise
from audio.prompts import PromptRenderer
from audio.session import MediaSession, SessionParams
from audio.tts import TTSError, make_engine
from audio.tts_config import TTSConfig, VoiceConfig, load_tts_config, tts_config_from_section
from audio.vad import VadParams, VoiceActivityDetector

__all__ = [
    "AmdParams",
    "AmdResult",
    "AmdVerdict",
    "AnsweringMachineDetector",
    "AudioFormatError",
    "BeepDetector",
    "BeepParams",
    "DtmfDetector",
    "DtmfParams",
    "MediaSession",
    "PocketSphinxRecognizer",
    "PromptRenderer",
    "Recognition",
    "Recognizer",
    "SessionParams",
    "TTSConfig",
    "TTSError",
    "VadParams",
    "VoiceActivityDetector",
    "VoiceConfig",
    "VoskRecognizer",
    "load_tts_config",
    "make_engine",
    "normalise",
    "to_telephone",
    "tts_config_from_section",
]
