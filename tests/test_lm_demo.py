"""The demo LM: a tiny GLM and a tokenizer from the dataset's own text, built once, deterministic."""

import json

import pytest
import torch
from transformers import GlmForCausalLM

from audiorole.models.lm import demo_lm
from audiorole.text.template import ChatFormat
from semantic_fakes import make_prepared

SMALL = {"text_vocab": 200, "hidden_size": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate_size": 128}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("demo_lm"))


def test_tokenizer_has_the_chat_tokens_and_one_audio_token_per_cached_code(prepared):
    prepared_dir, series = prepared
    model, tokenizer = demo_lm.load_demo_lm(prepared_dir, series, **SMALL)
    fmt = ChatFormat(tokenizer)
    assert fmt.vocab.n_audio == 16  # the synthetic token cache's codebook size
    assert isinstance(model, GlmForCausalLM) and model.config.vocab_size == len(tokenizer)
    for key in ("pad_token_id", "eos_token_id", "bos_token_id"):
        assert 0 <= getattr(model.config, key) < len(tokenizer)
    text = "Cast off now."
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text
    sample = fmt.sample("You are Ann.", [], text, [1, 2, 3])
    logits = model(torch.tensor([sample["input_ids"]])).logits
    assert logits.shape == (1, len(sample["input_ids"]), len(tokenizer))


def test_built_once_and_reused(prepared, monkeypatch):
    prepared_dir, series = prepared
    path = demo_lm.demo_lm_dir(prepared_dir, series, **SMALL)
    assert json.loads((path / "audiorole_demo_lm.json").read_text())["n_audio"] == 16
    monkeypatch.setattr(demo_lm, "train_tokenizer", lambda *a, **k: pytest.fail("rebuilt a cached demo LM"))
    assert demo_lm.demo_lm_dir(prepared_dir, series, **SMALL) == path
    monkeypatch.undo()
    assert demo_lm.demo_lm_dir(prepared_dir, series, **{**SMALL, "layers": 1}) != path  # another config, another folder


def test_deterministic_across_builds(prepared, tmp_path):
    import shutil

    prepared_dir, series = prepared
    copy = tmp_path / "copy"
    shutil.copytree(prepared_dir, copy, ignore=shutil.ignore_patterns("lm"))
    a_model, a_tok = demo_lm.load_demo_lm(prepared_dir, series, **SMALL)
    b_model, b_tok = demo_lm.load_demo_lm(copy, series, **SMALL)
    assert a_tok.get_vocab() == b_tok.get_vocab()
    for (name, a), (_, b) in zip(a_model.state_dict().items(), b_model.state_dict().items()):
        assert torch.equal(a, b), name
