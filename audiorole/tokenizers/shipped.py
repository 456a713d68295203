"""The offline tokenizer's shipped codebook, fitted once on the base-decoder corpus.

``tokenizer=offline`` loads this artifact (``codebooks/base_corpus/``, float16 arrays,
each file pinned by sha256 below) instead of fitting a codebook on the dataset's
own audio at its first run: no demo audio shapes the codes, the first run skips
the fit, and the shipped base decoder (``audiorole/models/flow/base/``) speaks
exactly these codes. ``tokenizer=offline_fit`` still fits on a dataset's train part.

Rebuild: the shipped codebook was fitted on the corpus's first 20 minutes (the corpus is a
pure function of its seed, so this is a prefix of the 60-minute one the base decoder trained on;
its train voices give 17.6 min), with::

    python -m audiorole.demo.base_corpus --out /tmp/base_20 --minutes 20 --seed 0
    python -m audiorole.tokenizers.shipped --corpus /tmp/base_20 --threads 1

then paste the printed sha256 pins into ``SHA256``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from audiorole.tokenizers.base import TokenizerError
from audiorole.tokenizers.offline import OfflineTokenizer
from audiorole.tokenizers.offline_fit import FIT_ON
from audiorole.utils.atomic import atomic_dir, atomic_path
from audiorole.utils.weights import file_sha256, verify_shipped

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "codebooks" / "base_corpus"
SHA256 = {
    "centroids.npy": "7e7a0c54887e7eb113727f4315772ed7141f9bb2a82971afad7292bb855ac725",
    "config.json": "4b66165f2b7473bd8f9695770239b9f749c14d32f649f2c1216b22e6e7e24de3",
    "feature_mean.npy": "c066ccf1c5c1380c158b8a89be625e8726bcae662188855cea4cd80996304e1b",
    "feature_std.npy": "7a01809939f88d3807dd00bf8380de2df152667108e5a03268d5b71ffabbb551",
}
SETTINGS = {"codebook_size": 512, "seed": 0}
WINDOW_SECONDS = 28.0  # clips of one voice joined up to this: one encoder pass per ~30 s window


def verify(directory: Path = SHIPPED_DIR) -> Path:
    """``directory`` if every file matches its pin, else a one-line TokenizerError naming the file."""
    return verify_shipped(directory, SHA256, TokenizerError)


def load_shipped(copy_to: str | Path | None = None, *, threads: int = 0, batch_size: int = 1) -> OfflineTokenizer:
    """The shipped tokenizer; with ``copy_to`` its artifact is also copied there (the dataset then
    records which codebook its tokens came from, and tools given that folder keep working)."""
    tok = OfflineTokenizer.load(verify(), threads=threads, batch_size=batch_size)
    if copy_to is not None:
        copy_to = Path(copy_to)
        for name in SHA256:
            if not (copy_to / name).is_file() or file_sha256(copy_to / name) != SHA256[name]:
                with atomic_path(copy_to / name) as tmp:
                    shutil.copyfile(SHIPPED_DIR / name, tmp)
        (copy_to / FIT_ON).unlink(missing_ok=True)  # left by a codebook fitted there before: not this one
    return tok


def corpus_windows(corpus_dir: str | Path, split: str = "train", sample_rate: int = 16000) -> list[np.ndarray]:
    """The corpus's ``split`` clips, joined per voice into windows of up to ``WINDOW_SECONDS``."""
    from audiorole.audio.decode import load_audio
    from audiorole.demo.base_corpus import read_cuts

    by_voice: dict[str, list] = defaultdict(list)
    for cut in read_cuts(corpus_dir):
        sup = cut.supervisions[0]
        if sup.custom["split"] == split:
            by_voice[sup.speaker].append(cut.recording.sources[0].source)
    windows = []
    for voice in sorted(by_voice):
        pending, length = [], 0
        for path in by_voice[voice]:
            wave = load_audio(path, sample_rate)
            if pending and length + len(wave) > WINDOW_SECONDS * sample_rate:
                windows.append(np.concatenate(pending))
                pending, length = [], 0
            pending.append(wave)
            length += len(wave)
        if pending:
            windows.append(np.concatenate(pending))
    return windows


def fit_shipped(corpus_dir: str | Path, out: Path = SHIPPED_DIR, threads: int = 0) -> OfflineTokenizer:
    """Fit the codebook on the corpus's train voices and write it, float16, into ``out``."""
    windows = corpus_windows(corpus_dir)
    log.info("fitting on %d windows (%.1f min) of the corpus's train voices", len(windows),
             sum(len(w) for w in windows) / 16000 / 60)
    tok = OfflineTokenizer.fit(windows, threads=threads, **SETTINGS).rounded("float16")
    with atomic_dir(out) as staged:
        tok.save(staged, dtype="float16")
    return tok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit the shipped offline codebook on the base-decoder corpus")
    parser.add_argument("--corpus", required=True, help="folder written by python -m audiorole.demo.base_corpus")
    parser.add_argument("--out", default=str(SHIPPED_DIR))
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    tok = fit_shipped(args.corpus, Path(args.out), args.threads)
    print(f"fingerprint {tok.fingerprint}")
    for name in sorted(SHA256):
        print(f'    "{name}": "{file_sha256(Path(args.out) / name)}",')


if __name__ == "__main__":
    main()
