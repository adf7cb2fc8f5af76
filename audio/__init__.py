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

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AmdParams":                "audio.amd",
    "AmdResult":                "audio.amd",
    "AmdVerdict":               "audio.amd",
    "AnsweringMachineDetector": "audio.amd",
    "AudioFormatError":         "audio.convert",
    "BeepDetector":             "audio.beep",
    "BeepParams":               "audio.beep",
    "DtmfDetector":             "audio.dtmf",
    "DtmfParams":               "audio.dtmf",
    "MediaSession":             "audio.session",
    "PocketSphinxRecognizer":   "audio.asr",
    "PromptRenderer":           "audio.prompts",
    "Recognition":              "audio.asr",
    "Recognizer":               "audio.asr",
    "SessionParams":            "audio.session",
    "TTSConfig":                "audio.tts_config",
    "TTSError":                 "audio.tts",
    "VadParams":                "audio.vad",
    "VoiceActivityDetector":    "audio.vad",
    "VoiceConfig":              "audio.tts_config",
    "VoskRecognizer":           "audio.asr",
    "load_tts_config":          "audio.tts_config",
    "make_engine":              "audio.tts",
    "to_telephone":             "audio.convert",
    "tts_config_from_section":  "audio.tts_config",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
