"""Recording conditions for demo variants: room reverb and a noise track at a set SNR.

A ``Condition`` changes only the acoustics of the episodes; the script, the
voices, the turn timing and so the ground truth stay those of the clean series
with the same seed. Everything is synthesised here, nothing is fetched:

- reverb: each speaker gets its own synthetic room impulse response, a direct
  path followed by exponentially decaying noise whose level falls 60 dB in
  ``rt60`` seconds (the usual statistical model of a diffuse late reverb);
- noise types, all procedural and seeded:
  ``babble``   six espeak-ng talkers (not the cast's voices) speaking at once;
  ``music``    chords, a bass line, a plucked melody and a drum kit at 96-128 bpm;
  ``applause`` bursts of clapping and of laughter (voiced "ha" pulses from
               several people) with a murmur between them, as a sitcom audience;
  ``street``   traffic rumble, passing cars and an occasional horn;
  ``wind``     low-frequency brown and pink noise in slow gusts, as wind on a
               location microphone (most of its energy below ~500 Hz).

SNR is speech power over its active samples against the noise track's power
over the whole episode, the definition the mixer reports; for bursty noise
(applause, street) the bursts themselves are louder than that average.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .chords import chords

NOISE_TYPES = ("babble", "music", "applause", "street", "wind")
# Direct-path energy over the reverberant tail's: about a talker a couple of
# metres away in a living-room-sized set (0 dB is the critical distance).
DIRECT_TO_REVERB_DB = 3.0
BABBLE_TALKERS = 6
_BABBLE_VOICES = ("en-gb+m1", "en-us+m2", "en-gb-x-rp+m4", "en-us+f2", "en+f5", "en-us+m6", "en-gb+f3", "en-us+m5")


@dataclass(frozen=True)
class Condition:
    noise: str | None = None  # one of NOISE_TYPES, or None for no added noise
    snr_db: float | None = None  # required with ``noise``
    rt60: float | None = None  # seconds; None or 0 for no added reverb

    def __post_init__(self):
        if self.noise is not None and self.noise not in NOISE_TYPES:
            raise ValueError(f"noise type '{self.noise}' unknown; use one of {', '.join(NOISE_TYPES)}")
        if (self.noise is None) != (self.snr_db is None):
            raise ValueError("give a noise type and an SNR together (e.g. --noise babble --snr-db 10)")
        if self.rt60 is not None and not 0 <= self.rt60 <= 3:
            raise ValueError(f"rt60 must be within 0-3 s, got {self.rt60}")

    @property
    def clean(self) -> bool:
        return self.noise is None and not self.rt60

    @property
    def label(self) -> str:
        """Short name for folders and tables, e.g. ``music10_rt0.6``; ``clean`` when nothing is added."""
        parts = [f"{self.noise}{self.snr_db:g}"] if self.noise else []
        if self.rt60:
            parts.append(f"rt{self.rt60:g}")
        return "_".join(parts) or "clean"

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``clean``, ``babble:10``, ``music:10:0.6`` (type:SNR[:RT60]) or ``rt:0.6`` (reverb only)."""
        parts = text.split(":")
        try:
            if parts == ["clean"]:
                return cls()
            if parts[0] == "rt" and len(parts) == 2:
                return cls(rt60=float(parts[1]))
            if len(parts) in (2, 3):
                return cls(parts[0], float(parts[1]), float(parts[2]) if len(parts) == 3 else None)
        except ValueError as e:
            raise ValueError(f"condition '{text}': {e}") from None
        raise ValueError(f"condition '{text}': write clean, TYPE:SNR, TYPE:SNR:RT60 or rt:RT60")


# --- reverb -------------------------------------------------------------------

def room_response(rt60: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Direct path plus an exponentially decaying noise tail (60 dB down at ``rt60``)."""
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-3 * np.log(10) * t / rt60)
    onset = int(0.004 * sr)  # first reflections arrive a few ms after the direct sound
    tail[:onset] = 0.0
    tail *= np.sqrt(10 ** (-DIRECT_TO_REVERB_DB / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail.astype(np.float32)


def reverberate(clip: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """``clip`` in the room, its tail included, at the dry clip's loudness."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(clip, ir)
    return (wet * np.sqrt(np.sum(clip**2) / max(np.sum(wet[: len(clip)] ** 2), 1e-12))).astype(np.float32)


# --- noise tracks ---------------------------------------------------------------

def noise_track(kind: str, n: int, sr: int, rng: random.Random) -> np.ndarray:
    """Mono noise of ``n`` samples with unit RMS."""
    np_rng = np.random.default_rng(rng.randrange(2**32))
    make = {"babble": _babble, "music": _music, "applause": _applause, "street": _street, "wind": _wind}[kind]
    x = make(n, sr, rng, np_rng)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def _babble(n, sr, rng, np_rng):
    from .script_writer import dockhand_line, june_line, mara_line, otis_line
    from .voices import synthesize

    lines = (mara_line, otis_line, june_line, dockhand_line)
    out = np.zeros(n, dtype=np.float32)
    for voice in rng.sample(_BABBLE_VOICES, BABBLE_TALKERS):
        spec = {"engine": "espeak", "voice": voice, "pitch": rng.randint(25, 70), "speed": rng.randint(140, 185)}
        at = rng.randint(0, sr)
        while at < n:
            clip = synthesize(spec, rng.choice(lines)(rng), sr)[: n - at]
            out[at: at + len(clip)] += clip
            at += len(clip) + int(rng.uniform(0.1, 0.6) * sr)
    return out


def _music(n, sr, rng, np_rng):
    beat = int(sr * 60 / rng.uniform(96, 128))
    t_note = np.arange(beat) / sr
    out = 0.6 * chords(n, sr, rng)
    root = 440 * 2 ** ((rng.randint(33, 40) - 69) / 12)  # bass an octave or two below the pad
    scale = [0, 2, 4, 7, 9, 12, 14]
    kick = np.sin(2 * np.pi * 55 * t_note * np.exp(-t_note * 8)) * np.exp(-t_note * 18)
    for k, start in enumerate(range(0, n - beat, beat)):
        seg = slice(start, start + beat)
        out[seg] += 0.8 * np.sin(2 * np.pi * root * (1.5 if k % 8 >= 4 else 1) * t_note) * np.exp(-t_note * 3)
        if k % 2 == 0:
            out[seg] += 1.2 * kick
        else:  # snare: a noise burst
            out[seg] += 0.5 * np_rng.standard_normal(beat) * np.exp(-t_note * 30)
        hat = np_rng.standard_normal(beat // 2) * np.exp(-np.arange(beat // 2) / sr * 120)
        out[start: start + beat // 2] += 0.15 * np.diff(hat, prepend=0)
        if rng.random() < 0.7:  # melody: plucked partials
            f = root * 4 * 2 ** (rng.choice(scale) / 12)
            out[seg] += 0.35 * (np.sin(2 * np.pi * f * t_note) + 0.4 * np.sin(4 * np.pi * f * t_note)) * np.exp(-t_note * 6)
    return out


def _clap(sr, np_rng):
    m = int(sr * np_rng.uniform(0.008, 0.02))
    x = np.diff(np_rng.standard_normal(m), prepend=0)  # high-passed noise
    return x * np.exp(-np.arange(m) / sr * np_rng.uniform(150, 300))


def _laugh(sr, rng, np_rng):
    """One person's "ha-ha-ha": voiced pulses at ~4-6 Hz with a falling pitch."""
    syllables = rng.randint(3, 8)
    rate = rng.uniform(4.0, 6.0)
    m = int(sr * syllables / rate)
    t = np.arange(m) / sr
    f0 = rng.uniform(140, 320) * (1 - 0.25 * t / t[-1])
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h for h in range(1, 12))
    breath = 0.3 * np_rng.standard_normal(m)
    envelope = np.clip(np.sin(np.pi * rate * t), 0, None) ** 2
    return (voiced + breath) * envelope


def _applause(n, sr, rng, np_rng):
    out = 0.02 * np.cumsum(np_rng.standard_normal(n)) / np.sqrt(sr)  # murmur between bursts
    at = int(rng.uniform(1, 5) * sr)
    while at < n:
        length = int(rng.uniform(1.5, 4.5) * sr)
        if rng.random() < 0.5:  # applause: many claps per second
            for _ in range(int(rng.uniform(20, 40) * length / sr)):
                i = at + int(np_rng.integers(0, length))
                c = _clap(sr, np_rng)[: max(n - i, 0)]
                out[i: i + len(c)] += c
        else:  # laughter from a few people, slightly staggered
            for _ in range(rng.randint(3, 7)):
                i = at + int(rng.uniform(0, 0.6) * sr)
                c = _laugh(sr, rng, np_rng)[: max(n - i, 0)] * rng.uniform(0.3, 1.0)
                out[i: i + len(c)] += c
        at += length + int(rng.uniform(3, 10) * sr)
    return out


def _street(n, sr, rng, np_rng):
    from scipy.signal import butter, sosfilt

    t = np.arange(n) / sr
    rumble = sosfilt(butter(2, 200, fs=sr, output="sos"), np_rng.standard_normal(n))
    rumble /= np.sqrt(np.mean(rumble**2)) + 1e-12
    cars = np.zeros(n)
    band = sosfilt(butter(2, [80, 2000], btype="band", fs=sr, output="sos"), np_rng.standard_normal(n))
    band /= np.sqrt(np.mean(band**2)) + 1e-12
    for _ in range(max(1, int(n / sr / 6))):  # a car every ~6 s, each a few seconds loud
        centre, width = rng.uniform(0, n / sr), rng.uniform(1.0, 2.5)
        cars += 2.0 * np.exp(-0.5 * ((t - centre) / width) ** 2)
    out = rumble * 0.6 + band * cars
    for _ in range(int(n / sr / 25) + 1):  # horns: two-tone, square-ish
        i, m = int(rng.uniform(0, n / sr - 1) * sr), int(rng.uniform(0.3, 0.8) * sr)
        th = np.arange(min(m, n - i)) / sr
        out[i: i + len(th)] += 0.8 * np.tanh(3 * (np.sin(2 * np.pi * 420 * th) + np.sin(2 * np.pi * 500 * th)))
    return out


def _wind(n, sr, rng, np_rng):
    from scipy.signal import butter, sosfilt

    white = np_rng.standard_normal(n)
    brown = np.cumsum(white)
    brown = sosfilt(butter(1, 20, btype="high", fs=sr, output="sos"), brown)  # no DC drift
    pink = sosfilt(butter(1, [60, 600], btype="band", fs=sr, output="sos"), white)
    body = brown / (np.sqrt(np.mean(brown**2)) + 1e-12) + 0.5 * pink / (np.sqrt(np.mean(pink**2)) + 1e-12)
    # Gusts: a slowly varying level (a few seconds per gust), from a low-passed random walk.
    hop = sr // 10
    steps = np_rng.standard_normal(n // hop + 2)
    level = np.convolve(steps, np.ones(30) / 30, mode="same")
    level = np.exp(rng.uniform(0.8, 1.3) * level / (np.std(level) + 1e-12))
    gusts = np.interp(np.arange(n) / hop, np.arange(len(level)), level)
    return body * gusts


def noise_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` (unit RMS, mono) scaled to ``snr_db`` below the active speech of ``speech`` (n, channels), as (n, 1)."""
    active = np.abs(speech).max(axis=1) > 1e-4
    level = np.sqrt(np.mean(speech[active] ** 2)) if active.any() else 0.0
    return (noise * level * 10 ** (-snr_db / 20))[:, None].astype(np.float32)
