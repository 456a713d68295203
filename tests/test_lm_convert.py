"""GLM-4-Voice loads with no remote code: the public ChatGLM layout, converted to transformers' Glm.

``tests/fixtures/glm4voice_lm`` was written by the authors' ChatGLM remote code
(``modeling_chatglm.py`` as shipped beside GLM-4-Voice-9B; ``make.py`` there, provenance in
``golden.json``): a tiny ``ChatGLMForConditionalGeneration`` saved with their
``save_pretrained``, what their ``ChatGLM4Tokenizer`` (tiktoken) makes of fixed texts, their
logits on a GLM-4-Voice prompt and their greedy continuation. The tokenizer files follow the
public layout (``tiny_glm4voice.write_tokenizer_files``).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from audiorole.errors import AudioroleError
from audiorole.models.lm.convert import main as convert_main
from audiorole.models.lm.glm4voice_layout import CheckpointError
from audiorole.models.lm.load import audio_token_offset, load_glm4voice
from audiorole.models.lm.tiny_glm4voice import write_tiny_checkpoint

FIXTURE = Path(__file__).parent / "fixtures" / "glm4voice_lm"
GOLDEN = json.loads((FIXTURE / "golden.json").read_text())


@pytest.fixture(scope="module")
def tiny():
    return FIXTURE / "checkpoint"


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_glm4voice(tiny, dtype="float32")


def golden_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def test_converted_logits_equal_the_authors_chatglm(tiny, loaded):
    model, tokenizer = loaded
    ids = GOLDEN["input_ids"]
    assert tokenizer(GOLDEN["prompt"]).input_ids == ids
    want = torch.from_numpy(np.load(FIXTURE / "golden.npz")["logits"])
    got = golden_logits(model, ids)
    cfg = json.loads((tiny / "config.json").read_text())
    assert got.shape == want.shape == (len(ids), cfg["padded_vocab_size"])
    assert (got - want).abs().max() <= 1e-4
    assert GOLDEN["min_top2_logit_gap"] > 1e-3  # greedy choices are not near-ties


def test_the_logit_comparison_can_fail(tiny, tmp_path):
    bad = tmp_path / "rope"
    shutil.copytree(tiny, bad)
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "rope_ratio": 1.0}))  # the wrong rotary base alone
    model, _ = load_glm4voice(bad, dtype="float32")
    want = torch.from_numpy(np.load(FIXTURE / "golden.npz")["logits"])
    assert (golden_logits(model, GOLDEN["input_ids"]) - want).abs().max() > 1e-2


def test_greedy_decoding_equals_the_authors(loaded):
    model, _ = loaded
    ids = torch.tensor([GOLDEN["input_ids"]])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=len(GOLDEN["generated_ids"]))
    assert out[0, ids.shape[1]:].tolist() == GOLDEN["generated_ids"]


def test_the_tiny_writer_writes_the_authors_layout(tmp_path):
    """write_tiny_checkpoint (for users' CI) gives the tensor names and shapes their save_pretrained gives."""
    from safetensors import safe_open

    def tensors(root):
        out = {}
        for path in sorted(root.glob("*.safetensors")):
            with safe_open(str(path), framework="pt") as f:
                out.update({k: tuple(f.get_slice(k).get_shape()) for k in f.keys()})
        return out

    cfg = json.loads((FIXTURE / "checkpoint" / "config.json").read_text())
    ours = write_tiny_checkpoint(tmp_path / "ours", num_layers=cfg["num_layers"], hidden_size=cfg["hidden_size"],
                                 num_heads=cfg["num_attention_heads"], kv_groups=cfg["multi_query_group_num"],
                                 ffn_hidden_size=cfg["ffn_hidden_size"], rope_ratio=cfg["rope_ratio"])
    assert tensors(ours) == tensors(FIXTURE / "checkpoint")
    assert set(json.loads((ours / "config.json").read_text())) - set(cfg) == set()


def test_every_parameter_is_real_and_in_the_requested_dtype(tiny, loaded):
    model, _ = loaded
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())
    assert model.model.rotary_emb.inv_freq.device.type == "cpu"
    half, _ = load_glm4voice(tiny, dtype="bf16")
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}


def test_config_maps_the_chatglm_fields(tiny, loaded):
    model, tokenizer = loaded
    cfg, c = json.loads((tiny / "config.json").read_text()), loaded[0].config
    assert (c.model_type, c.num_hidden_layers, c.hidden_size, c.intermediate_size) == \
        ("glm", cfg["num_layers"], cfg["hidden_size"], cfg["ffn_hidden_size"])
    assert (c.num_attention_heads, c.num_key_value_heads, c.head_dim) == \
        (cfg["num_attention_heads"], cfg["multi_query_group_num"], cfg["kv_channels"])
    assert c.rope_theta == 10000 * cfg["rope_ratio"] and c.partial_rotary_factor == 0.5
    assert c.attention_bias is True and c.tie_word_embeddings is False and c.vocab_size == cfg["padded_vocab_size"]
    assert c.pad_token_id == tokenizer.convert_tokens_to_ids("<|endoftext|>") == tokenizer.pad_token_id
    assert tokenizer.convert_tokens_to_ids("<|user|>") in c.eos_token_id


def test_tokenizer_ids_and_decoding_equal_the_authors(loaded):
    _, tokenizer = loaded
    for entry in GOLDEN["tokenized"]:
        text = entry["text"]
        assert tokenizer(text, add_special_tokens=False).input_ids == entry["ids"], text
        assert tokenizer(text).input_ids == entry["ids_with_prefix"], text  # [gMASK]<sop> first, as theirs
        assert tokenizer.decode(entry["ids"], spaces_between_special_tokens=False) == entry["decoded"] == text
    # Learnt merges are used, not just bytes.
    assert len(tokenizer("the coffee machine", add_special_tokens=False).input_ids) < len("the coffee machine")


def test_special_and_audio_tokens_have_the_checkpoint_ids(tiny, loaded):
    _, tokenizer = loaded
    added = json.loads((tiny / "tokenizer_config.json").read_text())["added_tokens_decoder"]
    for key, entry in added.items():
        assert tokenizer.convert_tokens_to_ids(entry["content"]) == int(key)
    offset = audio_token_offset(tokenizer)
    assert offset == tokenizer.convert_tokens_to_ids("<|audio_0|>")
    assert tokenizer("<|audio_5|><|audio_31|>", add_special_tokens=False).input_ids == [offset + 5, offset + 31]
    # As the original tokenizer does, a plain call prefixes [gMASK]<sop>.
    gmask, sop = tokenizer.convert_tokens_to_ids(["[gMASK]", "<sop>"])
    assert tokenizer("hi").input_ids[:2] == [gmask, sop]
    assert tokenizer.padding_side == "left" and tokenizer.eos_token == "<|endoftext|>"


def test_audio_token_offset_refuses_a_gap(tiny, tmp_path):
    from audiorole.models.lm.chatglm_tokenizer import chatglm_tokenizer

    bad = tmp_path / "gap"
    shutil.copytree(tiny, bad)
    cfg = json.loads((bad / "tokenizer_config.json").read_text())
    table = cfg["added_tokens_decoder"]
    last = max(int(k) for k in table)
    six = next(k for k, v in table.items() if v["content"] == "<|audio_6|>")
    table[str(last + 1)] = table.pop(six)  # <|audio_6|> moved past the end
    (bad / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="not contiguous"):
        audio_token_offset(chatglm_tokenizer(bad))


def test_cli_writes_a_native_checkpoint_that_loads_the_same(tiny, loaded, tmp_path):
    model, tokenizer = loaded
    out = tmp_path / "converted"
    assert convert_main([str(tiny), str(out), "--dtype", "float32"]) == 0
    assert json.loads((out / "config.json").read_text())["model_type"] == "glm"
    again, tok2 = load_glm4voice(out)
    ids = GOLDEN["input_ids"]
    assert tok2(GOLDEN["prompt"]).input_ids == tokenizer(GOLDEN["prompt"]).input_ids
    assert audio_token_offset(tok2) == audio_token_offset(tokenizer)
    with torch.no_grad():
        assert torch.equal(again(torch.tensor([ids])).logits, model(torch.tensor([ids])).logits)


def _broken(tiny, tmp_path, how):
    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    how(bad)
    return bad


def _drop_tensor(root):
    from safetensors.torch import load_file, save_file

    shard = root / json.loads((root / "model.safetensors.index.json").read_text())["weight_map"][
        "transformer.encoder.final_layernorm.weight"]
    state = load_file(str(shard))
    state.pop("transformer.encoder.final_layernorm.weight")
    save_file(state, str(shard))


@pytest.mark.parametrize("how, says", [
    (lambda d: (d / "config.json").unlink(), "config.json: missing"),
    (lambda d: sorted(d.glob("*.safetensors"))[0].unlink(), "listed in model.safetensors.index.json but missing"),
    (_drop_tensor, "weights missing from the shards"),
    (lambda d: sorted(d.glob("*.safetensors"))[0].write_bytes(b"\0" * 100), "cannot read weights"),
    (lambda d: (d / "tokenizer.model").unlink(), "tokenizer.model: missing"),
    (lambda d: (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()),
                                                          "model_type": "llama"})), "expected 'chatglm'"),
    (lambda d: (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()),
                                                          "ffn_hidden_size": 64})), "config and weights disagree"),
])
def test_a_broken_checkpoint_gets_a_one_line_error_naming_it(tiny, tmp_path, how, says):
    bad = _broken(tiny, tmp_path, how)
    with pytest.raises(CheckpointError) as err:
        load_glm4voice(bad)
    assert says in str(err.value) and str(bad) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_directory_is_a_one_line_error(tmp_path):
    for path in (tmp_path / "nowhere", "./relative/typo"):
        with pytest.raises(AudioroleError, match="no such checkpoint directory") as err:
            load_glm4voice(path)
        assert "\n" not in str(err.value)
    assert convert_main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1


def test_a_hub_id_that_cannot_be_fetched_is_a_one_line_error_without_the_token(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never reaches the network
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token_123456")
    with pytest.raises(CheckpointError, match="fetching it from the Hugging Face hub failed") as err:
        load_glm4voice("nobody-here/no-such-model")
    assert "\n" not in str(err.value) and "hf_not_a_real_token" not in str(err.value)


def test_the_model_config_builds_the_loader(tiny, make_cfg):
    from hydra.utils import instantiate

    cfg = make_cfg(["stage=semantic", "model=semantic_glm4voice"]).model.lm
    assert cfg.path == "THUDM/glm-4-voice-9b"
    model, tokenizer = instantiate(cfg, path=str(tiny))()  # a partial, called by the module
    assert type(model).__name__ == "GlmForCausalLM" and next(model.parameters()).dtype == torch.bfloat16
    assert audio_token_offset(tokenizer) == tokenizer.convert_tokens_to_ids("<|audio_0|>")
