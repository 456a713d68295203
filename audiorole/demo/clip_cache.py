"""Spoken lines cached on disk: each (voice, text, rate) is synthesised once, ever.

The condition grid mixes the same clean speech under many conditions, and a
rerun after a kill must not speak again what it already spoke (Kokoro runs
about as slowly as real time on two cores). Clips are float32 ``.npy`` files
named by a digest of what made them, written atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from audiorole.utils.atomic import atomic_path

from .voices import synthesize


class ClipCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, spec: dict, text: str, sr: int) -> Path:
        key = hashlib.sha256(json.dumps([spec, text, sr], sort_keys=True).encode()).hexdigest()
        return self.root / key[:2] / f"{key}.npy"

    def __call__(self, spec: dict, text: str, sr: int) -> np.ndarray:
        path = self.path(spec, text, sr)
        if path.is_file():
            return np.load(path)
        audio = synthesize(spec, text, sr)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, audio)
        return audio
