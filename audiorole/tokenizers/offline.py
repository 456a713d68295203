"""Offline speech tokenizer: k-means codes over Whisper tiny.en encoder features at 12.5 Hz.

GLM-4-Voice's WhisperVQ cannot be downloaded here, so the demo fits its own
codebook on the dataset's audio. Codes come from an ASR encoder, not from
log-mels, because k-means on log-mel stacks learned the speaker (docs/design.md §10);
subtracting each utterance's mean feature removes more of the voice (see
bench/tokenizer_quality.py for the figures).

Artifact (a folder): ``centroids.npy``, ``feature_mean.npy``, ``feature_std.npy``
and ``config.json`` (every setting, the encoder's weight hash and the fingerprint).
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from audiorole.tokenizers.base import SpeechTokenizer, TokenizerError, check_wave, resample, split_windows
from audiorole.tokenizers.kmeans import kmeans
from audiorole.tokenizers.whisper_encoder import SAMPLE_RATE, WINDOW_SAMPLES, WhisperEncoder

FORMAT_VERSION = 1
NORMALIZE = ("none", "global", "utterance")
# Settings that change codes (they enter the fingerprint); threads and batch size do not.
# (Batch size defaults to 1: on 2 CPU cores a CTranslate2 batch of 8 was ~20 % slower per window.)
DEFAULTS = {"codebook_size": 512, "seed": 0, "max_frames": 100_000, "normalize": "utterance",
            "model": "offline", "compute_type": "float32", "kmeans_iters": 100}
ARRAYS = ("centroids", "feature_mean", "feature_std")


def check_settings(settings: dict) -> dict:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise TokenizerError(f"unknown offline tokenizer setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    merged = {**DEFAULTS, **settings}
    # Plain JSON types, so settings compare equal to the ones read back from config.json.
    for key in ("codebook_size", "seed", "max_frames", "kmeans_iters"):
        merged[key] = int(merged[key])
    for key in ("normalize", "model", "compute_type"):
        merged[key] = str(merged[key])
    if merged["normalize"] not in NORMALIZE:
        raise TokenizerError(f"normalize={merged['normalize']!r}; use one of {NORMALIZE}")
    if merged["codebook_size"] < 2:
        raise TokenizerError(f"codebook_size={merged['codebook_size']}; use at least 2")
    return merged


def _make_encoder(settings: dict, threads: int) -> WhisperEncoder:
    model = settings["model"]
    return WhisperEncoder(None if model == "offline" else model, settings["compute_type"], threads)


def windows_of(waves, sample_rate: int | None) -> list[list[np.ndarray]]:
    """Checked 16 kHz 30 s windows of each wave (the same cut SpeechTokenizer.encode_many makes)."""
    rate = SAMPLE_RATE if sample_rate is None else sample_rate
    return [split_windows(resample(check_wave(w, f"audio #{i}"), rate, SAMPLE_RATE), WINDOW_SAMPLES)
            for i, w in enumerate(waves)]


class OfflineTokenizer(SpeechTokenizer):
    name = "offline-whisper-tiny-kmeans"
    sample_rate = SAMPLE_RATE
    frame_rate = 12.5
    window_seconds = WINDOW_SAMPLES / SAMPLE_RATE

    def __init__(self, centroids: np.ndarray, feature_mean: np.ndarray, feature_std: np.ndarray,
                 settings: dict, *, threads: int = 0, batch_size: int = 1, encoder: WhisperEncoder | None = None):
        self.settings = check_settings(settings)
        self.centroids = np.ascontiguousarray(centroids, np.float32)
        self.feature_mean = np.ascontiguousarray(feature_mean, np.float32)
        self.feature_std = np.ascontiguousarray(feature_std, np.float32)
        if self.centroids.shape[0] != int(self.settings["codebook_size"]):
            raise TokenizerError(f"{self.centroids.shape[0]} centroids but codebook_size={self.settings['codebook_size']}")
        self.batch_size = batch_size
        self.encoder = encoder or _make_encoder(self.settings, threads)
        self._sq_norms = (self.centroids.astype(np.float64) ** 2).sum(axis=1)
        self.fingerprint = self._fingerprint()

    @property
    def codebook_size(self) -> int:
        return self.centroids.shape[0]

    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps({"format": FORMAT_VERSION, "name": self.name, "settings": self.settings,
                             "encoder_sha256": self.encoder.weights_sha256}, sort_keys=True).encode())
        for array in (self.centroids, self.feature_mean, self.feature_std):
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(array.tobytes())
        return h.hexdigest()

    # -- features and codes --------------------------------------------------------------
    @staticmethod
    def _center(feats: np.ndarray, mode: str) -> np.ndarray:
        # Removing each window's mean (an utterance, or 30 s of a long file) takes out
        # a constant voice/channel offset while keeping what changes frame to frame.
        return feats - feats.mean(axis=0, keepdims=True) if mode == "utterance" else feats

    def normalise(self, raw: list[np.ndarray]) -> list[np.ndarray]:
        """Raw encoder features of windows (WhisperEncoder.window_features) → what the codebook sees."""
        mode = self.settings["normalize"]
        return [(self._center(f, mode) - self.feature_mean) / self.feature_std for f in raw]

    def features(self, waves, sample_rate: int | None = None) -> list[np.ndarray]:
        """The normalised 12.5 Hz features the codes quantise, one (n_codes, dim) array per wave (for probes)."""
        per_wave = windows_of(waves, sample_rate)
        flat = self.normalise(self.encoder.window_features([w for ws in per_wave for w in ws], self.batch_size))
        out, i = [], 0
        for ws in per_wave:
            out.append(np.concatenate(flat[i:i + len(ws)]) if ws else np.zeros((0, self.centroids.shape[1]), np.float32))
            i += len(ws)
        return out

    def _quantise(self, feats: np.ndarray) -> np.ndarray:
        # float64 distances so rounding cannot flip a near-tie between runs.
        scores = self._sq_norms[None, :] - 2.0 * feats.astype(np.float64) @ self.centroids.T.astype(np.float64)
        return scores.argmin(axis=1).astype(np.int64)

    def codes_from_features(self, raw: list[np.ndarray]) -> list[np.ndarray]:
        """Codes of windows from their raw encoder features (lets probes reuse one encoder pass)."""
        return [self._quantise(f) for f in self.normalise(raw)]

    def _encode_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        return self.codes_from_features(self.encoder.window_features(windows, self.batch_size))

    # -- fitting and the artifact -------------------------------------------------------
    @classmethod
    def fit(cls, waves, codebook_size: int = 512, seed: int = 0, max_frames: int = DEFAULTS["max_frames"], *,
            sample_rate: int | None = None, threads: int = 0, batch_size: int = 1, **settings) -> "OfflineTokenizer":
        """Fit the codebook on ``waves`` (utterances or whole episodes; long audio is cheaper per second)."""
        settings = check_settings({**settings, "codebook_size": int(codebook_size), "seed": int(seed),
                                    "max_frames": int(max_frames)})
        encoder = _make_encoder(settings, threads)
        windows = [w for ws in windows_of(waves, sample_rate) for w in ws]
        return cls.fit_features(encoder.window_features(windows, batch_size), settings,
                                encoder=encoder, batch_size=batch_size)

    @classmethod
    def fit_features(cls, raw: list[np.ndarray], settings: dict, *, encoder: WhisperEncoder | None = None,
                     threads: int = 0, batch_size: int = 1) -> "OfflineTokenizer":
        """Fit on raw encoder features of windows (WhisperEncoder.window_features), e.g. cached by a probe."""
        settings = check_settings(settings)
        frames = np.concatenate([cls._center(f, settings["normalize"]) for f in raw]) if raw else np.zeros((0, 0))
        k = settings["codebook_size"]
        if len(frames) < k:
            raise TokenizerError(f"{len(frames)} feature frames ({len(frames) / 12.5:.1f} s of audio) cannot fit "
                                 f"{k} codes; give more audio or a smaller codebook_size")
        if settings["normalize"] == "none":
            mean, std = np.zeros(frames.shape[1], np.float32), np.ones(frames.shape[1], np.float32)
        else:
            mean = frames.mean(axis=0, dtype=np.float64).astype(np.float32)
            std = (frames.std(axis=0, dtype=np.float64) + 1e-5).astype(np.float32)
        if len(frames) > settings["max_frames"]:
            rng = np.random.default_rng(settings["seed"])
            frames = frames[np.sort(rng.choice(len(frames), settings["max_frames"], replace=False))]
        frames = ((frames - mean) / std).astype(np.float32)
        centroids = kmeans(frames, k, seed=settings["seed"], iters=settings["kmeans_iters"])
        return cls(centroids, mean, std, settings, threads=threads, batch_size=batch_size, encoder=encoder)

    def config(self) -> dict:
        return {"format": FORMAT_VERSION, "name": self.name, "sample_rate": self.sample_rate,
                "frame_rate": self.frame_rate, "settings": self.settings,
                "encoder_sha256": self.encoder.weights_sha256, "fingerprint": self.fingerprint}

    def save(self, directory: str | Path, dtype: str = "float32") -> Path:
        """Write the artifact into ``directory`` (see offline_fit.fit_or_load for an atomic swap).

        ``dtype="float16"`` halves the files (a codebook shipped in the repo); loading restores
        float32. The arrays must already hold float16 values (``rounded``), or the loaded
        tokenizer would differ from this one and fail its fingerprint check.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for key in ARRAYS:
            array = getattr(self, key)
            stored = array.astype(dtype)
            if not np.array_equal(stored.astype(np.float32), array):
                raise TokenizerError(f"{key} is not exactly representable as {dtype}; save tokenizer.rounded({dtype!r})")
            np.save(directory / f"{key}.npy", stored)
        (directory / "config.json").write_text(json.dumps(self.config(), indent=2, sort_keys=True) + "\n")
        return directory

    def rounded(self, dtype: str = "float16") -> "OfflineTokenizer":
        """The same tokenizer with its arrays rounded to ``dtype`` (a new fingerprint), for ``save(dtype=...)``."""
        arrays = {key: getattr(self, key).astype(dtype) for key in ARRAYS}
        return type(self)(**arrays, settings=self.settings, batch_size=self.batch_size, encoder=self.encoder)

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 0, batch_size: int = 1) -> "OfflineTokenizer":
        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text())
            arrays = {key: np.load(directory / f"{key}.npy") for key in ARRAYS}
        except (OSError, ValueError) as e:
            raise TokenizerError(f"{directory}: not a readable offline tokenizer artifact ({e}); delete it to refit") from e
        if config.get("format") != FORMAT_VERSION:
            raise TokenizerError(f"{directory}: artifact format {config.get('format')} is not {FORMAT_VERSION}; delete it to refit")
        tok = cls(**arrays, settings=config["settings"], threads=threads, batch_size=batch_size)
        if tok.encoder.weights_sha256 != config["encoder_sha256"]:
            raise TokenizerError(f"{directory}: fitted on encoder weights {config['encoder_sha256'][:12]}…, "
                                 f"found {tok.encoder.weights_sha256[:12]}…; delete the artifact to refit")
        if tok.fingerprint != config["fingerprint"]:
            raise TokenizerError(f"{directory}: contents do not match the saved fingerprint (edited or corrupt); delete it to refit")
        return tok
