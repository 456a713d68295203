"""The LoRA module: what trains, merge parity, learning, adapter-only checkpoints that resume exactly, respond()."""

import copy

import lightning as L
import numpy as np
import pytest
import torch

from audiorole.eval.eval_set import held_out_items
from audiorole.eval.items import Output
from audiorole.models.lm import lora as lora_lib
from semantic_build import build, semantic_cfg
from semantic_fakes import make_prepared

MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("semantic_module"))


def test_only_the_adapters_train(make_cfg, prepared):
    module, _ = build(semantic_cfg(make_cfg, *prepared))
    expected = sorted([f"base_model.model.model.layers.{layer}.{'self_attn' if m in ATTENTION else 'mlp'}.{m}.lora_{ab}.default.weight"
                       for layer in range(2) for m in MODULES for ab in "AB"]
                      + ["base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta.default"])
    assert sorted(lora_lib.trainable_names(module.model)) == expected
    # The added rows (chat + audio tokens) train, shared by the tied output layer; the old rows do not.
    added = module.model.get_input_embeddings().token_adapter.token_indices["default"]
    assert added == list(range(added[0], module.chat.vocab.size)) and module.chat.vocab.audio_offset in added
    optimised = {id(p) for group in module.configure_optimizers().param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.model.parameters() if p.requires_grad}


def test_training_base_weights_is_refused(make_cfg, prepared):
    from audiorole.errors import AudioroleError

    with pytest.raises(AudioroleError, match="base weights would train"):
        build(semantic_cfg(make_cfg, *prepared, ["+model.lora.modules_to_save=[lm_head]"]))


def _perturbed(module):
    with torch.no_grad():
        for name, p in module.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    return module


def test_merged_equals_unmerged(make_cfg, prepared, tmp_path):
    module, _ = build(semantic_cfg(make_cfg, *prepared))
    ids = torch.tensor([module.chat.prompt("You are Ann.", []) + [module.chat.vocab.audio_offset + 3] * 10])
    with torch.no_grad():
        base = module.model.get_base_model()(ids).logits.clone()   # B = 0: adapters add nothing yet
        _perturbed(module)
        unmerged = module.model(ids).logits
        merged = lora_lib.merged_copy(module.model)(ids).logits
    assert not torch.allclose(unmerged, base, atol=1e-3)
    torch.testing.assert_close(merged, unmerged, atol=1e-4, rtol=1e-4)
    from transformers import AutoModelForCausalLM

    exported = lora_lib.export_merged(module.model, module.tokenizer, tmp_path / "merged")
    with torch.no_grad():
        torch.testing.assert_close(AutoModelForCausalLM.from_pretrained(exported)(ids).logits, unmerged, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("pack", [None, 4096])
def test_losses_on_labelled_positions_equal_the_full_logits(make_cfg, prepared, pack):
    import torch.nn.functional as F

    from audiorole.text.template import IGNORE

    overrides = [f"model.pack_to={pack}"] if pack else []
    module, dm = build(semantic_cfg(make_cfg, *prepared, overrides))
    dialogues = [d for batch in dm.train_dataloader() for d in batch["dialogues"]][:3]
    batch = module.transfer_batch_to_device({"dialogues": dialogues}, module.device, 0)
    _perturbed(module)
    with torch.no_grad():
        nll, mask, audio = module.token_losses(batch)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
        full = module.model(**inputs, use_cache=False).logits[:, :-1].float()  # every position's logits
    target = batch["labels"][:, 1:]
    labelled = target != IGNORE
    reference = F.cross_entropy(full[labelled], target[labelled])
    assert mask.sum() == labelled.sum() and mask.shape[1] < target.shape[1]  # fewer positions went through the head
    torch.testing.assert_close(nll[mask].mean(), reference, atol=1e-5, rtol=1e-5)
    assert audio[mask].any() and (~audio[mask]).any()


@pytest.fixture
def one_thread():
    """Tiny models run far faster on one thread than on two contended ones (and the result is the same)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_tiny_model_overfits_a_handful_of_replies(make_cfg, prepared, one_thread):
    torch.manual_seed(0)  # LoRA's A matrices are drawn at wrap time
    module, dm = build(semantic_cfg(make_cfg, *prepared, ["model.optimizer.lr=5e-3"]))
    dialogues = [d for batch in dm.train_dataloader() for d in batch["dialogues"]][:2]
    batch = module.transfer_batch_to_device({"dialogues": dialogues}, module.device, 0)
    optimizer = module.configure_optimizers()
    module.train()
    module.log = lambda *a, **k: None  # no trainer attached
    first = None
    for _ in range(150):
        loss = module.training_step(batch, 0)
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = module.training_step(batch, 0).item()
    # ~5.8 -> ~1.15: the tiny base is random and frozen (its text rows and tied head never train).
    assert final < first / 4, (first, final)


def _trainer(root, epochs):
    return L.Trainer(accelerator="cpu", max_epochs=epochs, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=root,
                     callbacks=[L.pytorch.callbacks.ModelCheckpoint(dirpath=root / "ckpt", save_last=True)])


def test_checkpoints_hold_adapters_only_and_resume_exactly(make_cfg, prepared, tmp_path, one_thread):
    cfg = semantic_cfg(make_cfg, *prepared, ["model.export_dir=null"])
    torch.manual_seed(0)  # the same initial adapters for both runs
    straight, dm = build(cfg)
    _trainer(tmp_path / "a", 2).fit(straight, datamodule=dm)

    torch.manual_seed(0)
    first, dm = build(cfg)
    _trainer(tmp_path / "b", 1).fit(first, datamodule=dm)
    state = torch.load(tmp_path / "b" / "ckpt" / "last.ckpt", weights_only=True)["state_dict"]
    assert state and all(lora_lib.is_adapter_key(k) for k in state)
    assert {f"model.{name}" for name in lora_lib.trainable_names(first.model)} <= set(state)
    assert len(state) <= len(lora_lib.trainable_names(first.model)) + 1  # + the added rows' initial values

    resumed, dm = build(cfg)
    _trainer(tmp_path / "b", 2).fit(resumed, datamodule=dm, ckpt_path=tmp_path / "b" / "ckpt" / "last.ckpt")
    for (name, a), (_, b) in zip(lora_lib.adapter_state(straight.state_dict()).items(),
                                 lora_lib.adapter_state(resumed.state_dict()).items()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)

    # A fresh module restored from the adapter-only checkpoint answers exactly like the trained one.
    restored, _ = build(cfg)
    restored.on_load_checkpoint({"state_dict": state})
    restored.load_state_dict(state, strict=False)
    ids = torch.tensor([first.chat.prompt("You are Ann.", []) + [first.chat.vocab.audio_offset + 1] * 5])
    with torch.no_grad():
        torch.testing.assert_close(restored.model(ids).logits, first.model(ids).logits)
        assert not torch.allclose(build(cfg)[0].model(ids).logits, first.model(ids).logits, atol=1e-4)


def test_respond_gives_text_and_speaks_with_a_decoder(make_cfg, prepared, tmp_path):
    from flow_fakes import tiny_flow

    prepared_dir, series = prepared
    items = held_out_items(prepared_dir, "ann", part="dev")[:1]
    module, _ = build(semantic_cfg(make_cfg, *prepared))
    [silent] = module.respond(items)
    assert isinstance(silent, Output) and silent.text is not None and silent.wave.shape == (0,)

    decoder = tiny_flow()
    decoder.save(tmp_path / "decoder")
    speaking, _ = build(semantic_cfg(make_cfg, *prepared, [f"model.decoder_dir={tmp_path / 'decoder'}",
                                                             "model.decoder_steps=2"]))
    _perturbed(speaking)
    [spoken] = speaking.respond(items)
    assert spoken.sample_rate == 22050 and spoken.wave.dtype == np.float32
    parts = speaking.reply(copy.copy(_dialogue(speaking, items[0])))[1]
    assert parts.well_formed and (len(spoken.wave) > 0) == (len(parts.codes) > 0)


def _dialogue(module, item):
    from audiorole.text.dialogues import from_eval_item

    return from_eval_item(item, module._systems()[item.character])


def test_a_run_can_start_from_another_runs_adapter_and_exports_its_decoding(make_cfg, prepared, tmp_path):
    """``model.init_from``: the LoRA starts at the given adapter's weights (e.g. a cast-wide run's), refused when
    it does not fit; the export carries the decoding the run used (generation.json), which reply/app/eval read."""
    import json

    from audiorole.errors import AudioroleError

    first = _perturbed(build(semantic_cfg(make_cfg, *prepared, ["model.generation.do_sample=true",
                                                               "model.generation.repetition_penalty=1.3"]))[0])
    adapter = first.export(tmp_path / "first") / "adapter"
    saved = json.loads((adapter / "generation.json").read_text())
    assert saved["do_sample"] is True and saved["repetition_penalty"] == 1.3
    assert lora_lib.read_generation(adapter) == saved and lora_lib.read_generation(tmp_path) == {}

    ids = torch.tensor([first.chat.prompt("You are Ann.", []) + [first.chat.vocab.audio_offset + 3] * 10])
    started = build(semantic_cfg(make_cfg, *prepared, [f"model.init_from={adapter}"]))[0]
    fresh = build(semantic_cfg(make_cfg, *prepared))[0]
    with torch.no_grad():
        torch.testing.assert_close(started.model(ids).logits, first.model(ids).logits)
        assert not torch.allclose(fresh.model(ids).logits, first.model(ids).logits, atol=1e-4)
    with pytest.raises(AudioroleError, match="does not fit this model.lora"):
        build(semantic_cfg(make_cfg, *prepared, [f"model.init_from={adapter}", "model.lora.r=4"]))
    with pytest.raises(AudioroleError, match="no adapter_model.safetensors"):
        build(semantic_cfg(make_cfg, *prepared, [f"model.init_from={tmp_path}"]))


def test_answering_with_a_merged_copy_says_the_same_and_leaves_the_training_model(make_cfg, prepared):
    from peft import PeftModel

    items = held_out_items(prepared[0], "ann", part="dev")[:2]
    module = _perturbed(build(semantic_cfg(make_cfg, *prepared, ["model.merge_to_answer=false"]))[0])
    merging = build(semantic_cfg(make_cfg, *prepared, ["model.merge_to_answer=true"]))[0]
    merging.model.load_state_dict(module.model.state_dict())
    copy_ = merging.answering_model()
    assert not isinstance(copy_, PeftModel) and module.answering_model() is module.model
    assert [o.text for o in merging.respond(items)] == [o.text for o in module.respond(items)]
    assert isinstance(merging.model, PeftModel) and lora_lib.trainable_names(merging.model)
