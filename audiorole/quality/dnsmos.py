"""Microsoft DNSMOS (P.835 SIG/BAK/OVRL + P.808) from the ONNX models shipped in ``speechmos``.

Same numbers as ``speechmos.dnsmos.run`` (and Microsoft's reference script) for
clips of 9.01 s or more: 9.01 s windows every ``hop_seconds`` (1 s, as the
reference; each second is then scored ~9 times: a larger hop trades exact parity
for speed), per-window scores averaged, SIG/BAK/OVRL mapped through the
published polynomials. We call the models ourselves so windows go through
onnxruntime in batches, with a fixed thread count, and so edge cases have
defined results.

Shorter clips (most replies: 1-8 s) are scored at their own length, tiled up
to ``min_window_seconds`` (4.5 s) when shorter: both networks are convolutions
ending in a global max pool over time, and the exported graphs only fix the
input length (9.01 s, 900 frames), so we load them with the time axis left free
(``_free_time_axis``). The reference instead tiles every short clip up to
9.01 s and averages several overlapping windows of the tiled clip: the same
frames under the same max pool, plus the seams, at 2-9x the compute. Not
identical: on the demo's 74 truth utterances of 2.9-8.3 s, OVRL differs from the
reference by -0.02 on average (mean absolute 0.06, largest 0.20; P.808 -0.06),
and 4 of the 74 land on the other side of the 2.5 filter threshold
(docs/prep_speed.md). ``tile_short_clips=True`` restores the reference's tiling.

- clips shorter than ``min_seconds`` get NaN for every score (a syllable says
  nothing about quality; ``ReplyFilter`` drops NaN);
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
WINDOW = 144160  # 9.01 s at 16 kHz, the exported models' input length
FRAME = 160  # the primary model frames audio in 10 ms hops (20 ms frames): lengths are multiples of this
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
    return ort.InferenceSession(_free_time_axis(path), opts, providers=["CPUExecutionProvider"])


def _free_time_axis(path) -> bytes:
    """The model with its input's time axis symbolic instead of fixed to 9.01 s.

    The P.835 graph frames its input by slicing ``[:, :144000]`` and ``[:, 160:]``
    and reshaping each to ``[-1, 900, 160]``; those constants become "all but the
    last frame" and ``[batch, -1, 160]``. Everything after is convolutions and
    global max pooling, which take any length. The P.808 graph only needs its
    input shape freed.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "time"
    del model.graph.value_info[:]  # shapes inferred for 9.01 s; recomputed per run
    fixed = {"input_1:01_cropping_end": [2**63 - 1, -FRAME],
             "shape_tensor": [0, -1, FRAME], "shape_tensor1": [0, -1, FRAME]}
    for init in model.graph.initializer:
        if init.name in fixed:
            init.CopyFrom(numpy_helper.from_array(np.array(fixed[init.name], np.int64), init.name))
    return model.SerializeToString()


def p808_features(segment: np.ndarray) -> np.ndarray:
    """[frames, 120] log-mel input of the P.808 model (900 frames for 9.01 s), computed as the reference does."""
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
                 silence_dbfs: float = -70.0, batch_size: int = 4, threads: int = 1, tile_short_clips: bool = False,
                 min_window_seconds: float = 4.5):
        if hop_seconds <= 0:
            raise QualityError(f"dnsmos: hop_seconds must be > 0, got {hop_seconds}")
        self.personalized = bool(personalized)
        self.hop = int(round(hop_seconds * SAMPLE_RATE))
        self.min_seconds = float(min_seconds)
        self.silence_peak = 10 ** (silence_dbfs / 20)
        self.batch_size = max(1, int(batch_size))
        self.threads = int(threads)
        self.tile_short_clips = bool(tile_short_clips)
        self.min_window = int(min_window_seconds * SAMPLE_RATE)
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
            if not self.tile_short_clips:
                if wave.size < self.min_window:
                    wave = np.tile(wave, -(-self.min_window // wave.size))[: self.min_window]
                return wave[None, : wave.size // FRAME * FRAME]  # one window of the clip's own length
            wave = np.tile(wave, -(-WINDOW // wave.size))  # the reference doubles until long enough; same content
        if self.hop == SAMPLE_RATE:
            starts = reference_starts(wave.size)
        else:
            starts = range(0, wave.size - WINDOW + 1, self.hop)
        return np.stack([wave[s: s + WINDOW] for s in starts])

    def score_many(self, waves, sample_rate: int) -> list[dict]:
        """Scores for each clip, in order; windows of equal length (all 9.01 s ones) run together in batches."""
        prepared = [self._prepare(w, int(sample_rate), i) for i, w in enumerate(waves)]
        segments = [p for p in prepared if isinstance(p, np.ndarray)]
        if not segments:
            return prepared
        windows = [w for seg in segments for w in seg]
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

    def _run(self, windows: list[np.ndarray]):
        """Raw P.835 outputs and P.808 MOS per window; a batch only holds windows of one length
        (padding a window would change its score)."""
        primary = _session("personalized" if self.personalized else "primary", self.threads)
        p808 = _session("p808", self.threads)
        raw, mos = np.zeros((len(windows), 3)), np.zeros(len(windows))
        by_length = {}
        for i, w in enumerate(windows):
            by_length.setdefault(len(w), []).append(i)
        with self._lock:  # one onnxruntime call at a time keeps the thread count honest
            for idx in by_length.values():
                for s in range(0, len(idx), self.batch_size):
                    part = idx[s: s + self.batch_size]
                    batch = np.stack([windows[i] for i in part])
                    raw[part] = primary.run(None, {"input_1": batch})[0]
                    feats = np.stack([p808_features(w) for w in batch])
                    mos[part] = p808.run(None, {"input_1": feats})[0][:, 0]
        return raw, mos
