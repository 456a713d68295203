"""Token information bound: how much of the words a recognizer can read from speech tokens alone.

    python bench/token_bound.py --corpus /tmp/base_corpus --corpus /tmp/broad_corpus \\
        [--prepared data/prepared/demo] [--tokenizer NAME=SPEC ...] [--epochs 30] [--frames-cache DIR]

For each tokenizer, every clip's codes are computed from the same Whisper tiny.en frames
(``clip_frames``: packed 30 s windows, computed once), and a small CTC recognizer (an
embedding of the codes → the convolutional head of ``ctc_head.py``) is trained on the codes of the
corpora's train voices only, selected on the dev voice, and scored on the held-out test
voices and, with ``--prepared``, on a prepared dataset's test replies (its transcripts are
the reference). Its CER is a ceiling for any decoder reading those codes: a decoder cannot
put back words the codes do not hold. Rows, in one run:

- ``continuous``: the ×4-pooled frames themselves, unquantised (what 12.5 Hz leaves);
- ``kmeans:K``: k-means codes as the offline k-means tokenizer makes them (per-clip mean
  removed, ``OfflineTokenizer.fit_features``), fitted on the train voices;
- ``kmeans-dir:PATH``: a k-means codebook folder as ``OfflineTokenizer`` saves it (e.g. the
  512-code codebook shipped before the supervised tokenizer);
- ``vq=DIR``: a supervised tokenizer artifact (``python -m audiorole.tokenizers.train_supervised``).

CER and WER are means over clips with a 95 % bootstrap interval (``audiorole.eval.uncertainty``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from audiorole.asr.wer import cer as clip_cer
from audiorole.asr.wer import wer as clip_wer
from audiorole.eval.uncertainty import mean_summary
from audiorole.tokenizers.characters import normalise
from audiorole.tokenizers.clip_frames import clip_frames, corpus_clips, dataset_clips
from audiorole.tokenizers.ctc_head import CTCHead
from audiorole.tokenizers.ctc_training import train_ctc, transcribe
from audiorole.tokenizers.whisper_encoder import POOL, WhisperEncoder, pool

log = logging.getLogger("token_bound")


class CodeRecognizer(nn.Module):
    """Codes (or continuous 12.5 Hz vectors) → characters.

    A few hundred clips of templated sentences are easy to memorise, so training masks 15 % of
    the input frames (SpecAugment's idea, on codes) and drops out the embedding: the recognizer
    must read sounds, not recall sentences, or its bound says more about it than about the codes.
    """

    def __init__(self, codebook_size: int | None, input_size: int = 384, size: int = 256, mask: float = 0.15):
        super().__init__()
        self.embed = nn.Embedding(codebook_size, size) if codebook_size else nn.Linear(input_size, size)
        self.mask, self.dropout = mask, nn.Dropout(0.2)
        self.head = CTCHead(size, size)

    def forward(self, x, lengths):
        h = self.embed(x)
        if self.training and self.mask:
            h = h * (torch.rand(h.shape[:2], device=h.device) >= self.mask)[..., None]
        return self.head(self.dropout(h), lengths)


def codes_of(spec: str, frames: dict[str, np.ndarray], train_ids: list[str]) -> tuple[dict, int | None]:
    """Clip id → codes (or pooled frames for ``continuous``), and the codebook size."""
    from audiorole.tokenizers.offline import OfflineTokenizer
    from audiorole.tokenizers.supervised import SupervisedTokenizer

    pooled = {k: pool(f.astype(np.float32)) for k, f in frames.items()}
    if spec == "continuous":
        return pooled, None
    if spec.startswith("kmeans:"):
        size = int(spec.split(":")[1])
        tok = OfflineTokenizer.fit_features([pooled[k] for k in train_ids], {"codebook_size": size},
                                            encoder=_shared_encoder())
    elif spec.startswith("kmeans-dir:"):
        tok = OfflineTokenizer.load(spec.split(":", 1)[1])
    else:
        vq = SupervisedTokenizer.load(spec)
        return {k: vq.codes_from_frames(f) for k, f in frames.items()}, vq.codebook_size
    # Per clip, as the k-means tokenizer encodes a clip alone ("utterance": the clip's mean removed).
    return {k: tok.codes_from_features([p])[0] for k, p in pooled.items()}, tok.codebook_size


_ENCODER = []


def _shared_encoder() -> WhisperEncoder:
    if not _ENCODER:
        _ENCODER.append(WhisperEncoder())
    return _ENCODER[0]


def bound(spec: str, frames, texts, parts, epochs: int, seed: int) -> dict:
    inputs, size = codes_of(spec, frames, parts["train"])
    torch.manual_seed(seed)
    model = CodeRecognizer(size)
    lengths = {k: len(v) for k, v in inputs.items()}

    def forward(ids, training):
        n = torch.tensor([lengths[k] for k in ids])
        if size:
            x = torch.zeros(len(ids), int(n.max()), dtype=torch.long)
        else:
            x = torch.zeros(len(ids), int(n.max()), next(iter(inputs.values())).shape[1])
        for i, k in enumerate(ids):
            x[i, : lengths[k]] = torch.from_numpy(np.asarray(inputs[k]))
        return model(x, n), n, torch.zeros(()), model.head.upsample

    start = time.time()
    model, history = train_ctc(model, forward, texts, lengths, parts["train"], parts["dev"], epochs=epochs, seed=seed)
    row = {"tokenizer": spec, "codebook": size, "train_seconds": round(time.time() - start),
           "best_dev_cer": min(h.get("dev_cer", 9) for h in history)}
    for part in [p for p in parts if p not in ("train", "dev")]:
        hyps = transcribe(forward, {k: lengths[k] for k in parts[part]})
        refs = {k: normalise(texts[k]) for k in hyps}
        row[part] = {"cer": mean_summary([clip_cer(refs[k], hyps[k]) for k in hyps]),
                     "wer": mean_summary([clip_wer(refs[k], hyps[k]) for k in hyps])}
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", action="append", required=True)
    ap.add_argument("--prepared", default=None, help="a prepared dataset: its test replies are scored too")
    ap.add_argument("--tokenizer", action="append", default=None,
                    help="continuous | kmeans:K | kmeans-dir:PATH | a supervised tokenizer folder (repeatable)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames-cache", default=None)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    clips, frames = [], {}
    for corpus in args.corpus:
        clips += corpus_clips(corpus)
        frames.update(clip_frames(corpus_clips(corpus), args.frames_cache, encoder=_shared_encoder()))
    parts = {p: [c.id for c in clips if c.split == p] for p in ("train", "dev", "test")}
    texts = {c.id: c.text for c in clips}
    if args.prepared:
        replies = dataset_clips(args.prepared, "test")
        frames.update(clip_frames(replies, args.frames_cache, encoder=_shared_encoder()))
        parts["dataset_test"] = [c.id for c in replies]
        texts.update({c.id: c.text for c in replies})
    log.info("clips: %s", {p: len(ids) for p, ids in parts.items()})
    rows = [bound(spec, frames, texts, parts, args.epochs, args.seed)
            for spec in (args.tokenizer or ["continuous", "kmeans:512", "kmeans:2048"])]
    scored = [p for p in parts if p not in ("train", "dev")]
    print(f"\n{'tokenizer':<40}{'codes':>7}" + "".join(f"{p + ' CER':>28}{p + ' WER':>12}" for p in scored))
    for row in rows:
        line = f"{Path(row['tokenizer']).name:<40}{str(row['codebook'] or '-'):>7}"
        for p in scored:
            c, w = row[p]["cer"], row[p]["wer"]
            line += f"{c['mean']:>10.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] n={c['n']:<4}{w['mean']:>8.3f}"
        print(line)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
