"""The ChatGLM checkpoint layout GLM-4-Voice-9B ships, and how it maps onto transformers' ``Glm``.

The public checkpoint is written for ``modeling_chatglm.py`` (remote code):
``config.json`` with ``model_type: chatglm`` and ChatGLM field names, and
weights named ``transformer.embedding.word_embeddings.weight``,
``transformer.encoder.layers.{i}.{input_layernorm, self_attention.query_key_value,
self_attention.dense, post_attention_layernorm, mlp.dense_h_to_4h, mlp.dense_4h_to_h}``,
``transformer.encoder.final_layernorm.weight``, ``transformer.output_layer.weight``
and the buffer ``transformer.rotary_pos_emb.inv_freq``.

transformers' ``GlmForCausalLM`` computes the same function:

- the fused ``query_key_value`` output is ``[q (heads*d) | k (groups*d) | v (groups*d)]``
  and query head ``h`` reads key/value group ``h // (heads / groups)``, exactly
  ``repeat_kv``; so q/k/v are row slices, with no permutation;
- ChatGLM rotates the first ``kv_channels / 2`` dims of each head in adjacent
  pairs ``(x0, x1)``, with ``base = 10000 * rope_ratio``; Glm's rotary with
  ``partial_rotary_factor=0.5`` rotates the same dims in the same interleaved
  pairs, so ``rope_theta = 10000 * rope_ratio`` and q/k keep their order;
- ``dense_h_to_4h`` is ``[gate | up]`` and SwiGLU is ``silu(gate) * up``, which
  is Glm's fused ``gate_up_proj`` as is;
- ``apply_query_key_layer_scaling`` multiplies and divides the scores by the
  layer number, a no-op up to rounding, so it needs nothing.

Variants this mapping cannot express (LayerNorm instead of RMSNorm, biases on
the dense layers, post-norm residuals) are refused with a one-line error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from audiorole.errors import AudioroleError

CONFIG = "config.json"
INDEX = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
TOKENIZER_MODEL = "tokenizer.model"
TOKENIZER_CONFIG = "tokenizer_config.json"

# ChatGLM's rotary base before rope_ratio scales it (modeling_chatglm.RotaryEmbedding).
ROPE_BASE = 10000.0
_LAYER = re.compile(r"^transformer\.encoder\.layers\.(\d+)\.(.+)$")
_PER_LAYER = {
    "input_layernorm.weight": "input_layernorm.weight",
    "self_attention.dense.weight": "self_attn.o_proj.weight",
    "post_attention_layernorm.weight": "post_attention_layernorm.weight",
    "mlp.dense_h_to_4h.weight": "mlp.gate_up_proj.weight",
    "mlp.dense_4h_to_h.weight": "mlp.down_proj.weight",
}
_GLOBAL = {
    "transformer.embedding.word_embeddings.weight": "model.embed_tokens.weight",
    "transformer.encoder.final_layernorm.weight": "model.norm.weight",
    "transformer.output_layer.weight": "lm_head.weight",
}
# Recomputed from the config by Glm's rotary embedding.
_DROPPED = {"transformer.rotary_pos_emb.inv_freq"}


class CheckpointError(AudioroleError):
    """A speech-LLM checkpoint directory is missing, incomplete or of an unsupported layout."""


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; a GLM-4-Voice checkpoint dir needs {CONFIG}, {TOKENIZER_MODEL}, "
                              f"{TOKENIZER_CONFIG} and the safetensors shards (re-download it)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise CheckpointError(f"{path}: not valid JSON ({str(e).splitlines()[0]}); re-download the checkpoint") from None


@dataclass(frozen=True)
class ChatGLMShape:
    """The fields of a ChatGLM ``config.json`` that decide the network."""

    num_layers: int
    hidden_size: int
    ffn_hidden_size: int
    num_heads: int
    kv_groups: int
    head_dim: int
    vocab_size: int
    seq_length: int
    eps: float
    rope_ratio: float
    qkv_bias: bool

    @property
    def q_size(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.kv_groups * self.head_dim

    @classmethod
    def from_config(cls, cfg: dict, where: str | Path = CONFIG) -> ChatGLMShape:
        if cfg.get("model_type") != "chatglm":
            raise CheckpointError(f"{where}: model_type={cfg.get('model_type')!r}, expected 'chatglm' "
                                  "(the layout of THUDM/glm-4-voice-9b)")
        missing = [k for k in ("num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads",
                               "padded_vocab_size", "layernorm_epsilon") if k not in cfg]
        if missing:
            raise CheckpointError(f"{where}: missing ChatGLM field(s) {', '.join(missing)}; re-download config.json")
        # Each entry: (field, value that Glm can express, what the checkpoint says).
        unsupported = [(k, want) for k, want in (("rmsnorm", True), ("add_bias_linear", False),
                                                 ("apply_residual_connection_post_layernorm", False),
                                                 ("post_layer_norm", True), ("tie_word_embeddings", False))
                       if bool(cfg.get(k, want)) != want]
        if unsupported:
            k, want = unsupported[0]
            raise CheckpointError(f"{where}: {k}={cfg.get(k)!r} is not supported (Glm needs {k}={want}); "
                                  "this is not a GLM-4-style checkpoint")
        if cfg.get("rope_scaling"):
            raise CheckpointError(f"{where}: rope_scaling={cfg['rope_scaling']!r} is not supported by the converter")
        heads = int(cfg["num_attention_heads"])
        hidden = int(cfg["hidden_size"])
        groups = int(cfg.get("multi_query_group_num") or heads) if cfg.get("multi_query_attention") else heads
        if heads % groups:
            raise CheckpointError(f"{where}: num_attention_heads={heads} is not a multiple of "
                                  f"multi_query_group_num={groups}")
        head_dim = int(cfg.get("kv_channels") or hidden // heads)
        if head_dim % 4:
            raise CheckpointError(f"{where}: kv_channels={head_dim} must be a multiple of 4 "
                                  "(rotary pairs on half of each head)")
        return cls(num_layers=int(cfg["num_layers"]), hidden_size=hidden, ffn_hidden_size=int(cfg["ffn_hidden_size"]),
                   num_heads=heads, kv_groups=groups, head_dim=head_dim, vocab_size=int(cfg["padded_vocab_size"]),
                   seq_length=int(cfg.get("seq_length") or 8192), eps=float(cfg["layernorm_epsilon"]),
                   rope_ratio=float(cfg.get("rope_ratio") or 1.0), qkv_bias=bool(cfg.get("add_qkv_bias", False)))


def glm_config(shape: ChatGLMShape, pad_token_id: int, eos_token_id: int | list[int],
               bos_token_id: int | None = None, dtype=None):
    """transformers ``GlmConfig`` computing what ``modeling_chatglm`` computes for ``shape``.

    Token ids are given explicitly: GlmConfig's defaults (GLM-4's 151329...) lie
    outside a small vocabulary.
    """
    from transformers import GlmConfig

    ids = [pad_token_id, *(eos_token_id if isinstance(eos_token_id, list) else [eos_token_id])]
    if bos_token_id is not None:
        ids.append(bos_token_id)
    if any(not 0 <= int(i) < shape.vocab_size for i in ids):
        raise CheckpointError(f"special token ids {ids} do not all lie inside padded_vocab_size={shape.vocab_size}")
    return GlmConfig(
        vocab_size=shape.vocab_size, hidden_size=shape.hidden_size, intermediate_size=shape.ffn_hidden_size,
        num_hidden_layers=shape.num_layers, num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.kv_groups, head_dim=shape.head_dim, partial_rotary_factor=0.5,
        hidden_act="silu", attention_dropout=0.0, max_position_embeddings=shape.seq_length,
        rms_norm_eps=shape.eps, rope_theta=ROPE_BASE * shape.rope_ratio, attention_bias=shape.qkv_bias,
        tie_word_embeddings=False, pad_token_id=int(pad_token_id), eos_token_id=eos_token_id,
        bos_token_id=bos_token_id, dtype=dtype, architectures=["GlmForCausalLM"],
    )


def glm_tensors(name: str, tensor, shape: ChatGLMShape) -> list[tuple[str, object]]:
    """The Glm ``(name, tensor)`` pairs that one ChatGLM tensor becomes ([] for dropped buffers).

    Slices are cloned: a view would keep the whole fused tensor alive and make
    ``save_pretrained`` see shared storage.
    """
    if name in _DROPPED:
        return []
    if name in _GLOBAL:
        return [(_GLOBAL[name], tensor)]
    match = _LAYER.match(name)
    if match:
        layer, rest = match.groups()
        prefix = f"model.layers.{layer}."
        if rest in _PER_LAYER:
            return [(prefix + _PER_LAYER[rest], tensor)]
        for kind in ("weight", "bias"):
            if rest == f"self_attention.query_key_value.{kind}":
                expected = shape.q_size + 2 * shape.kv_size
                if tensor.shape[0] != expected:
                    raise CheckpointError(f"{name} has {tensor.shape[0]} rows but config.json implies {expected} "
                                          f"(q {shape.q_size} + k,v 2x{shape.kv_size}); config and weights disagree")
                q, k, v = tensor.split([shape.q_size, shape.kv_size, shape.kv_size], dim=0)
                return [(f"{prefix}self_attn.{p}_proj.{kind}", t.clone()) for p, t in (("q", q), ("k", k), ("v", v))]
    raise CheckpointError(f"unexpected tensor {name!r}: not part of a GLM-4 ChatGLM checkpoint "
                          "(adapters or p-tuning prefixes must be merged or removed first)")
