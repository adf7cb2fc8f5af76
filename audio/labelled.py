"""Labelled test audio rendered offline: speech from espeak-ng and flite, music, call openings.

The DTMF, AMD, VAD and ASR tests, ``tools/amd_eval.py`` and
``tools/bench_audio.py`` need realistic far-end audio that is the same on every
machine. Real recordings cannot ship here, so speech is rendered by the
installed TTS engines and resampled by sox to the line format (8 kHz 16-bit
mono). This is the only I/O module of ``audio/`` besides the recognisers; the
analysers themselves never touch files or processes.

Text goes to the engines as an argument vector (never through a shell).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio import tones
from dialer.core.media import SAMPLE_RATE


class RenderError(RuntimeError):
    """A speech engine or sox is missing or failed."""


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RenderError(f"{tool} is not installed (run `make setup`)")
    return path


def _run(argv: list[str], stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RenderError(f"{Path(argv[0]).name} failed ({proc.returncode}): "
                          f"{proc.stderr.decode(errors='replace').strip()[:200]}")
    return proc.stdout


def wav_to_line(wav: bytes) -> bytes:
    """Any WAV (as bytes) -> 8 kHz 16-bit mono raw PCM through sox (band-limited resampling;
    no dither, so that every render of a text is the same and the tests are repeatable)."""
    return _run([_need("sox"), "-q", "-D", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1",
                 "-e", "signed-integer", "-t", "raw", "-"], stdin=wav)


def espeak(text: str, voice: str = "en", speed_wpm: int = 160) -> bytes:
    """Speech by espeak-ng at line format."""
    return wav_to_line(_run([_need("espeak-ng"), "-v", voice, "-s", str(speed_wpm), "--stdout", "--", text]))


def flite(text: str, voice: str = "kal16") -> bytes:
    """Speech by flite at line format (a voice unlike espeak-ng's, for recogniser tests)."""
    return wav_to_line(_run([_need("flite"), "-voice", voice, "-t", text, "-o", "/dev/stdout"]))


def sox_synth(seconds: float, *synth_args: str) -> bytes:
    """``sox -n ... synth SECONDS ARGS`` at line format, mixed down to mono."""
    return _run([_need("sox"), "-q", "-D", "-n", "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1",
                 "-e", "signed-integer", "-t", "raw", "-", "synth", str(seconds), *synth_args])


def scale_to_dbm0(pcm: bytes, level_dbm0: float) -> bytes:
    """Scale so the active (non-silent) part has the given RMS level; 0 dBm0 sine RMS = 0 dBm0."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    active = x[np.abs(x) > 64]
    if active.size == 0:
        return pcm
    target = tones.dbm0_to_amplitude(level_dbm0) / np.sqrt(2)
    gain = target / float(np.sqrt(np.mean(active * active)))
    return np.clip(np.round(x * gain), -32768, 32767).astype("<i2").tobytes()


def mix(a: bytes, b: bytes) -> bytes:
    """Sum two PCM signals (the shorter padded with silence)."""
    x = np.frombuffer(a, dtype="<i2").astype(np.int32)
    y = np.frombuffer(b, dtype="<i2").astype(np.int32)
    n = max(x.size, y.size)
    out = np.zeros(n, dtype=np.int32)
    out[:x.size] += x
    out[:y.size] += y
    return np.clip(out, -32768, 32767).astype("<i2").tobytes()


def duration_s(pcm: bytes) -> float:
    return len(pcm) / 2 / SAMPLE_RATE


# -- a few minutes of ordinary speech and music, for "no false digits" checks -------------------

ENGLISH_PROSE = (
    "Good morning, this is a reminder from your energy supplier about invoice number four five "
    "seven eight nine, which was due on the fifteenth of December. The amount outstanding is one "
    "hundred and twenty three euros and forty cents. If you have already paid, thank you very much "
    "and please ignore this message. If you would like to pay now, press one or say yes. "
    "If you would like a payment plan, press two or say payment plan. To speak to one of our "
    "agents, press zero or say agent. We are open Monday to Friday from eight in the morning "
    "until eight in the evening, and on Saturday from nine until five. "
)
DUTCH_PROSE = (
    "Goedemorgen, u spreekt met de klantenservice van uw energieleverancier. Wij bellen u over "
    "factuur vier vijf zeven acht negen, die op vijftien december betaald had moeten zijn. Het "
    "openstaande bedrag is honderddrieëntwintig euro veertig. Heeft u al betaald? Dan danken wij "
    "u hartelijk. Wilt u nu betalen, druk dan op één of zeg ja. Wilt u een betalingsregeling, "
    "druk dan op twee of zeg regeling. Wilt u een medewerker spreken, druk dan op nul of zeg "
    "medewerker. Wij zijn bereikbaar van maandag tot en met vrijdag van acht tot acht. "
)


def speech_corpus(minutes: float = 3.0) -> bytes:
    """Continuous English and Dutch speech by several espeak-ng voices, about ``minutes`` long."""
    voices = ["en", "nl", "en-us", "en+f3", "nl+f2", "en+m4"]
    parts: list[bytes] = []
    total = 0.0
    i = 0
    while total < minutes * 60:
        voice = voices[i % len(voices)]
        text = DUTCH_PROSE if voice.startswith("nl") else ENGLISH_PROSE
        pcm = espeak(text, voice=voice, speed_wpm=140 + 15 * (i % 4))
        parts.append(pcm)
        total += duration_s(pcm)
        i += 1
    return b"".join(parts)


def music_corpus() -> bytes:
    """About a minute of synthetic music: plucked, square, sawtooth and sine chords and a sweep."""
    chords = [("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4", "F4"), ("G3", "B3", "D4", "G4"),
              ("E5", "G5", "B5"), ("D5", "F#5", "A5"), ("C6", "E6", "G6"), ("A4", "C#5", "E5", "A5")]
    parts: list[bytes] = []
    for wave in ("pluck", "square", "sawtooth", "triangle", "sine"):
        for chord in chords:
            args: list[str] = []
            for i, note in enumerate(chord):
                args += [wave, note] if i == 0 else [wave, "mix", note]
            parts.append(sox_synth(0.9, *args, "vol", "0.2"))
    parts.append(sox_synth(4.0, "sine", "300-3400", "vol", "0.3"))
    return b"".join(parts)


# -- call openings for answering-machine detection ---------------------------------------------

@dataclass(frozen=True)
class Opening:
    """The first seconds of an answered call and what answered it."""

    name: str
    truth: str           # "human", "machine" or "silence"/"noise" (nobody, or a line with no speech)
    pcm: bytes
    beep_at_s: float | None = None    # where a voicemail beep starts, if any


HUMAN_GREETINGS = [
    ("en", "Hello?"), ("en", "Hello, yes?"), ("en", "Hi, who is this?"), ("en", "Yes, speaking."),
    ("nl", "Hallo?"), ("nl", "Met Jan."), ("nl", "Ja, hallo?"), ("nl", "Met de Vries."),
    ("en-us", "Hello."), ("en+f3", "Hello?"), ("nl+f2", "Hallo, met Anna?"), ("en+m4", "Yeah, hello?"),
    # people who answer with a full sentence, or say hello twice ("|" = a 1.2 s pause)
    ("nl", "Goedemiddag, met Jan de Vries."), ("en", "Good afternoon, Sarah Jones speaking."),
    ("en", "Hello?|Hello?"), ("nl", "Hallo?|Hallo, wie is dit?"),
]
MACHINE_GREETINGS = [
    ("en", "Hi, you have reached the voicemail of John Smith. I am not available right now, "
           "please leave a message after the tone and I will call you back as soon as possible."),
    ("nl", "Hallo, u spreekt met de voicemail van Petra de Vries. Ik ben op dit moment niet "
           "bereikbaar. Spreek na de piep een bericht in, dan bel ik u zo snel mogelijk terug."),
    ("en-us", "The person you are calling is not available. Please leave your message after the "
              "tone. When you are finished, you may hang up."),
    ("nl+f2", "Welkom bij de voicemail van nul zes één twee drie vier vijf zes zeven acht. "
              "Laat een bericht achter na de toon."),
    ("en+f3", "Thanks for calling Mary's phone. I can't take your call at the moment, but "
              "leave your name and number and I'll get back to you."),
    ("nl", "U bent verbonden met de voicemail van Jeroen. Ik ben er even niet, laat een "
           "boodschap achter na het signaal."),
]


def _pad_to(pcm: bytes, seconds: float, floor: bytes) -> bytes:
    """Append line noise ``floor`` (repeated) until ``seconds`` long."""
    want = int(seconds * SAMPLE_RATE) * 2
    while len(pcm) < want:
        pcm += floor[:want - len(pcm)]
    return pcm[:want]


#: A second set for checking that parameters tuned on the first one generalise: other texts,
#: flite's English voices instead of espeak-ng's, other speeds, and a noisier line (-45 dBm0).
HUMAN_GREETINGS_HELD_OUT = [
    ("flite:slt", "Hello?"), ("flite:rms", "Yes, hello?"), ("flite:awb", "Hi there."),
    ("flite:kal16", "Hello, this is Tom."), ("flite:slt", "Who's calling?"), ("flite:rms", "Hello?|Yes?"),
    ("nl+m3", "Hallo?"), ("nl+f4", "Met Sanne."), ("nl+m3", "Ja?"), ("nl+f4", "Goedemorgen, met Bakker."),
    ("nl+m3", "Hallo, met wie spreek ik?"), ("nl+f4", "Hallo?|Ja, hallo?"),
]
MACHINE_GREETINGS_HELD_OUT = [
    ("flite:slt", "Hi, this is Emma. Sorry I missed your call. Leave a message and I will call you back."),
    ("flite:rms", "You have reached the office of Doctor Patel. Our office is closed. Please leave a "
                  "message after the tone."),
    ("flite:awb", "Hello, you've reached Dave and Karen. We can't come to the phone right now, please "
                  "leave a message."),
    ("nl+m3", "Dit is de voicemail van Kees Jansen. Ik ben momenteel in gesprek of niet aanwezig. "
              "Spreek een bericht in na de piep."),
    ("nl+f4", "Hoi, met Lisa. Ik kan nu niet opnemen. Laat een berichtje achter, dan bel ik je terug."),
    ("nl+m3", "Het nummer dat u belt is niet bereikbaar. Spreek na de toon uw bericht in."),
]


def _say(voice: str, text: str, speed_wpm: int) -> bytes:
    if voice.startswith("flite:"):
        return flite(text, voice.removeprefix("flite:"))
    return espeak(text, voice=voice, speed_wpm=speed_wpm)


def amd_openings(seconds: float = 7.0, held_out: bool = False) -> list[Opening]:
    """A labelled set: humans (short greeting, then waiting), machines (4–8 s greeting, with and
    without a beep), silence and line noise. Deterministic for a given machine's engines.

    ``held_out`` gives the second set (other texts, engines, speeds, a noisier line), on which
    nothing was tuned."""
    floor_dbm0 = -45.0 if held_out else -60.0
    floor = tones.noise(1000, level_dbm0=floor_dbm0, seed=7)
    humans = HUMAN_GREETINGS_HELD_OUT if held_out else HUMAN_GREETINGS
    machines = MACHINE_GREETINGS_HELD_OUT if held_out else MACHINE_GREETINGS
    speeds = (130, 175, 155) if held_out else (150, 160, 170)
    tag = "held-" if held_out else ""
    out: list[Opening] = []
    for i, (voice, text) in enumerate(humans):
        lead = tones.noise(200 + 150 * (i % 5), level_dbm0=floor_dbm0, seed=i)
        pieces = [_say(voice, part, speeds[i % 3]) for part in text.split("|")]
        speech = scale_to_dbm0(tones.silence(1200).join(pieces), -18 - 2 * (i % 4))
        pcm = _pad_to(lead + speech, seconds, floor)
        if held_out:
            pcm = mix(pcm, tones.noise(duration_s(pcm) * 1000, level_dbm0=floor_dbm0, seed=50 + i))
        out.append(Opening(f"{tag}human-{i:02d}-{voice}", "human", pcm))
    for i, (voice, text) in enumerate(machines):
        lead = tones.noise(300 + 200 * (i % 3), level_dbm0=floor_dbm0, seed=100 + i)
        speech = scale_to_dbm0(_say(voice, text, speeds[i % 3] - 5), -16 - 2 * (i % 4))
        for beep in (False, True):
            pcm = lead + speech + tones.silence(300)
            beep_at = None
            if beep:
                beep_at = duration_s(pcm)
                pcm += tones.sine((1000.0, 850.0, 1400.0, 600.0)[i % 4], 400, level_dbm0=-12)
            pcm = _pad_to(pcm, max(seconds, duration_s(pcm) + 1.0), floor)
            if held_out:
                pcm = mix(pcm, tones.noise(duration_s(pcm) * 1000, level_dbm0=floor_dbm0, seed=150 + i))
            name = f"{tag}machine-{i:02d}-{voice}{'-beep' if beep else ''}"
            out.append(Opening(name, "machine", pcm, beep_at))
    out.append(Opening(f"{tag}silence-digital", "silence", tones.silence(seconds * 1000)))
    line_noise = tones.noise(seconds * 1000, level_dbm0=floor_dbm0, seed=3)
    out.append(Opening(f"{tag}silence-line", "silence", line_noise))
    out.append(Opening(f"{tag}noise-hiss", "noise", tones.noise(seconds * 1000, level_dbm0=-30, seed=5)))
    return out
