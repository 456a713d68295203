"""Whisper encoder frames of many transcribed clips, computed once: what tokenizers train and are probed on.

A clip is (id, audio path, text, speaker, split). Its frames are the 50 Hz encoder outputs
over the clip, taken from packed 30 s windows (``packing.pack``: the same windows the token
cache encodes), so a clip of ``n`` codes has exactly ``4·n`` frames. Frames are cached in
``<cache>/<key>.npz`` (float16) keyed by the encoder's weights and the clips' audio, so the
tokenizer's training and the token bound reuse one encoder pass over a corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from audiorole.tokenizers.packing import pack
from audiorole.tokenizers.whisper_encoder import POOL, SAMPLE_RATE, SAMPLES_PER_TOKEN, WINDOW_SAMPLES, WhisperEncoder
from audiorole.utils.atomic import atomic_path
from audiorole.utils.weights import file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    id: str
    audio: str
    text: str
    speaker: str
    split: str


def corpus_clips(corpus_dir: str | Path) -> list[Clip]:
    """The clips of a corpus written by ``python -m audiorole.demo.base_corpus``."""
    from audiorole.demo.base_corpus import read_cuts

    return [Clip(c.supervisions[0].id, c.recording.sources[0].source, c.supervisions[0].text,
                 c.supervisions[0].speaker, c.supervisions[0].custom["split"]) for c in read_cuts(corpus_dir)]


def dataset_clips(prepared_dir: str | Path, part: str) -> list[Clip]:
    """The replies of one part (train | dev | test) of a prepared dataset: transcript, character."""
    from audiorole.data.replies import load_cuts
    from audiorole.data.splits import load_splits, part_cuts

    cuts = part_cuts(load_cuts(prepared_dir), load_splits(prepared_dir), part)
    return [Clip(c.supervisions[0].id, c.recording.sources[0].source, c.supervisions[0].text,
                 c.supervisions[0].speaker, part) for c in cuts]


def _key(clips: list[Clip], encoder: WhisperEncoder) -> str:
    h = hashlib.sha256(encoder.weights_sha256.encode())
    for clip in clips:
        h.update(json.dumps(asdict(clip), sort_keys=True).encode())
        h.update(file_sha256(Path(clip.audio)).encode())
    return h.hexdigest()[:16]


def clip_frames(clips: list[Clip], cache_dir: str | Path | None = None, *, encoder: WhisperEncoder | None = None,
                threads: int = 0) -> dict[str, np.ndarray]:
    """Clip id → (4·n_codes, dim) float16 encoder frames; cached in ``cache_dir`` when given."""
    from audiorole.audio.decode import load_audio

    encoder = encoder or WhisperEncoder(threads=threads)
    path = Path(cache_dir) / f"{_key(clips, encoder)}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as stored:
            return {k: stored[k] for k in stored.files}
    waves = [load_audio(c.audio, SAMPLE_RATE) for c in clips]
    windows, places = pack(waves, WINDOW_SAMPLES, SAMPLES_PER_TOKEN)
    log.info("encoding %d clips in %d windows", len(clips), len(windows))
    frames = encoder.window_frames(windows)
    out = {c.id: np.concatenate([frames[p.window][p.first * POOL:(p.first + p.count) * POOL] for p in where])
           .astype(np.float16) for c, where in zip(clips, places)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **out)
    return out
