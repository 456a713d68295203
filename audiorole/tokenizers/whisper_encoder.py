"""Whisper encoder features at 12.5 Hz: log-mel → CTranslate2 encoder (50 Hz) → average pooling ×4.

GLM-4-Voice quantises a Whisper encoder pooled ×4 (docs/design.md §3); offline we use the
shipped tiny.en (384-d, final encoder layer: CTranslate2 exposes no intermediate
one). Whisper only ever saw 30 s inputs, so every window is zero-padded to 30 s
(shorter inputs run but change the features) and the output is cut back to the
real length. Each window is encoded on its own (rows of a CTranslate2 batch do
not interact; checked bit-for-bit in the tests), so batching cannot change a result.
"""

from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 30 * SAMPLE_RATE
SAMPLES_PER_TOKEN = 1280  # 16000 / 12.5: mel hop 160 × conv stride 2 × pooling 4
POOL = 4


def n_tokens(n_samples: int) -> int:
    return -(-n_samples // SAMPLES_PER_TOKEN)


class WhisperEncoder:
    """Pooled encoder outputs of a CTranslate2 Whisper model (the shipped tiny.en by default)."""

    def __init__(self, model_dir: str | Path | None = None, compute_type: str = "float32", threads: int = 0):
        from audiorole.asr.models import check_ct2_dir, offline_model_dir
        from audiorole.utils.weights import file_sha256

        self.model_dir = offline_model_dir() if model_dir is None else check_ct2_dir(Path(model_dir))
        # The weights' hash enters the tokenizer fingerprint (the shipped model's is verified already).
        self.weights_sha256 = file_sha256(self.model_dir / "model.bin")
        self.compute_type = compute_type
        self.threads = threads
        self._model = None
        self._mel = None

    def _load(self):
        if self._model is None:
            import ctranslate2
            from faster_whisper.feature_extractor import FeatureExtractor

            self._model = ctranslate2.models.Whisper(str(self.model_dir), device="cpu", compute_type=self.compute_type,
                                                     intra_threads=self.threads)
            self._mel = FeatureExtractor(feature_size=self._model.n_mels)
        return self._model

    def _encode_batch(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """Each window (≤ 30 s) → (POOL · n_tokens, dim) float32 encoder frames at 50 Hz."""
        import ctranslate2

        model = self._load()
        # Whisper's log-mel clamps to (window max − 8): computed per padded window, as Whisper does.
        mels = np.stack([self._mel(w, padding=WINDOW_SAMPLES - len(w))[:, :WINDOW_SAMPLES // 160] for w in windows])
        out = np.asarray(model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mels, np.float32)),
                                      to_cpu=True))
        return [frames[: n_tokens(len(w)) * POOL] for w, frames in zip(windows, out)]

    def window_frames(self, windows: list[np.ndarray], batch_size: int = 1) -> list[np.ndarray]:
        """Non-empty 16 kHz windows (≤ 30 s each) → (4 · ceil(seconds × 12.5), dim) float32 frames at 50 Hz."""
        out: list[np.ndarray] = []
        for b in range(0, len(windows), batch_size):
            out.extend(self._encode_batch(windows[b:b + batch_size]))
        return out

    def window_features(self, windows: list[np.ndarray], batch_size: int = 1) -> list[np.ndarray]:
        """Non-empty 16 kHz windows (≤ 30 s each) → (ceil(seconds × 12.5), dim) float32 each: frames pooled ×4."""
        return [pool(f) for f in self.window_frames(windows, batch_size)]


def pool(frames: np.ndarray) -> np.ndarray:
    """Average pooling ×4: 50 Hz encoder frames → 12.5 Hz (GLM-4-Voice pools the same way)."""
    return frames.reshape(len(frames) // POOL, POOL, -1).mean(axis=1, dtype=np.float32)
