"""Training and scoring a CTC recognizer on 12.5 Hz inputs (frames or codes), selected on dev CER.

Shared by the supervised tokenizer (``train_supervised.py``: frames → quantiser → head) and
the token bound (``bench/token_bound.py``: codes → embedding → head), so both are trained,
selected and scored the same way: length-bucketed batches, AdamW with a one-cycle schedule,
greedy CTC decoding, corpus CER/WER by the project's one normalisation (``audiorole.asr.wer``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from audiorole.asr.wer import char_errors, word_errors
from audiorole.tokenizers.characters import greedy_text, labels, normalise

log = logging.getLogger(__name__)

# forward(ids, train) -> (log_probs (B, U·T, labels), lengths (B,) in frames, extra loss, upsample)
Forward = Callable[[Sequence[str], bool], tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]


def length_batches(lengths: dict[str, int], max_frames: int, rng: np.random.Generator | None = None) -> list[list[str]]:
    """Ids grouped by length into batches of at most ``max_frames`` padded frames; shuffled with ``rng``."""
    batches, current, longest = [], [], 0
    for key in sorted(lengths, key=lambda k: (lengths[k], k)):
        longest_if = max(longest, lengths[key])
        if current and longest_if * (len(current) + 1) > max_frames:
            batches.append(current)
            current, longest_if = [], lengths[key]
        current.append(key)
        longest = longest_if
    if current:
        batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


@dataclass
class Scores:
    cer: float
    wer: float
    n: int

    def __str__(self) -> str:
        return f"CER {self.cer:.3f} WER {self.wer:.3f} (n={self.n})"


def transcribe(forward: Forward, lengths: dict[str, int], max_frames: int = 4000) -> dict[str, str]:
    """Greedy CTC transcripts of every id."""
    out = {}
    with torch.no_grad():
        for batch in length_batches(lengths, max_frames):
            log_probs, frame_lengths, _, upsample = forward(batch, False)
            best = log_probs.argmax(-1)
            for i, key in enumerate(batch):
                out[key] = greedy_text(best[i, : int(frame_lengths[i]) * upsample].tolist())
    return out


def score(hypotheses: dict[str, str], texts: dict[str, str]) -> Scores:
    """Corpus CER and WER (errors summed over reference characters / words)."""
    ce = cn = we = wn = 0
    for key, hyp in hypotheses.items():
        ref = normalise(texts[key])
        e, n = char_errors(ref, hyp)
        ce, cn = ce + e, cn + n
        e, n = word_errors(ref, hyp)
        we, wn = we + e, wn + n
    return Scores(ce / max(cn, 1), we / max(wn, 1), len(hypotheses))


def train_ctc(model: torch.nn.Module, forward: Forward, texts: dict[str, str], lengths: dict[str, int],
              train: Sequence[str], dev: Sequence[str], *, epochs: int, lr: float = 2e-3, max_frames: int = 400,
              seed: int = 0, commitment: float = 0.25, on_epoch: Callable[[int], None] | None = None,
              validate_every: int = 2, select_from: int = 0) -> tuple[torch.nn.Module, list[dict]]:
    """Train ``model`` through ``forward``; return it at its best dev CER, and the per-epoch history.

    ``on_epoch(epoch)`` runs before each epoch (e.g. the codebook's k-means initialisation
    after a warm-up); epochs before ``select_from`` are validated but cannot be selected
    (a warm-up without quantisation). The one-cycle schedule spans all epochs.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    targets = {k: torch.tensor(labels(texts[k])) for k in train}
    train_lengths = {k: lengths[k] for k in train}
    dev_lengths = {k: lengths[k] for k in dev}
    steps = epochs * len(length_batches(train_lengths, max_frames))
    optimizer = torch.optim.AdamW(model.parameters(), lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps, pct_start=0.1)
    best, best_state, history, start = float("inf"), None, [], time.time()
    for epoch in range(epochs):
        if on_epoch is not None:
            on_epoch(epoch)
        model.train()
        total = count = 0
        for batch in length_batches(train_lengths, max_frames, rng):
            log_probs, frame_lengths, extra, upsample = forward(batch, True)
            ys = [targets[k] for k in batch]
            loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), torch.cat(ys), frame_lengths * upsample,
                                                torch.tensor([len(y) for y in ys]), zero_infinity=True)
            loss = loss + commitment * extra
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()), count + 1
        row = {"epoch": epoch, "loss": total / max(count, 1), "seconds": round(time.time() - start, 1)}
        if (epoch + 1) % validate_every == 0 or epoch == epochs - 1:
            model.eval()
            dev_scores = score(transcribe(forward, dev_lengths), texts)
            row.update(dev_cer=dev_scores.cer, dev_wer=dev_scores.wer)
            if epoch >= select_from and dev_scores.cer < best:
                best, best_state = dev_scores.cer, copy.deepcopy(model.state_dict())
        history.append(row)
        log.info("%s", row)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history
