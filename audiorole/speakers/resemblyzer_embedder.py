"""Resemblyzer's shipped VoiceEncoder (256-d d-vectors) as the offline speaker embedder.

Quirks handled here (docs/design.md §9): its mel is not log-scaled, so every clip is
brought to the same RMS level first, otherwise loudness leaks into the
embedding; it is fastest single-threaded, so torch runs with one thread while
it works and the caller's setting is restored afterwards.
"""

import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.utils.weights import package_file, verified

WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"  # resemblyzer 0.1.4 pretrained.pt
SAMPLE_RATE = 16000
TARGET_DBFS = -30.0  # Resemblyzer's own training-time level
PARTIAL_SAMPLES = 25600  # one 1.6 s partial utterance (160 frames of 10 ms)
MIN_SECONDS = 0.5  # below this a partial is mostly zero padding and the vector is noise
SILENCE_RMS = 1e-4  # about -80 dBFS: nothing to normalise


class SpeakerClipError(AudioroleError, ValueError):
    """A clip cannot be embedded (too short, silent, wrong shape)."""


_torch_lock = threading.Lock()  # set_num_threads is process-wide


@contextmanager
def single_thread():
    import torch

    with _torch_lock:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@lru_cache(maxsize=None)
def _load_encoder(device: str):
    """One VoiceEncoder per device per process, after the weight hash check."""
    from resemblyzer import VoiceEncoder

    path = verified(package_file("resemblyzer", "pretrained.pt"), WEIGHTS_SHA256, "resemblyzer")
    encoder = VoiceEncoder(device=device, verbose=False, weights_fpath=path)
    return encoder.eval()


def level_normalise(wave: np.ndarray, dbfs: float = TARGET_DBFS) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))
    return (wave * (10 ** (dbfs / 20) / rms)).astype(np.float32)


class ResemblyzerEmbedder:
    """``embed(clip) -> (256,)`` and ``embed_many(clips) -> (N, 256)``, unit-norm float32.

    Clips are 1-D float 16 kHz. Clips shorter than ``min_seconds`` or silent
    raise ``SpeakerClipError`` (naming the length) rather than returning a
    vector dominated by padding; clips between ``min_seconds`` and 1.6 s are
    zero-padded to one partial as Resemblyzer itself does.
    """

    name = "resemblyzer"
    dimension = 256
    sample_rate = SAMPLE_RATE

    def __init__(self, device: str = "cpu", min_seconds: float = MIN_SECONDS, batch_size: int = 64):
        self.device = str(device)
        self.min_seconds = float(min_seconds)
        self.batch_size = int(batch_size)

    @property
    def encoder(self):
        return _load_encoder(self.device)

    def check(self, wave: np.ndarray, index: int | None = None) -> np.ndarray:
        where = "clip" if index is None else f"clip {index}"
        wave = np.asarray(wave)
        if wave.ndim != 1:
            raise SpeakerClipError(f"{where}: expected a 1-D mono waveform, got shape {wave.shape}")
        seconds = wave.size / self.sample_rate
        if seconds < self.min_seconds:
            raise SpeakerClipError(
                f"{where}: {seconds:.2f} s is shorter than the {self.min_seconds:g} s a speaker embedding needs; "
                "use a longer clip"
            )
        wave = wave.astype(np.float32, copy=False)
        if not np.isfinite(wave).all():
            raise SpeakerClipError(f"{where}: contains NaN/Inf samples")
        if np.sqrt(np.mean(np.square(wave, dtype=np.float64))) < SILENCE_RMS:
            raise SpeakerClipError(f"{where}: silent ({seconds:.2f} s below -80 dBFS); nothing to embed")
        return wave

    def embed(self, wave: np.ndarray) -> np.ndarray:
        return self.embed_many([wave])[0]

    def embed_many(self, waves: list[np.ndarray]) -> np.ndarray:
        if len(waves) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        waves = [level_normalise(self.check(w, i if len(waves) > 1 else None)) for i, w in enumerate(waves)]
        import torch
        from resemblyzer import audio

        encoder = self.encoder
        mels, owner = [], []
        for i, wave in enumerate(waves):
            # Resemblyzer's own slicing (1.6 s partials, 1.3 per second), so
            # vectors match VoiceEncoder.embed_utterance for the same input.
            wav_slices, mel_slices = encoder.compute_partial_slices(wave.size, rate=1.3, min_coverage=0.75)
            if wav_slices[-1].stop > wave.size:
                wave = np.pad(wave, (0, wav_slices[-1].stop - wave.size))
            mel = audio.wav_to_mel_spectrogram(wave)
            mels.extend(mel[s] for s in mel_slices)
            owner.extend([i] * len(mel_slices))
        stacked = np.stack(mels)
        parts = []
        with single_thread(), torch.inference_mode():
            for start in range(0, len(stacked), self.batch_size):
                batch = torch.from_numpy(stacked[start : start + self.batch_size]).to(encoder.device)
                parts.append(encoder(batch).cpu().numpy())
        partial = np.concatenate(parts)
        owner = np.asarray(owner)
        out = np.stack([partial[owner == i].mean(axis=0) for i in range(len(waves))])
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)
