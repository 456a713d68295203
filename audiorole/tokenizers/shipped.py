"""The offline tokenizer shipped with the code: the supervised tokenizer trained on the base-decoder corpus.

``tokenizer=offline`` loads this artifact (``offline_vq/``: ``quantizer.npz`` + ``config.json``,
each file pinned by sha256 below): Whisper tiny.en frames quantised by a codebook trained with
a CTC loss on the corpus's exact text (``supervised.py``), so its codes carry the words. No demo
audio shapes it, a run does not train one, and the shipped base decoder
(``audiorole/models/flow/base/``) speaks exactly these codes. ``tokenizer=offline_fit`` still
fits a k-means codebook on a dataset's own train part.

Rebuild (the corpora are pure functions of their seeds; docs/speech_tokens.md has the figures)::

    python -m audiorole.demo.base_corpus --out /tmp/base_corpus --minutes 45 --seed 0
    python -m audiorole.demo.base_corpus --out /tmp/broad_corpus --minutes 66 --seed 0 --vocabulary broad
    python -m audiorole.tokenizers.train_supervised --corpus /tmp/base_corpus --corpus /tmp/broad_corpus \\
        --out audiorole/tokenizers/offline_vq --codebook-size 1024 --epochs 30 --seed 0
    python -m audiorole.tokenizers.shipped        # prints the pins to paste into SHA256
"""

from __future__ import annotations

import shutil
from pathlib import Path

from audiorole.tokenizers.base import TokenizerError
from audiorole.tokenizers.supervised import SupervisedTokenizer
from audiorole.utils.atomic import atomic_path
from audiorole.utils.weights import file_sha256, verify_shipped

SHIPPED_DIR = Path(__file__).parent / "offline_vq"
SHA256 = {
    "config.json": "ea9e47fc1c89466493fd2510cf0773ee29fdbda76dd331f420d507d707dd4b39",
    "quantizer.npz": "0d04bf67d48872fd35cfcfa6804ff924b1168f287266840ce39fc3770445a240",
}


def verify(directory: Path = SHIPPED_DIR) -> Path:
    """``directory`` if every file matches its pin, else a one-line TokenizerError naming the file."""
    return verify_shipped(directory, SHA256, TokenizerError)


def load_shipped(copy_to: str | Path | None = None, *, threads: int = 0, batch_size: int = 1) -> SupervisedTokenizer:
    """The shipped tokenizer; with ``copy_to`` its artifact is also copied there (the dataset then
    records which tokenizer its tokens came from, and tools given that folder keep working)."""
    tok = SupervisedTokenizer.load(verify(), threads=threads, batch_size=batch_size)
    if copy_to is not None:
        copy_to = Path(copy_to)
        for stale in copy_to.glob("*"):  # a k-means codebook fitted there before (tokenizer=offline_fit)
            if stale.is_file() and stale.name not in SHA256:
                stale.unlink()
        for name in SHA256:
            if not (copy_to / name).is_file() or file_sha256(copy_to / name) != SHA256[name]:
                with atomic_path(copy_to / name) as tmp:
                    shutil.copyfile(SHIPPED_DIR / name, tmp)
    return tok


def main() -> None:
    for name in sorted(SHA256):
        print(f'    "{name}": "{file_sha256(SHIPPED_DIR / name)}",')


if __name__ == "__main__":
    main()
