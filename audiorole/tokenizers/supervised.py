"""The offline speech tokenizer: Whisper tiny.en frames quantised by a codebook trained with an ASR loss.

GLM-4-Voice's recipe at small size (``supervised_model.py`` trains it; ``train_supervised.py``
is the command): codes at 12.5 Hz that carry the words, because the codebook and the layers
before it were trained to let a CTC recognizer read the transcript back from the codes.
This class runs the trained quantiser in numpy (no torch at tokenizing time): LayerNorm →
Linear at 50 Hz → average pooling ×4 → Linear → nearest codebook row (L2, float64 so a
near-tie cannot flip between runs).

Artifact (a folder): ``quantizer.npz`` (the arrays, named as in ``supervised_model.Quantizer``)
and ``config.json`` (sizes, the encoder's weight hash, what it was trained on, the fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from audiorole.tokenizers.base import SpeechTokenizer, TokenizerError
from audiorole.tokenizers.whisper_encoder import POOL, SAMPLE_RATE, WINDOW_SAMPLES, WhisperEncoder

FORMAT_VERSION = 1
ARRAYS = ("norm.weight", "norm.bias", "proj.weight", "proj.bias", "down.weight", "down.bias", "vq.codebook")
LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which the quantiser trained with


class SupervisedTokenizer(SpeechTokenizer):
    name = "offline-whisper-tiny-vq"
    sample_rate = SAMPLE_RATE
    frame_rate = 12.5
    window_seconds = WINDOW_SAMPLES / SAMPLE_RATE
    packs_clips = True  # trained on clips packed into shared windows (clip_frames), and far cheaper

    def __init__(self, arrays: dict[str, np.ndarray], trained_on: dict | None = None, *, threads: int = 0,
                 batch_size: int = 1, encoder: WhisperEncoder | None = None):
        missing = [k for k in ARRAYS if k not in arrays]
        if missing:
            raise TokenizerError(f"supervised tokenizer arrays lack {missing}")
        self.arrays = {k: np.ascontiguousarray(arrays[k], np.float32) for k in ARRAYS}
        self.trained_on = trained_on or {}
        self.batch_size = batch_size
        self.encoder = encoder or WhisperEncoder(threads=threads)
        codebook = self.arrays["vq.codebook"].astype(np.float64)
        self._codebook_t = codebook.T.copy()
        self._sq_norms = (codebook ** 2).sum(axis=1)
        self.fingerprint = self._fingerprint()

    @property
    def codebook_size(self) -> int:
        return self.arrays["vq.codebook"].shape[0]

    def _fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps({"format": FORMAT_VERSION, "name": self.name,
                                       "encoder_sha256": self.encoder.weights_sha256}, sort_keys=True).encode())
        for key in ARRAYS:
            array = self.arrays[key]
            h.update(f"{key}{array.dtype.str}{array.shape}".encode())
            h.update(array.tobytes())
        return h.hexdigest()

    # -- codes --------------------------------------------------------------------------
    def continuous(self, frames: np.ndarray) -> np.ndarray:
        """(4·T, 384) encoder frames → (T, code_size) vectors before quantisation."""
        a = self.arrays
        x = frames.astype(np.float32)
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        x = (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * a["norm.weight"] + a["norm.bias"]
        h = x @ a["proj.weight"].T + a["proj.bias"]
        h = h.reshape(len(h) // POOL, POOL, -1).mean(axis=1)
        return h @ a["down.weight"].T + a["down.bias"]

    def codes_from_frames(self, frames: np.ndarray) -> np.ndarray:
        z = self.continuous(frames).astype(np.float64)
        return (self._sq_norms[None, :] - 2.0 * z @ self._codebook_t).argmin(axis=1).astype(np.int64)

    def _encode_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        return [self.codes_from_frames(f) for f in self.encoder.window_frames(windows, self.batch_size)]

    # -- the artifact -------------------------------------------------------------------
    def config(self) -> dict:
        return {"format": FORMAT_VERSION, "name": self.name, "sample_rate": self.sample_rate,
                "frame_rate": self.frame_rate, "codebook_size": self.codebook_size,
                "code_size": int(self.arrays["vq.codebook"].shape[1]), "encoder_sha256": self.encoder.weights_sha256,
                "trained_on": self.trained_on, "fingerprint": self.fingerprint}

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "quantizer.npz", "wb") as f:
            np.savez(f, **self.arrays)
        (directory / "config.json").write_text(json.dumps(self.config(), indent=2, sort_keys=True) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 0, batch_size: int = 1) -> "SupervisedTokenizer":
        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text())
            with np.load(directory / "quantizer.npz") as stored:
                arrays = {k: stored[k] for k in stored.files}
        except (OSError, ValueError) as e:
            raise TokenizerError(f"{directory}: not a readable supervised tokenizer ({e}); rebuild it with "
                                 "python -m audiorole.tokenizers.train_supervised") from e
        if config.get("format") != FORMAT_VERSION or config.get("name") != cls.name:
            raise TokenizerError(f"{directory}: a {config.get('name')} artifact of format {config.get('format')}, "
                                 f"not {cls.name} format {FORMAT_VERSION}")
        tok = cls(arrays, config.get("trained_on"), threads=threads, batch_size=batch_size)
        if tok.encoder.weights_sha256 != config["encoder_sha256"]:
            raise TokenizerError(f"{directory}: trained on encoder weights {config['encoder_sha256'][:12]}…, "
                                 f"found {tok.encoder.weights_sha256[:12]}…; retrain it for this encoder")
        if tok.fingerprint != config["fingerprint"]:
            raise TokenizerError(f"{directory}: contents do not match the saved fingerprint (edited or corrupt)")
        return tok
