"""A tiny random checkpoint in the exact layout of ``THUDM/glm-4-voice-9b``.

Tests (and users' CI) load it through the same code path as the real model:
a ChatGLM ``config.json`` with the public field names (tiny sizes), weights
under the public parameter names in two safetensors shards with a
``model.safetensors.index.json``, a tiktoken-format ``tokenizer.model`` and a
``tokenizer_config.json`` whose ``added_tokens_decoder`` lays out the special
tokens as GLM-4-Voice does: GLM-4's specials, then ``<|begin_of_audio|>``,
``<|end_of_audio|>``, transcription markers and reserved ids, then the audio
tokens ``<|audio_0|>`` ... in one contiguous run.

The BPE ranks are learnt on a small built-in text by plain byte-pair merging,
so they are a valid rank table (every token is the merge of two lower-ranked
tokens). Weights are random; norms are not ones, so a mis-mapped norm shows.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

from audiorole.models.lm.chatglm_tokenizer import GLM4_PATTERN, LEGACY_SPECIALS
from audiorole.models.lm.glm4voice_layout import CONFIG, INDEX, TOKENIZER_CONFIG, TOKENIZER_MODEL

# After GLM-4's specials, GLM-4-Voice's own markers (ids 151343.. in the public tokenizer).
VOICE_SPECIALS = ["<|begin_of_audio|>", "<|end_of_audio|>", "<|begin_of_transcription|>", "<|end_of_transcription|>"]
CORPUS = """\
Mara: I told you the boat leaves at nine, not at ten. Why is nobody ever on time?
Otis: Because the coffee machine broke again, and I'm not leaving without coffee.
June: You two argue like an old married couple. Let's go, the tide won't wait for us!
Mara: It's 8:45 already... we'll miss it. I can't believe this, honestly.
Otis: Relax. The captain owes me 20 dollars; he'll wait. Café au lait, anyone?
June: 你好! Numbers like 12345 and 2024-10-25 split into groups of three.
Mara: "Quiet," she said.   Tabs\tand  double  spaces,
new lines\n\nand 'quotes' they're we've I'd you'll.
"""


def public_config(**tiny) -> dict:
    """``config.json`` with the public file's fields (GLM-4-Voice-9B sizes); ``tiny`` overrides them.

    Sizes are GLM-4-9B's (40 layers, 4096 hidden, 13696 FFN, 32 heads in 2
    key/value groups of 128 dims). The vocabulary is 151329 BPE ranks, 1024
    special/reserved ids and 16384 audio tokens from ``<|audio_0|>`` = 152353,
    padded to 168960 rows.
    """
    config = {
        "_name_or_path": "THUDM/glm-4-voice-9b", "add_bias_linear": False, "add_qkv_bias": True,
        "apply_query_key_layer_scaling": True, "apply_residual_connection_post_layernorm": False,
        "architectures": ["ChatGLMForConditionalGeneration"], "attention_dropout": 0.0,
        "attention_softmax_in_fp32": True,
        "auto_map": {"AutoConfig": "configuration_chatglm.ChatGLMConfig",
                     "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration",
                     "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration"},
        "bias_dropout_fusion": True, "classifier_dropout": None, "eos_token_id": [151329, 151336, 151338],
        "ffn_hidden_size": 13696, "fp32_residual_connection": False, "hidden_dropout": 0.0, "hidden_size": 4096,
        "kv_channels": 128, "layernorm_epsilon": 1.5625e-07, "model_type": "chatglm", "multi_query_attention": True,
        "multi_query_group_num": 2, "num_attention_heads": 32, "num_layers": 40, "original_rope": True,
        "pad_token_id": 151329, "padded_vocab_size": 168960, "post_layer_norm": True, "rmsnorm": True,
        "rope_ratio": 1, "seq_length": 8192, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "transformers_version": "4.44.2", "use_cache": True,
    }
    config.update(tiny)
    return config


def learn_ranks(text: str, merges: int) -> dict[bytes, int]:
    """A tiktoken-style rank table: the 256 bytes, then ``merges`` byte-pair merges learnt on ``text``."""
    import regex

    words = Counter(tuple(bytes([b]) for b in m.encode()) for m in regex.findall(GLM4_PATTERN, text))
    ranks = {bytes([b]): b for b in range(256)}
    for _ in range(merges):
        pairs = Counter()
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pairs[a, b] += count
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))  # ties broken by bytes: deterministic
        ranks.setdefault(a + b, len(ranks))
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return ranks


def special_layout(first_id: int, n_audio: int, reserved: int = 3) -> dict[str, int]:
    """Special and audio token ids laid out as GLM-4-Voice does, starting at ``first_id``."""
    names = LEGACY_SPECIALS + VOICE_SPECIALS
    names += [f"<|reserved_{first_id + len(names) + i}|>" for i in range(reserved)]
    names += [f"<|audio_{i}|>" for i in range(n_audio)]
    return {name: first_id + i for i, name in enumerate(names)}


def write_tiny_checkpoint(out: str | Path, *, num_layers: int = 2, hidden_size: int = 64, num_heads: int = 4,
                          kv_groups: int = 2, ffn_hidden_size: int = 96, n_audio: int = 32, merges: int = 200,
                          rope_ratio: float = 500.0, seed: int = 0, shards: int = 2) -> Path:
    """Write the tiny checkpoint to ``out`` (created) and return it."""
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranks = learn_ranks(CORPUS, merges)
    specials = special_layout(len(ranks), n_audio)
    vocab = max(specials.values()) + 1
    padded = -(-vocab // 64) * 64 + 64  # padded past the last token, as the public checkpoint is
    head_dim = hidden_size // num_heads
    ids = {k: specials[k] for k in ("<|endoftext|>", "<|user|>", "<|observation|>")}
    config = public_config(
        _name_or_path="tiny-glm-4-voice", num_layers=num_layers, hidden_size=hidden_size,
        ffn_hidden_size=ffn_hidden_size, kv_channels=head_dim, num_attention_heads=num_heads,
        multi_query_group_num=kv_groups, padded_vocab_size=padded, seq_length=256, rope_ratio=rope_ratio,
        layernorm_epsilon=1e-5, torch_dtype="float32", pad_token_id=ids["<|endoftext|>"],
        eos_token_id=list(ids.values()))
    (out / CONFIG).write_text(json.dumps(config, indent=2))

    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=None):
        std = std if std is not None else shape[-1] ** -0.5
        return torch.randn(*shape, generator=g) * std

    qkv = (num_heads + 2 * kv_groups) * head_dim
    state = {"transformer.embedding.word_embeddings.weight": randn(padded, hidden_size, std=1.0)}
    for i in range(num_layers):
        p = f"transformer.encoder.layers.{i}."
        state.update({
            p + "input_layernorm.weight": 1 + 0.2 * randn(hidden_size, std=1.0),
            p + "self_attention.query_key_value.weight": randn(qkv, hidden_size),
            p + "self_attention.query_key_value.bias": randn(qkv, std=0.2),
            p + "self_attention.dense.weight": randn(hidden_size, num_heads * head_dim),
            p + "post_attention_layernorm.weight": 1 + 0.2 * randn(hidden_size, std=1.0),
            p + "mlp.dense_h_to_4h.weight": randn(2 * ffn_hidden_size, hidden_size),
            p + "mlp.dense_4h_to_h.weight": randn(hidden_size, ffn_hidden_size),
        })
    state["transformer.encoder.final_layernorm.weight"] = 1 + 0.2 * randn(hidden_size, std=1.0)
    state["transformer.output_layer.weight"] = randn(padded, hidden_size)
    # The remote code keeps this buffer in the checkpoint (base 10000, rope_ratio applied later).
    state["transformer.rotary_pos_emb.inv_freq"] = 1.0 / 10000 ** (torch.arange(0, head_dim // 2, 2).float()
                                                                   / (head_dim // 2))
    names = list(state)
    per = -(-len(names) // shards)
    weight_map = {}
    for s in range(shards):
        part = names[s * per:(s + 1) * per]
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        save_file({k: state[k].contiguous() for k in part}, str(out / fname), metadata={"format": "pt"})
        weight_map.update({k: fname for k in part})
    total = sum(t.numel() * t.element_size() for t in state.values())
    (out / INDEX).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))

    write_tokenizer_files(out, ranks, specials)
    return out


def write_tokenizer_files(out: Path, ranks: dict[bytes, int], specials: dict[str, int]) -> None:
    """``tokenizer.model`` (tiktoken ranks) and ``tokenizer_config.json`` (special/audio ids) as published."""
    (out / TOKENIZER_MODEL).write_bytes(b"".join(base64.b64encode(t) + b" %d\n" % r for t, r in ranks.items()))
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                      "special": not t.startswith("<|audio_")} for t, i in specials.items()}
    (out / TOKENIZER_CONFIG).write_text(json.dumps({
        "added_tokens_decoder": added, "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLM4Tokenizer", None]},
        "clean_up_tokenization_spaces": False, "do_lower_case": False, "eos_token": "<|endoftext|>",
        "model_max_length": 8192, "pad_token": "<|endoftext|>", "padding_side": "left", "remove_space": False,
        "tokenizer_class": "ChatGLM4Tokenizer"}, indent=2))
