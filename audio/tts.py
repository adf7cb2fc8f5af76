"""Speech engines behind one small interface: espeak-ng, flite and piper, run as subprocesses.

Each engine is a separate program started with an argument list (never a shell) and
given the text on stdin or in a temporary file, never on the command line, so nothing
in a debtor's name or a template ("$(...)", quotes, a leading "-") is interpreted. A
timeout bounds every run. :meth:`Engine.check` finds a missing program, voice or model
when the configuration is loaded, so a campaign fails at its start rather than on the
first answered call.

An :class:`Engine` is one configured voice; :meth:`Engine.key` names it exactly (engine,
voice, options, engine version) for the render cache.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from audio.convert import Audio, AudioFormatError, read_wav
from audio.piper_worker import PiperWorker, PiperWorkerError
from dialer.core.errors import CallpactError

DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_CHARS = 2000
ENGINES = ("espeak-ng", "flite", "piper")


class TTSError(CallpactError):
    """Speech could not be rendered: bad text, a missing program/voice/model, or the engine failed."""


def check_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text an engine may be given, stripped; a clear error for empty, too long or control characters.

    Errors never quote the text: prompts carry debtors' names and amounts, and errors end up in logs.
    """
    if not isinstance(text, str):
        raise TTSError(f"text to speak must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise TTSError("nothing to say: the text is empty")
    if len(stripped) > max_chars:
        raise TTSError(f"text is {len(stripped)} characters long, more than the limit of {max_chars}: "
                       "split the prompt")
    for position, char in enumerate(stripped, start=1):
        category = unicodedata.category(char)
        if char not in "\n\t " and category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            name = unicodedata.name(char, "unnamed")
            raise TTSError(f"text contains the control character U+{ord(char):04X} ({name}) "
                           f"at position {position}")
    return stripped


def _run(args: Sequence[str], *, stdin: bytes | None, timeout_s: float, what: str,
         install_hint: str) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(list(args), input=stdin, capture_output=True, timeout=timeout_s,
                                check=False, shell=False)
    except FileNotFoundError:
        raise TTSError(f"{args[0]} is not installed or not on PATH ({install_hint})") from None
    except PermissionError:
        raise TTSError(f"{args[0]} cannot be run (permission denied)") from None
    except subprocess.TimeoutExpired:
        raise TTSError(f"{what} took longer than {timeout_s:g}s and was stopped") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else "no message"
        raise TTSError(f"{what} failed (exit status {result.returncode}): {detail}")
    return result


def _read_output(path: Path, what: str) -> Audio:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TTSError(f"{what} wrote no audio") from None
    try:
        audio = read_wav(data)
    except AudioFormatError as exc:
        raise TTSError(f"{what} wrote unreadable audio: {exc}") from None
    if len(audio.samples) == 0:
        raise TTSError(f"{what} produced no audio")
    return audio


@dataclass
class Engine(abc.ABC):
    """One configured voice of one engine."""

    name: ClassVar[str]
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_chars: int = DEFAULT_MAX_CHARS

    @abc.abstractmethod
    def voice_id(self) -> str:
        """The voice and its options, as they change the sound (part of the cache key)."""

    @abc.abstractmethod
    def version(self) -> str:
        """The engine's version (and model identity): a new version renders differently."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`TTSError` if the program, voice or model is missing."""

    @abc.abstractmethod
    def _synthesize(self, text: str, workdir: Path) -> Audio:
        """Render checked text; files go in ``workdir`` (removed afterwards)."""

    def key(self) -> str:
        return f"{self.name}|{self.voice_id()}|{self.version()}"

    def close(self) -> None:  # noqa: B027 - most engines keep nothing running; piper overrides it
        """Stop any process the engine keeps between prompts (piper's)."""

    def synthesize(self, text: str) -> Audio:
        """Blocking: run the engine on ``text`` (checked first). Call it from a worker thread."""
        checked = check_text(text, self.max_chars)
        with tempfile.TemporaryDirectory(prefix="callpact-tts-") as tmp:
            return self._synthesize(checked, Path(tmp))


@functools.cache
def _program_output(program: str, *args: str) -> str:
    """What ``program args`` prints (stdout, else stderr), asked once; empty if it cannot run."""
    path = shutil.which(program)
    if path is None:
        return ""
    try:
        result = subprocess.run([path, *args], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout or result.stderr).decode("utf-8", "replace")


def _program_version(program: str) -> str:
    lines = [" ".join(line.split()) for line in _program_output(program, "--version").splitlines()
             if line.strip()]
    found = next((line for line in lines if "version" in line.lower()), lines[0] if lines else "missing")
    return found.split(" Data at:")[0]                     # espeak-ng adds its data path


@dataclass
class EspeakNG(Engine):
    """espeak-ng: the freely licensed offline voice for Dutch (``nl``) and English (``en``, ``en-gb``...)."""

    name: ClassVar[str] = "espeak-ng"
    voice: str = "nl"
    rate_wpm: int | None = None          # espeak-ng's -s (default 175 words a minute)
    program: str = "espeak-ng"

    def voice_id(self) -> str:
        return f"{self.voice}|rate={self.rate_wpm or 'default'}"

    def version(self) -> str:
        return _program_version(self.program)

    def check(self) -> None:
        if shutil.which(self.program) is None:
            raise TTSError(f"{self.program} is not installed or not on PATH (apt-get install espeak-ng)")
        if self.voice.split("+")[0] not in _espeak_voices(self.program):      # nl+f3: voice + variant
            raise TTSError(f"espeak-ng has no voice {self.voice!r} (see `espeak-ng --voices`)")

    def _synthesize(self, text: str, workdir: Path) -> Audio:
        out = workdir / "out.wav"
        args = [self.program, "-v", self.voice, "-b", "1", "--stdin", "-w", str(out)]
        if self.rate_wpm:
            args += ["-s", str(self.rate_wpm)]
        _run(args, stdin=text.encode("utf-8"), timeout_s=self.timeout_s, what="espeak-ng",
             install_hint="apt-get install espeak-ng")
        return _read_output(out, "espeak-ng")


def _espeak_voices(program: str) -> frozenset[str]:
    """Language codes and voice names/files espeak-ng accepts for -v."""
    names: set[str] = set()
    for line in _program_output(program, "--voices").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            names.update({parts[1], parts[3], parts[4], parts[4].split("/")[-1]})
    return frozenset(names)


@dataclass
class Flite(Engine):
    """flite: fast English voices (kal16 is the clearest at 8 kHz; slt, rms, awb, kal)."""

    name: ClassVar[str] = "flite"
    voice: str = "kal16"
    program: str = "flite"

    def voice_id(self) -> str:
        return self.voice

    def version(self) -> str:
        return _program_version(self.program)

    def check(self) -> None:
        if shutil.which(self.program) is None:
            raise TTSError(f"{self.program} is not installed or not on PATH (apt-get install flite)")
        # flite silently falls back to its default voice for an unknown name, so check here.
        if "://" in self.voice:
            raise TTSError(f"flite voice {self.voice!r}: voices are loaded from local files only")
        if self.voice not in _flite_voices(self.program) and not Path(self.voice).is_file():
            known = ", ".join(sorted(_flite_voices(self.program))) or "none"
            raise TTSError(f"flite has no voice {self.voice!r} (built in: {known}; or a .flitevox file)")

    def _synthesize(self, text: str, workdir: Path) -> Audio:
        source, out = workdir / "in.txt", workdir / "out.wav"
        source.write_text(text, encoding="utf-8")
        _run([self.program, "-voice", self.voice, "-f", str(source), "-o", str(out)], stdin=None,
             timeout_s=self.timeout_s, what="flite", install_hint="apt-get install flite")
        return _read_output(out, "flite")


def _flite_voices(program: str) -> frozenset[str]:
    text = _program_output(program, "-lv")                 # "Voices available: kal awb_time kal16 ..."
    return frozenset(text.split(":", 1)[-1].split()) if ":" in text else frozenset()


@dataclass
class Piper(Engine):
    """piper (piper-tts): neural voices from an ``.onnx`` model with its ``.onnx.json`` beside it.

    Run as ``python -m piper`` in a child process. ``persistent`` (the default) keeps
    one process with the model loaded between prompts (:mod:`audio.piper_worker`);
    otherwise each prompt starts piper afresh and loads the model again (about 1.4 s
    for a medium voice).
    """

    name: ClassVar[str] = "piper"
    model: Path = field(default_factory=Path)
    speaker: int | None = None
    length_scale: float | None = None     # > 1 speaks slower
    command: tuple[str, ...] = (sys.executable, "-m", "piper")
    persistent: bool = True
    _worker: PiperWorker | None = field(default=None, init=False, repr=False, compare=False)
    _worker_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                         compare=False)

    def voice_id(self) -> str:
        return f"{self.model.name}|speaker={self.speaker}|length={self.length_scale}"

    def version(self) -> str:
        return _piper_version(self.model)

    def check(self) -> None:
        if self.command[1:] == ("-m", "piper") and self.command[0] == sys.executable \
                and importlib.util.find_spec("piper") is None:
            raise TTSError("piper is not installed in this Python (pip install piper-tts)")
        if not self.model.is_file():
            raise TTSError(f"piper voice model not found: {self.model}")
        if not Path(f"{self.model}.json").is_file():
            raise TTSError(f"piper voice model {self.model} has no config {self.model.name}.json beside it")

    def _options(self) -> list[str]:
        options = ["-m", str(self.model)]
        if self.speaker is not None:
            options += ["-s", str(self.speaker)]
        if self.length_scale is not None:
            options += ["--length-scale", str(self.length_scale)]
        return options

    def _synthesize(self, text: str, workdir: Path) -> Audio:
        if not self.model.is_file():
            raise TTSError(f"piper voice model not found: {self.model}")
        out = workdir / "out.wav"
        if self.persistent:
            with self._worker_lock:
                if self._worker is None:
                    self._worker = PiperWorker([*self.command, *self._options()])
                worker = self._worker
            try:
                out.write_bytes(worker.say(text, self.timeout_s))
            except PiperWorkerError as exc:
                raise TTSError(exc.message) from None
        else:
            _run([*self.command, *self._options(), "-f", str(out)], stdin=text.encode("utf-8"),
                 timeout_s=self.timeout_s, what="piper", install_hint="pip install piper-tts")
        return _read_output(out, "piper")

    def close(self) -> None:
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()


@functools.cache
def _piper_version(model: Path) -> str:
    try:
        from importlib.metadata import version
        package = version("piper-tts")
    except Exception:  # not installed: check() says so; the key only has to differ
        package = "unknown"
    try:
        stat = model.stat()
        config = Path(f"{model}.json").read_bytes()
    except OSError:
        return f"piper-tts {package}|model missing"
    digest = hashlib.sha256(config).hexdigest()[:16]
    return f"piper-tts {package}|{stat.st_size}|{digest}"


def make_engine(engine: str, *, voice: str | None = None, model: str | Path | None = None,
                rate_wpm: int | None = None, speaker: int | None = None, length_scale: float | None = None,
                persistent: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S,
                max_chars: int = DEFAULT_MAX_CHARS) -> Engine:
    """An engine by name, with only the options that engine understands."""
    limits = {"timeout_s": timeout_s, "max_chars": max_chars}
    if engine == "espeak-ng":
        if model is not None or speaker is not None or length_scale is not None:
            raise TTSError("espeak-ng takes a voice and a rate, not a model, speaker or length_scale")
        return EspeakNG(voice=voice or "nl", rate_wpm=rate_wpm, **limits)
    if engine == "flite":
        if model is not None or speaker is not None or length_scale is not None or rate_wpm is not None:
            raise TTSError("flite takes a voice only, not a model, rate, speaker or length_scale")
        return Flite(voice=voice or "kal16", **limits)
    if engine == "piper":
        if model is None:
            raise TTSError("piper needs a model: the path of a voice's .onnx file")
        if voice is not None or rate_wpm is not None:
            raise TTSError("piper takes a model (and speaker, length_scale), not a voice name or rate")
        return Piper(model=Path(model), speaker=speaker, length_scale=length_scale, persistent=persistent,
                     **limits)
    raise TTSError(f"unknown TTS engine {engine!r}: choose one of {', '.join(ENGINES)}")
