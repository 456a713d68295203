"""GLM-4-Voice loads with no remote code: a tiny checkpoint in the public ChatGLM layout, converted to Glm.

The logits are checked against a ChatGLM forward pass written here from the
original layout's weights (fused q/k/v with key/value groups, rotary on the
first half of each head in adjacent pairs with base 10000 * rope_ratio,
RMSNorm, SwiGLU), and the tokenizer against tiktoken's byte-pair algorithm
run on the rank table, both independent of the code under test.
"""

import json
import math
import re
import shutil

import pytest
import regex
import torch
from safetensors import safe_open

from audiorole.errors import AudioroleError
from audiorole.models.lm.convert import main as convert_main
from audiorole.models.lm.glm4voice_layout import CheckpointError
from audiorole.models.lm.load import audio_token_offset, load_glm4voice
from audiorole.models.lm.tiny_glm4voice import CORPUS, write_tiny_checkpoint

# GLM-4's pre-tokenizer regex, as tokenization_chatglm.py states it.
GLM4_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
TEXTS = CORPUS.splitlines() + [
    "Completely unseen words: zebra quartz ½ 🎉\r\n\ttabs", "   leading spaces", "trailing   ", "a\n\n\nb",
    "I'M SHOUTING, WE'LL see", "Ünïcödé façade 東京 123456789", "",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("glm4voice") / "ckpt")


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_glm4voice(tiny, dtype="float32")


def original_state(root):
    state = {}
    for path in sorted(root.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            state.update({k: f.get_tensor(k).double() for k in f.keys()})
    return state


def chatglm_reference(state, cfg, ids, rope_ratio=None):
    """ChatGLM's forward (modeling_chatglm semantics) in float64, from the original tensors."""
    heads, groups, d = cfg["num_attention_heads"], cfg["multi_query_group_num"], cfg["kv_channels"]
    eps = cfg["layernorm_epsilon"]
    ratio = cfg["rope_ratio"] if rope_ratio is None else rope_ratio
    s = len(ids)

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    n = d // 2  # rotary dims per head: RotaryEmbedding(kv_channels // 2)
    theta = 1.0 / (10000.0 * ratio) ** (torch.arange(0, n, 2, dtype=torch.float64) / n)
    angle = torch.arange(s, dtype=torch.float64)[:, None] * theta[None]
    cos, sin = angle.cos(), angle.sin()

    def rotary(t):  # (heads, s, d): rotate pairs (0,1), (2,3), ... of the first n dims
        x0, x1, rest = t[..., 0:n:2], t[..., 1:n:2], t[..., n:]
        return torch.cat([torch.stack([x0 * cos - x1 * sin, x1 * cos + x0 * sin], -1).flatten(-2), rest], -1)

    causal = torch.ones(s, s, dtype=torch.bool).tril()
    x = state["transformer.embedding.word_embeddings.weight"][ids]
    for i in range(cfg["num_layers"]):
        p = f"transformer.encoder.layers.{i}."
        y = rms(x, state[p + "input_layernorm.weight"])
        qkv = y @ state[p + "self_attention.query_key_value.weight"].T + state[p + "self_attention.query_key_value.bias"]
        q, k, v = qkv.split([heads * d, groups * d, groups * d], -1)
        q = rotary(q.view(s, heads, d).transpose(0, 1))
        k = rotary(k.view(s, groups, d).transpose(0, 1)).repeat_interleave(heads // groups, 0)
        v = v.view(s, groups, d).transpose(0, 1).repeat_interleave(heads // groups, 0)
        scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~causal, float("-inf"))
        context = (scores.softmax(-1) @ v).transpose(0, 1).reshape(s, heads * d)
        x = x + context @ state[p + "self_attention.dense.weight"].T
        y = rms(x, state[p + "post_attention_layernorm.weight"])
        gate, up = (y @ state[p + "mlp.dense_h_to_4h.weight"].T).chunk(2, -1)
        x = x + (torch.nn.functional.silu(gate) * up) @ state[p + "mlp.dense_4h_to_h.weight"].T
    x = rms(x, state["transformer.encoder.final_layernorm.weight"])
    return x @ state["transformer.output_layer.weight"].T


def prompt_ids(tokenizer, n=24):
    text = "<|system|>\nYou are Mara.<|user|>\n<|begin_of_audio|><|audio_3|><|audio_17|><|end_of_audio|>" \
           "<|assistant|>streaming_transcription\nI told you"
    return tokenizer(text).input_ids[:n]


def test_converted_logits_match_the_chatglm_forward(tiny, loaded):
    model, tokenizer = loaded
    cfg = json.loads((tiny / "config.json").read_text())
    ids = prompt_ids(tokenizer)
    with torch.no_grad():
        got = model(torch.tensor([ids])).logits[0].double()
    state = original_state(tiny)
    want = chatglm_reference(state, cfg, ids)
    assert got.shape == want.shape == (len(ids), cfg["padded_vocab_size"])
    assert torch.allclose(got, want, atol=1e-5, rtol=0), (got - want).abs().max()
    # The comparison can fail: the wrong rotary base alone moves the logits far past the tolerance.
    assert (chatglm_reference(state, cfg, ids, rope_ratio=1.0) - got).abs().max() > 1e-3


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


def tiktoken_encode(text, ranks, specials):
    """tiktoken's algorithm: split out specials, regex pre-split, then merge the lowest-ranked pair first."""
    out = []
    for part in re.split("(" + "|".join(map(re.escape, specials)) + ")", text):
        if part in specials:
            out.append(specials[part])
            continue
        for piece in regex.findall(GLM4_SPLIT, part):
            parts = [bytes([b]) for b in piece.encode()]
            while len(parts) > 1:
                pairs = [(ranks[a + b], i) for i, (a, b) in enumerate(zip(parts, parts[1:])) if a + b in ranks]
                if not pairs:
                    break
                _, i = min(pairs)
                parts[i:i + 2] = [parts[i] + parts[i + 1]]
            out += [ranks[p] for p in parts]
    return out


def test_tokenizer_matches_tiktoken_and_round_trips(tiny, loaded):
    import base64

    _, tokenizer = loaded
    ranks = {base64.b64decode(t): int(r) for t, r in
             (line.split() for line in (tiny / "tokenizer.model").read_text().splitlines())}
    added = json.loads((tiny / "tokenizer_config.json").read_text())["added_tokens_decoder"]
    specials = {v["content"]: int(k) for k, v in added.items()}
    for text in TEXTS + ["<|user|>\nhi<|audio_0|><|audio_31|> there<|assistant|>"]:
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert ids == tiktoken_encode(text, ranks, specials), text
        assert tokenizer.decode(ids) == text
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
    ids = prompt_ids(tokenizer)
    assert tok2(TEXTS[0]).input_ids == tokenizer(TEXTS[0]).input_ids
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

    shard = sorted(root.glob("*.safetensors"))[-1]
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


def test_the_model_config_builds_the_loader(tiny):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from conftest import CONF_DIR

    cfg = OmegaConf.load(CONF_DIR / "model" / "lm" / "glm4voice.yaml")
    assert cfg.path == "THUDM/glm-4-voice-9b"
    model, tokenizer = instantiate(cfg, path=str(tiny))()  # a partial, called by the module
    assert type(model).__name__ == "GlmForCausalLM" and next(model.parameters()).dtype == torch.bfloat16
    assert audio_token_offset(tokenizer) == tokenizer.convert_tokens_to_ids("<|audio_0|>")
