"""Samples -> a batch: right-padded rows with an attention mask, or packed rows.

Packed rows concatenate samples up to ``max_length`` tokens; positions restart
at 0 for each sample and neither an attention mask nor a KV cache is passed
(``use_cache=False``), which transformers (4.57, torch >= 2.6) reads as packed
sequences and turns into a block-diagonal causal mask, so samples in one row
never attend to each other (tested against separate forwards).
"""

import torch

from audiorole.text.template import IGNORE


def pad_batch(samples: list[dict], pad_id: int) -> dict:
    longest = max(len(s["input_ids"]) for s in samples)
    input_ids = torch.full((len(samples), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), longest), IGNORE, dtype=torch.long)
    attention_mask = torch.zeros((len(samples), longest), dtype=torch.long)
    for row, s in enumerate(samples):
        n = len(s["input_ids"])
        input_ids[row, :n] = torch.tensor(s["input_ids"])
        labels[row, :n] = torch.tensor(s["labels"])
        attention_mask[row, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def pack_batch(samples: list[dict], max_length: int, pad_id: int) -> dict:
    """First-fit-decreasing packing into rows of at most ``max_length`` (a longer sample gets its own row)."""
    rows: list[list[dict]] = []
    for s in sorted(samples, key=lambda s: -len(s["input_ids"])):
        for row in rows:
            if sum(len(x["input_ids"]) for x in row) + len(s["input_ids"]) <= max_length:
                row.append(s)
                break
        else:
            rows.append([s])
    longest = max(sum(len(x["input_ids"]) for x in row) for row in rows)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), longest), IGNORE, dtype=torch.long)
    # Padding continues the last sample's positions so it is not read as one more sample (it is never learned).
    position_ids = torch.zeros((len(rows), longest), dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for s in row:
            n = len(s["input_ids"])
            input_ids[r, start:start + n] = torch.tensor(s["input_ids"])
            labels[r, start:start + n] = torch.tensor(s["labels"])
            position_ids[r, start:start + n] = torch.arange(n)
            start += n
        if start < longest:
            last = int(position_ids[r, start - 1])
            position_ids[r, start:] = torch.arange(last + 1, last + 1 + longest - start)
    return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids}
