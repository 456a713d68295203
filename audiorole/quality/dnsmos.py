"""Microsoft DNSMOS (P.835 SIG/BAK/OVRL + P.808) from the ONNX models shipped in ``speechmos``.

Same numbers as ``speechmos.dnsmos.run`` (and Microsoft's reference script):
9.01 s windows every ``hop_seconds`` (1 s, as the reference; each second is
then scored ~9 times, the main cost: a larger hop trades exact parity for
speed), per-window scores averaged, SIG/BAK/OVRL
mapped through the published polynomials. We call the models ourselves so all
windows of many clips go through onnxruntime in batches, with a fixed thread
count, and so edge cases have defined results:

- clips shorter than a window are tiled (repeated) up to 9.01 s, as the
  reference does; clips shorter than ``min_seconds`` get NaN for every score
  (tiling a syllable says nothing about quality; ``ReplyFilter`` drops NaN);
- digital silence (peak below ``silence_dbfs``) scores 1.0, the bottom of the
  MOS scale, so a silent generated reply is penalised rather than skipped;
- NaN/Inf samples raise ``QualityError``.
"""

import threading
from functools import lru_cache

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.utils.weights import package_file, verified

SAMPLE_RATE = 16000
WINDOW = 144160  # 9.01 s at 16 kHz, the primary model's fixed input length
KEYS = ("ovrl", "sig", "bak", "p808")
MODELS = {  # speechmos 0.0.1.1 files and their sha256 pins
    "primary": (("dnsmos_models", "sig_bak_ovr.onnx"), "269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd"),
    "personalized": (("pdnsmos_models", "sig_bak_ovr.onnx"), "9e3a197449ca2177f0997afec3bd6b890117ce2f17b89d6eea7fa0d47272c81c"),
    "p808": (("dnsmos_models", "model_v8.onnx"), "9246480c58567bc6affd4200938e77eef49468c8bc7ed3776d109c07456f6e91"),
}
# Polynomials mapping raw outputs to MOS (SIG, BAK, OVRL), from the DNSMOS release.
POLY = {
    False: ([-0.08397278, 1.22083953, 0.0052439], [-0.13166888, 1.60915514, -0.39604546], [-0.06766283, 1.11546468, 0.04602535]),
    True: ([-0.01019296, 0.02751166, 1.19576786, -0.24348726], [-0.04976499, 0.44276479, -0.1644611, 0.96883132],
           [-0.00533021, 0.005101, 1.18058466, -0.11236046]),
}


class QualityError(AudioroleError, ValueError):
    """Audio that cannot be scored (NaN, wrong shape)."""


@lru_cache(maxsize=None)
def _session(which: str, threads: int):
    import onnxruntime as ort

    parts, sha = MODELS[which]
    path = verified(package_file("speechmos", *parts), sha, "speechmos")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def p808_features(segment: np.ndarray) -> np.ndarray:
    """[900, 120] log-mel input of the P.808 model, computed as the reference does."""
    import librosa

    mel = librosa.feature.melspectrogram(y=segment[:-160], sr=SAMPLE_RATE, n_fft=321, hop_length=160, n_mels=120)
    return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)


def reference_starts(n_samples: int) -> list[int]:
    """Window starts exactly as the reference picks them at a 1 s hop.

    It counts windows from whole seconds and slices ``[k*sr, int((k+9.01)*sr))``,
    whose float end sometimes rounds one sample short; it skips those windows.
    Keeping that quirk keeps our scores identical to published DNSMOS numbers.
    """
    n = int(np.floor(n_samples / SAMPLE_RATE) - WINDOW / SAMPLE_RATE) + 1
    return [k * SAMPLE_RATE for k in range(max(n, 1))
            if int((k + WINDOW / SAMPLE_RATE) * SAMPLE_RATE) - k * SAMPLE_RATE >= WINDOW]


class DNSMOS:
    """``dnsmos(wave, sr) -> {"ovrl", "sig", "bak", "p808"}``; ``score_many(waves, sr) -> list`` batched."""

    name = "dnsmos"
    sample_rate = SAMPLE_RATE

    def __init__(self, personalized: bool = False, hop_seconds: float = 1.0, min_seconds: float = 0.5,
                 silence_dbfs: float = -70.0, batch_size: int = 4, threads: int = 1):
        if hop_seconds <= 0:
            raise QualityError(f"dnsmos: hop_seconds must be > 0, got {hop_seconds}")
        self.personalized = bool(personalized)
        self.hop = int(round(hop_seconds * SAMPLE_RATE))
        self.min_seconds = float(min_seconds)
        self.silence_peak = 10 ** (silence_dbfs / 20)
        self.batch_size = max(1, int(batch_size))
        self.threads = int(threads)
        self._lock = threading.Lock()

    def __call__(self, waveform: np.ndarray, sample_rate: int) -> dict:
        return self.score_many([waveform], sample_rate)[0]

    def _prepare(self, waveform, sample_rate: int, i: int):
        """16 kHz windows of one clip, or a fixed score dict for the edge cases."""
        wave = np.asarray(waveform)
        if wave.ndim != 1:
            raise QualityError(f"dnsmos: clip {i} has shape {wave.shape}; pass 1-D mono audio")
        wave = wave.astype(np.float32, copy=False)
        if not np.isfinite(wave).all():
            raise QualityError(f"dnsmos: clip {i} contains NaN/Inf samples; fix the audio or drop the clip")
        if wave.size < self.min_seconds * sample_rate or wave.size == 0:
            return dict.fromkeys(KEYS, float("nan"))
        if np.abs(wave).max() < self.silence_peak:
            return dict.fromkeys(KEYS, 1.0)
        if sample_rate != SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, sample_rate, SAMPLE_RATE).astype(np.float32)
        if wave.size < WINDOW:
            wave = np.tile(wave, -(-WINDOW // wave.size))  # the reference doubles until long enough; same content
        if self.hop == SAMPLE_RATE:
            starts = reference_starts(wave.size)
        else:
            starts = range(0, wave.size - WINDOW + 1, self.hop)
        return np.stack([wave[s: s + WINDOW] for s in starts])

    def score_many(self, waves, sample_rate: int) -> list[dict]:
        """Scores for each clip, in order; all clips' windows are run together in batches."""
        prepared = [self._prepare(w, int(sample_rate), i) for i, w in enumerate(waves)]
        segments = [p for p in prepared if isinstance(p, np.ndarray)]
        if not segments:
            return prepared
        windows = np.concatenate(segments)
        raw, p808 = self._run(windows)
        sig_p, bak_p, ovr_p = (np.poly1d(c) for c in POLY[self.personalized])
        per_window = np.stack([ovr_p(raw[:, 2]), sig_p(raw[:, 0]), bak_p(raw[:, 1]), p808], axis=1)
        out, at = [], 0
        for p in prepared:
            if isinstance(p, dict):
                out.append(p)
                continue
            mean = per_window[at: at + len(p)].mean(axis=0)
            at += len(p)
            out.append({k: float(v) for k, v in zip(KEYS, mean)})
        return out

    def _run(self, windows: np.ndarray):
        primary = _session("personalized" if self.personalized else "primary", self.threads)
        p808 = _session("p808", self.threads)
        raw, mos = [], []
        with self._lock:  # one onnxruntime call at a time keeps the thread count honest
            for s in range(0, len(windows), self.batch_size):
                batch = windows[s: s + self.batch_size]
                raw.append(primary.run(None, {"input_1": batch})[0])
                feats = np.stack([p808_features(w) for w in batch])
                mos.append(p808.run(None, {"input_1": feats})[0][:, 0])
        return np.concatenate(raw).astype(np.float64), np.concatenate(mos).astype(np.float64)
