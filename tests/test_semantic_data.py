"""The semantic datamodule: whole-scene split shared with ARP-Eval, dialogues with context, encodable batches."""

import pytest

from audiorole.eval.eval_set import held_out_items
from audiorole.text.template import IGNORE
from semantic_build import build, semantic_cfg
from semantic_fakes import make_prepared


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("semantic_data"))


def test_dev_part_matches_the_held_out_dev_items_and_keeps_the_character(make_cfg, prepared):
    _, dm = build(semantic_cfg(make_cfg, *prepared))
    scenes = lambda cuts: {c.supervisions[0].custom["scene"] for c in cuts}  # noqa: E731
    assert dm.train_cuts and dm.val_cuts and not scenes(dm.train_cuts) & scenes(dm.val_cuts)
    held_out = held_out_items(prepared[0], "ann", part="dev")
    assert {c.supervisions[0].id for c in dm.val_cuts} == {i.id for i in held_out}
    assert {c.supervisions[0].speaker for c in list(dm.train_cuts) + list(dm.val_cuts)} == {"ann"}


def test_batches_hold_dialogues_that_encode_to_padded_tensors(make_cfg, prepared):
    module, dm = build(semantic_cfg(make_cfg, *prepared))
    batch = next(iter(dm.train_dataloader()))
    dialogues = batch["dialogues"]
    assert dialogues and all(d.character == "ann" and d.system.startswith("You are Ann.") for d in dialogues)
    with_context = [d for d in dialogues if d.context]
    assert with_context and all(len(d.context_codes) == len(d.context) for d in with_context)
    assert all(len(d.reply_codes) > 0 for d in dialogues)
    encoded = module.transfer_batch_to_device(batch, module.device, 0)
    ids, labels, mask = encoded["input_ids"], encoded["labels"], encoded["attention_mask"]
    assert ids.shape == labels.shape == mask.shape and ids.shape[0] == len(dialogues)
    for row, d in enumerate(dialogues):
        learned = labels[row][labels[row] != IGNORE]
        audio = [int(i) - module.chat.vocab.audio_offset for i in learned if module.chat.vocab.is_audio(int(i))]
        assert audio == d.reply_codes.tolist()             # every reply code is learned, as an audio token, in order
        assert int(learned[-1]) == module.chat.vocab.user  # and the stop token
        sample = module.chat.sample(d.system, d.context, d.reply_text, d.reply_codes, d.context_codes)
        assert int(mask[row].sum()) == len(sample["input_ids"])  # padding is masked out


def test_packing_by_config(make_cfg, prepared):
    module, dm = build(semantic_cfg(make_cfg, *prepared, ["model.pack_to=512"]))
    batch = module.transfer_batch_to_device(next(iter(dm.train_dataloader())), module.device, 0)
    assert "position_ids" in batch and "attention_mask" not in batch and batch["input_ids"].shape[1] <= 512
