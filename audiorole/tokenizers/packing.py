"""Many short clips through one encoder window: codes of each clip from shared 30 s windows.

A speech tokenizer reads 30 s windows (Whisper's input), and one window costs the same
whether it holds a 2 s reply or 30 s of speech. Tokenizing every reply and context turn
in a window of its own therefore spent most of the encoder's time on padding (a dataset's
replies average a few seconds). Here clips are laid end to end, each zero-padded to a
whole number of frames (1,280 samples at 16 kHz and 12.5 Hz), so clip ``i`` owns whole
code frames of its window and its codes are a slice of the window's: exactly
``ceil(seconds * frame_rate)`` of them, as ``encode`` gives.

The codes are not bit-identical to a clip encoded alone: the encoder's attention sees the
neighbouring clips instead of zeros (the agreement is measured in ``bench/tokenizer_speed.py``).
So packing is the tokenizer's choice (``SpeechTokenizer.packs_clips``): the supervised offline
tokenizer was trained on packed windows and packs; GLM-4-Voice's tokenizer encodes each clip
alone, as its authors do. ``encode_clips`` is what the token cache calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from audiorole.tokenizers.base import check_wave, resample


@dataclass(frozen=True)
class Place:
    """Where a clip's codes are: ``window``'s codes ``[first, first + count)``."""

    window: int
    first: int
    count: int


def frame_samples(tokenizer) -> int:
    per_frame = Fraction(tokenizer.sample_rate) / Fraction(tokenizer.frame_rate).limit_denominator(10_000)
    if per_frame.denominator != 1:
        raise ValueError(f"{tokenizer!r}: a frame is {float(per_frame)} samples, not a whole number; clips cannot be packed")
    return int(per_frame)


def pack(waves: Sequence[np.ndarray], window: int, frame: int) -> tuple[list[np.ndarray], list[list[Place]]]:
    """Lay ``waves`` (1-D float32, one rate) into windows of at most ``window`` samples.

    Each wave is padded to a whole number of ``frame``-sample frames and goes into the
    current window if it fits, else into a new one; a wave longer than a window is cut
    into whole windows of its own first (as ``SpeechTokenizer.encode`` cuts it).
    Returns the windows and, per wave, the places of its codes in order.
    """
    if window % frame:
        raise ValueError(f"window {window} is not a whole number of {frame}-sample frames")
    windows: list[list[np.ndarray]] = []
    fill = window  # samples used in the open window: none is open yet
    places: list[list[Place]] = []
    for wave in waves:
        n_frames = -(-len(wave) // frame)
        padded = np.pad(wave, (0, n_frames * frame - len(wave)))
        where = []
        for start in range(0, len(padded), window):
            piece = padded[start:start + window]
            if fill + len(piece) > window:
                windows.append([])
                fill = 0
            where.append(Place(len(windows) - 1, fill // frame, len(piece) // frame))
            windows[-1].append(piece)
            fill += len(piece)
        places.append(where)
    return [np.concatenate(parts) for parts in windows], places


def encode_packed(tokenizer, waves: Sequence[np.ndarray], sample_rate: int | None = None) -> list[np.ndarray]:
    """``tokenizer.encode_many(waves)``, but clips share encoder windows (see the module docstring)."""
    rate = tokenizer.sample_rate if sample_rate is None else sample_rate
    prepared = [resample(check_wave(w, f"audio #{i}"), rate, tokenizer.sample_rate) for i, w in enumerate(waves)]
    if tokenizer.window_seconds is None:
        return tokenizer.encode_many(prepared)
    windows, places = pack(prepared, round(tokenizer.window_seconds * tokenizer.sample_rate), frame_samples(tokenizer))
    codes = tokenizer.encode_many(windows) if windows else []
    return [np.concatenate([codes[p.window][p.first:p.first + p.count] for p in where]) if where
            else np.zeros(0, np.int64) for where in places]


def encode_clips(tokenizer, waves: Sequence[np.ndarray], sample_rate: int | None = None) -> list[np.ndarray]:
    """Codes of many clips as ``tokenizer`` was made to see them: packed if it ``packs_clips``, else one by one."""
    if getattr(tokenizer, "packs_clips", False):
        return encode_packed(tokenizer, waves, sample_rate)
    return tokenizer.encode_many(waves, sample_rate=sample_rate)
