"""Padding and packing: packed samples see only themselves (logits equal separate forwards)."""

import torch

from tiny_lm import tiny_glm
from audiorole.text.collate import pack_batch, pad_batch
from audiorole.text.template import IGNORE


def samples():
    return [{"input_ids": [5, 6, 7, 8, 9], "labels": [IGNORE, IGNORE, 7, 8, 9]},
            {"input_ids": [10, 11, 12], "labels": [IGNORE, 11, 12]},
            {"input_ids": [13, 14, 15, 16], "labels": [IGNORE, IGNORE, IGNORE, 16]}]


def test_pad_batch_right_pads_with_masked_labels():
    batch = pad_batch(samples(), pad_id=0)
    assert batch["input_ids"].tolist()[1] == [10, 11, 12, 0, 0]
    assert batch["labels"].tolist()[1] == [IGNORE, 11, 12, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1] * 5, [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]


def test_pack_batch_restarts_positions_per_sample():
    batch = pack_batch(samples(), max_length=8, pad_id=0)
    # first-fit decreasing: [5-token] + [3-token] in one row, the 4-token sample in the next
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 0, 0, 0, 0]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4, 0, 1, 2], [0, 1, 2, 3, 4, 5, 6, 7]]
    assert batch["labels"].tolist()[1] == [IGNORE, IGNORE, IGNORE, 16] + [IGNORE] * 4
    assert "attention_mask" not in batch


def test_packed_logits_equal_separate_forwards():
    model = tiny_glm(vocab_size=32, special_id=0, hidden_size=32, layers=2, heads=2, kv_heads=1,
                     intermediate_size=64, seed=0).eval()
    batch = pack_batch(samples(), max_length=8, pad_id=0)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        separate = [model(input_ids=torch.tensor([s["input_ids"]])).logits[0] for s in samples()]
    torch.testing.assert_close(packed[0, :5], separate[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed[0, 5:8], separate[1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed[1, :4], separate[2], atol=1e-5, rtol=1e-4)
    # and the check can fail: without position resets the second sample attends to the first
    with torch.no_grad():
        leaked = model(input_ids=batch["input_ids"], use_cache=False).logits
    assert not torch.allclose(leaked[0, 5:8], separate[1], atol=1e-3)
