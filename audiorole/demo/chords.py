"""Soft synthetic chords: the music in the demo's background bed and in the ``music`` noise condition."""

from __future__ import annotations

import random

import numpy as np

# Chord progressions as scale degrees (semitones above the root per chord).
PROGRESSIONS = [
    [(0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)],  # I V vi IV
    [(0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17)],  # i VI III VII
    [(0, 4, 7), (5, 9, 12), (0, 4, 7), (7, 11, 14)],  # I IV I V
    [(0, 3, 7), (5, 8, 12), (7, 10, 14), (0, 3, 7)],  # i iv v i
]


def chords(n: int, sr: int, rng: random.Random) -> np.ndarray:
    """Soft pad: sine partials per chord note with slow attack and release."""
    root = rng.randint(45, 57)  # MIDI A2..A3
    prog = rng.choice(PROGRESSIONS)
    chord_s = rng.uniform(3.0, 5.0)
    step = int(chord_s * sr)
    t = np.arange(step + int(sr)) / sr  # one extra second rings into the next chord
    env = np.minimum(t / 0.6, 1.0) * np.clip((t[-1] - t) / 1.2, 0.0, 1.0)
    out = np.zeros(n + len(t), dtype=np.float64)
    for k, start in enumerate(range(0, n, step)):
        notes = [root + d for d in prog[k % len(prog)]] + [root - 12]
        tone = sum(pad_note(440 * 2 ** ((m - 69) / 12), t) for m in notes)
        out[start : start + len(t)] += tone * env
    return out[:n]


def pad_note(freq: float, t: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t) + 0.1 * np.sin(6 * np.pi * freq * t)
