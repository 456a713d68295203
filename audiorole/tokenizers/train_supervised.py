"""Train the offline supervised tokenizer on transcribed corpora, and write its artifact.

    python -m audiorole.tokenizers.train_supervised --corpus DIR [--corpus DIR ...] --out DIR \\
        [--codebook-size 1024] [--epochs 40] [--warmup 4] [--seed 0] [--frames-cache DIR]

Corpora are folders written by ``python -m audiorole.demo.base_corpus`` (clips with their
exact text and a voice split): train voices train, the dev voice selects the epoch (dev CER
of the CTC head reading the codes), test voices are only reported. The Whisper tiny.en
frames of every clip are computed once (``--frames-cache``). Training: a warm-up without
quantisation, then the codebook starts from k-means on the quantiser's outputs and trains
with EMA updates, a commitment loss and dead-code restarts (``vq.py``). What it wrote, the
dev/test CER and the code usage go to ``<out>/config.json`` ("trained_on").
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from audiorole.tokenizers.clip_frames import clip_frames, corpus_clips
from audiorole.tokenizers.ctc_training import score, train_ctc, transcribe
from audiorole.tokenizers.supervised import ARRAYS, SupervisedTokenizer
from audiorole.tokenizers.supervised_model import SupervisedVQ
from audiorole.tokenizers.vq import usage
from audiorole.tokenizers.whisper_encoder import POOL, WhisperEncoder
from audiorole.utils.atomic import atomic_dir

log = logging.getLogger(__name__)
INIT_FRAMES = 200_000  # k-means initialisation draws at most this many vectors


def _batch(frames: dict[str, np.ndarray], ids) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(frames[k]) // POOL for k in ids])
    x = torch.zeros(len(ids), int(lengths.max()) * POOL, next(iter(frames.values())).shape[1])
    for i, k in enumerate(ids):
        x[i, : len(frames[k])] = torch.from_numpy(frames[k].astype(np.float32))
    return x, lengths


def train(corpora: list[str | Path], out: str | Path, *, codebook_size: int = 1024, epochs: int = 40, warmup: int = 4,
          seed: int = 0, lr: float = 2e-3, frames_cache: str | Path | None = None, threads: int = 0) -> SupervisedTokenizer:
    torch.manual_seed(seed)
    encoder = WhisperEncoder(threads=threads)
    clips, frames = [], {}
    for corpus in corpora:  # one cache entry per corpus: adding a corpus re-encodes only it
        clips += corpus_clips(corpus)
        frames.update(clip_frames(corpus_clips(corpus), frames_cache, encoder=encoder))
    texts = {c.id: c.text for c in clips}
    lengths = {c.id: len(frames[c.id]) // POOL for c in clips}
    parts = {part: [c.id for c in clips if c.split == part] for part in ("train", "dev", "test")}
    model = SupervisedVQ(codebook_size)
    quantising = {"on": False}

    def forward(ids, training):
        x, frame_lengths = _batch(frames, ids)
        log_probs, _, commitment = model(x, frame_lengths, quantise=quantising["on"])
        return log_probs, frame_lengths, commitment, model.head.upsample

    def on_epoch(epoch):
        if epoch == warmup:
            with torch.no_grad():
                z = torch.cat([model.quantizer.continuous(_batch(frames, [k])[0])[0] for k in parts["train"]])
            z = z[torch.randperm(len(z), generator=torch.Generator().manual_seed(seed))[:INIT_FRAMES]]
            model.quantizer.vq.init(z, generator=torch.Generator().manual_seed(seed))
            quantising["on"] = True
            log.info("codebook initialised by k-means on %d vectors; quantising from epoch %d", len(z), epoch)

    model, history = train_ctc(model, forward, texts, lengths, parts["train"], parts["dev"], epochs=epochs, lr=lr,
                               seed=seed, on_epoch=on_epoch, select_from=warmup)
    quantising["on"] = True
    results = {part: score(transcribe(forward, {k: lengths[k] for k in ids}), texts).__dict__
               for part, ids in parts.items() if ids and part != "train"}
    state = model.quantizer.state_dict()
    tok = SupervisedTokenizer({k: state[k].numpy() for k in ARRAYS}, encoder=encoder)
    codes = {part: np.concatenate([tok.codes_from_frames(frames[k]) for k in ids]) for part, ids in parts.items() if ids}
    code_usage = {part: dict(zip(("used", "perplexity"), usage(torch.from_numpy(c), codebook_size)))
                  for part, c in codes.items()}
    trained_on = {"corpora": [Path(c).name for c in corpora], "clips": {p: len(ids) for p, ids in parts.items()},
                  "minutes": {p: round(sum(lengths[k] for k in ids) / 12.5 / 60, 1) for p, ids in parts.items()},
                  "codebook_size": codebook_size, "epochs": epochs, "warmup": warmup, "seed": seed, "lr": lr,
                  "head_scores": results, "code_usage": code_usage, "history": history}
    tok = SupervisedTokenizer(tok.arrays, trained_on, encoder=encoder)
    with atomic_dir(Path(out)) as staged:
        tok.save(staged)
    log.info("wrote %s: %s", out, json.dumps({"head_scores": results, "code_usage": code_usage}))
    return tok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True, help="a base_corpus folder (repeatable)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--codebook-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames-cache", default=None, help="folder for the clips' encoder frames (reused by reruns)")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    tok = train(args.corpus, args.out, codebook_size=args.codebook_size, epochs=args.epochs, warmup=args.warmup,
                seed=args.seed, lr=args.lr, frames_cache=args.frames_cache, threads=args.threads)
    print(f"fingerprint {tok.fingerprint}")


if __name__ == "__main__":
    main()
