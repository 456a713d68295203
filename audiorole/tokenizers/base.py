"""The interface every speech tokenizer follows, and the input checks they share.

A tokenizer turns 1-D float audio at ``sample_rate`` into int64 codes at
``frame_rate``: exactly ``ceil(seconds * frame_rate)`` of them, so codes stay
aligned with time (code ``i`` covers ``[i / frame_rate, (i + 1) / frame_rate)``).

Edge cases, the same for every tokenizer:

- empty audio gives an empty int64 array (the model is not called);
- audio shorter than one frame (80 ms at 12.5 Hz) gives one code: the count is a ceiling;
- silence is not special: digital silence or room tone gets ordinary codebook
  entries like any other sound, one per frame, and nothing is trimmed. Drop
  silence with a VAD before encoding if you do not want its codes;
- NaN/Inf samples, a wrong rank or an integer dtype raise ``TokenizerInputError``;
- ``encode(wave, sample_rate=sr)`` resamples with soxr when ``sr`` differs;
- audio longer than ``window_seconds`` is cut into windows (the last one
  shorter), each encoded on its own, and the codes concatenated. Windows are a
  whole number of frames long, so the count stays ``ceil(seconds * frame_rate)``.

``fingerprint`` is a content hash of whatever decides the codes (weights,
config, compute dtype); the token cache is keyed on it, so it must be the
same in every process that loads the same tokenizer.

Subclasses implement ``_encode_windows`` and provide ``codebook_size`` and
``fingerprint`` (attributes or properties); the base class does the checks,
windowing and the length contract. Importing this module does not import torch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Sequence

import numpy as np

from audiorole.errors import AudioroleError


class TokenizerError(AudioroleError):
    """A tokenizer cannot be loaded (missing files, unreachable hub, bad checkpoint)."""


class TokenizerInputError(TokenizerError):
    """Audio handed to a tokenizer is unusable (NaN/Inf, wrong shape or dtype)."""


def num_tokens(num_samples: int, sample_rate: int, frame_rate: float) -> int:
    """``ceil(seconds * frame_rate)``, computed exactly (no float rounding at frame edges)."""
    rate = Fraction(frame_rate).limit_denominator(10_000)
    return math.ceil(Fraction(int(num_samples)) * rate / int(sample_rate))


def check_wave(wave, what: str = "audio") -> np.ndarray:
    """Return ``wave`` as contiguous 1-D float32, or raise a one-line ``TokenizerInputError``."""
    arr = np.asarray(wave)
    if arr.dtype.kind not in "f":
        hint = " (integer PCM: divide by 32768 for int16)" if arr.dtype.kind in "iu" else ""
        raise TokenizerInputError(f"{what}: dtype {arr.dtype} is not floating point{hint}; pass float32 samples in [-1, 1]")
    if arr.ndim != 1:
        raise TokenizerInputError(f"{what}: expected 1-D mono samples, got shape {tuple(arr.shape)}; "
                                  f"down-mix first (e.g. wave.mean(axis=0)) or pick one channel")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise TokenizerInputError(f"{what}: {int(bad.sum())} of {arr.size} samples are NaN/Inf; "
                                  f"fix the decoder or clean them (np.nan_to_num) before tokenizing")
    return arr


def resample(wave: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """soxr resampling (docs/design.md §8: 2x faster than torchaudio here)."""
    if int(from_rate) <= 0:
        raise TokenizerInputError(f"sample_rate={from_rate} is not a positive number of samples per second")
    if int(from_rate) == int(to_rate) or wave.size == 0:
        return wave
    import soxr

    return np.ascontiguousarray(soxr.resample(wave, int(from_rate), int(to_rate)), dtype=np.float32)


def split_windows(wave: np.ndarray, window: int) -> list[np.ndarray]:
    """Consecutive ``window``-sample pieces; the last may be shorter. Empty input gives none."""
    return [wave[start:start + window] for start in range(0, wave.size, window)]


class SpeechTokenizer(ABC):
    """Audio -> discrete codes. See the module docstring for the contract."""

    name: str = "base"
    sample_rate: int = 16000
    frame_rate: float = 12.5
    # Longest piece handed to the model at once; None = whole clips.
    window_seconds: float | None = 30.0
    # Whether many short clips share encoder windows in the token cache (tokenizers/packing.py).
    packs_clips: bool = False

    # Set these as class/instance attributes or define them as properties.
    codebook_size: int  # codes are in [0, codebook_size)
    fingerprint: str  # content hash of weights + config; stable across processes

    @abstractmethod
    def _encode_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """Encode checked, non-empty 1-D float32 windows at ``sample_rate``.

        Each window is at most ``window_seconds`` long; return one int64 array
        per window with ``num_tokens(len(window))`` codes. Batch however suits
        the model, but the result must not depend on what else is in the list.
        """

    # -- public API -----------------------------------------------------

    def num_tokens(self, num_samples: int) -> int:
        return num_tokens(num_samples, self.sample_rate, self.frame_rate)

    def encode(self, wave: np.ndarray, sample_rate: int | None = None) -> np.ndarray:
        """1-D float audio -> int64 codes, ``ceil(seconds * frame_rate)`` of them."""
        return self.encode_many([wave], sample_rate=sample_rate)[0]

    def encode_many(self, waves: Sequence[np.ndarray], sample_rate: int | None = None) -> list[np.ndarray]:
        """Batched ``encode``; equal to encoding each wave on its own."""
        if isinstance(waves, np.ndarray) and waves.ndim == 1:
            raise TokenizerInputError("encode_many takes a list of 1-D waves, got one 1-D array; use encode()")
        rate = self.sample_rate if sample_rate is None else sample_rate
        prepared = [resample(check_wave(w, f"audio #{i}"), rate, self.sample_rate) for i, w in enumerate(waves)]
        window = self._window_samples()
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        for i, wave in enumerate(prepared):
            chunks = split_windows(wave, window) if window else ([wave] if wave.size else [])
            pieces.extend(chunks)
            owner.extend([i] * len(chunks))
        codes = self._encode_windows(pieces) if pieces else []
        if len(codes) != len(pieces):
            raise RuntimeError(f"{type(self).__name__}._encode_windows returned {len(codes)} results for {len(pieces)} windows")
        out: list[list[np.ndarray]] = [[] for _ in prepared]
        for i, piece, code in zip(owner, pieces, codes):
            code = np.asarray(code, dtype=np.int64).reshape(-1)
            if code.size != self.num_tokens(piece.size):  # a bug in the subclass, not the user's fault
                raise RuntimeError(f"{type(self).__name__}: {code.size} codes for {piece.size} samples, "
                                   f"expected {self.num_tokens(piece.size)}")
            out[i].append(code)
        return [np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64) for parts in out]

    def _window_samples(self) -> int | None:
        if self.window_seconds is None:
            return None
        window = round(self.window_seconds * self.sample_rate)
        per_frame = Fraction(self.sample_rate) / Fraction(self.frame_rate).limit_denominator(10_000)
        # Windows must hold whole frames, or the concatenated count drifts from ceil(seconds * rate).
        if Fraction(window) % per_frame:
            raise RuntimeError(f"{self.window_seconds} s windows are not a whole number of {float(per_frame)}-sample frames")
        return window

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, sample_rate={self.sample_rate}, "
                f"frame_rate={self.frame_rate}, codebook_size={getattr(self, 'codebook_size', None)})")
