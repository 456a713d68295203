"""Memory and time plan for LoRA on GLM-4-Voice-9B, per GPU, computed on the meta device (no weights, no GPU).

    python bench/semantic_memory.py [--ranks 16 32 64] [--targets attn attn_mlp] [--gpus 8] [--seq 2048 4096]

The model is transformers' ``GlmForCausalLM`` built from the public
``config.json`` fields through our converter's config mapping, on
``torch.device("meta")``; peft's LoRA is applied to it, so parameter counts are
peft's own. Memory is then estimated per GPU for batch 1, bf16, under DDP,
FSDP (FULL_SHARD over N GPUs) and DeepSpeed ZeRO-3 (N GPUs), with and without
gradient checkpointing.

Assumptions (what each column counts, bytes):

- weights: the frozen base in bf16, 2 x P; sharded 1/N under FSDP and ZeRO-3.
- gathered: full parameters that sharded strategies materialise. FSDP (one unit
  per decoder layer, the root unit holding embedding + lm_head + final norm):
  the root unit stays gathered for the step (FSDP does not reshard the root
  after forward) plus two layer units in flight (current + prefetch). ZeRO-3:
  the largest single module (embedding or lm_head) plus one prefetch bucket
  (DeepSpeed's default 5e7 parameters).
- lora: trainable LoRA parameters in fp32 with fp32 gradients and Adam's two
  fp32 moments, 16 x P_lora; sharded 1/N under FSDP/ZeRO-3; DDP adds its fp32
  gradient buckets (4 x P_lora).
- activations: tensors autograd keeps for backward, counted per layer for this
  architecture in the manner of Korthikanti et al. 2022 ("Reducing Activation
  Recomputation in Large Transformer Models", sec. 4.1), adapted to what
  differs here: frozen linears keep no input (only LoRA-adapted ones do, for
  ``lora_A``'s weight gradient), RMSNorm keeps an fp32 copy of its input,
  SwiGLU keeps gate, up and silu(gate), attention is SDPA's flash/efficient
  kernel with grouped K/V (batch 1, no padding mask), which keeps q, k, v, its
  output and a log-sum-exp but no s x s score matrix. LoRA dropout (default
  0.05, as ``conf/model/semantic_glm4voice.yaml``) makes each adapted module keep
  its own dropped-out input and mask. With gradient checkpointing only each layer's input (2 x h per token) is
  kept, plus one layer's activations while it is recomputed in backward.
- logits: bf16 logits, their fp32 copy and fp32 log-probabilities around the
  loss, 10 x V bytes per *labelled* token: the module runs the LM head only at
  positions some row has a label for (``logits_to_keep``), so ``--labelled``
  (the reply's share of a sequence; default 1.0, the upper bound) scales it.
- Not counted: CUDA context and NCCL buffers (~0.5-1 GiB), allocator
  fragmentation, transient activation gradients. Treat totals as +-15 %.

Time: FLOPs per sequence for LoRA with a frozen base are forward 2 P s + 2 s^2 h L
(causal attention) and backward 2 P s + 4 s^2 h L (no weight gradients for frozen
weights), plus one more forward of the layers under checkpointing; converted to
seconds at ``--mfu`` of ``--peak-tflops``. Communication per step per GPU: DDP
all-reduces the LoRA gradients; FSDP/ZeRO-3 all-gather the bf16 weights once for
forward and once for backward, converted to seconds at ``--link-gbs``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

GiB = 1024 ** 3
STRATEGIES = ("ddp", "fsdp", "zero3")
TARGETS = {
    "attn": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "attn_mlp": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"),
}
ZERO3_PREFETCH_PARAMS = 5e7  # DeepSpeed stage3_prefetch_bucket_size default


def glm4voice_config():
    """transformers ``GlmConfig`` of GLM-4-Voice-9B, from the public ChatGLM fields via our converter's mapping."""
    from audiorole.models.lm.glm4voice_layout import ChatGLMShape, glm_config
    from audiorole.models.lm.tiny_glm4voice import public_config

    cfg = public_config()
    return glm_config(ChatGLMShape.from_config(cfg, "public config"), pad_token_id=cfg["pad_token_id"],
                      eos_token_id=cfg["eos_token_id"])


def meta_lora_model(config, rank: int, targets: tuple[str, ...], dropout: float = 0.0):
    """``GlmForCausalLM`` on the meta device wrapped by peft LoRA; nothing is allocated."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import GlmForCausalLM

    with torch.device("meta"):
        model = GlmForCausalLM(config)
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=dropout, target_modules=list(targets),
                      task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


@dataclass
class Shape:
    layers: int
    hidden: int
    ffn: int
    heads: int
    kv: int  # key/value width: groups x head_dim
    vocab: int

    @classmethod
    def of(cls, c):
        return cls(c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads,
                   c.num_key_value_heads * c.head_dim, c.vocab_size)


def layer_activation_bytes(s: Shape, targets: tuple[str, ...], rank: int, dropout: float = 0.0) -> int:
    """Bytes autograd keeps per token for one decoder layer (bf16 = 2, fp32 = 4); see the module docstring."""
    h, f, kv = s.hidden, s.ffn, s.kv
    # What each LoRA-adapted module's lora_A reads (q, k and v share one tensor).
    inputs = {"q_proj": ("normed", h), "k_proj": ("normed", h), "v_proj": ("normed", h),
              "o_proj": ("attention", h), "gate_up_proj": ("normed2", h), "down_proj": ("swiglu", f)}
    if dropout > 0:  # each module keeps its own dropped-out copy (bf16) and mask (bool)
        lora_inputs = sum(3 * inputs[t][1] for t in targets)
    else:  # the shared input tensor itself
        lora_inputs = sum(2 * width for _, width in {inputs[t] for t in targets})
    return (4 * h                     # input RMSNorm: fp32 copy of its input
            + 2 * h + 2 * kv + 2 * kv  # q, k, v (after rotary), kept by the attention kernel
            + 2 * h                   # attention output, kept by the kernel
            + 4 * h                   # post-attention RMSNorm: fp32 copy of its input
            + 2 * 2 * f + 2 * f       # gate|up (for silu and the product) and silu(gate)
            + lora_inputs
            + 2 * rank * len(targets))  # lora_A outputs, lora_B's inputs


def flops_per_sequence(params_matmul: int, s: Shape, seq: int, checkpointing: bool) -> float:
    attention = 2.0 * seq * seq * s.hidden * s.layers  # QK^T and PV, causal half, forward
    forward = 2.0 * params_matmul * seq + attention
    backward = 2.0 * params_matmul * seq + 2 * attention
    layers_forward = forward - 2.0 * s.vocab * s.hidden * seq  # lm_head is not recomputed
    return forward + backward + (layers_forward if checkpointing else 0.0)


@dataclass
class Plan:
    rank: int
    targets: tuple[str, ...]
    dropout: float
    total_params: int
    trainable_params: int
    rows: list[dict] = field(default_factory=list)


def plan(rank: int = 32, targets: tuple[str, ...] = TARGETS["attn_mlp"], seqs=(2048, 4096), gpus: int = 8,
         dropout: float = 0.05, mfu: float = 0.4, peak_tflops: float = 989.0, link_gbs: float = 200.0,
         config=None, labelled: float = 1.0) -> Plan:
    """Parameter counts from peft on the meta device, and a memory/time row per strategy x checkpointing x seq."""
    config = config or glm4voice_config()
    model = meta_lora_model(config, rank, tuple(targets), dropout)
    trainable, total_with_lora = model.get_nb_trainable_parameters()
    base = total_with_lora - trainable
    s = Shape.of(config)
    inner = model.base_model.model
    layer_params = sum(p.numel() for n, p in inner.model.layers[0].named_parameters() if "lora_" not in n)
    embed = inner.model.embed_tokens.weight.numel()
    head = inner.lm_head.weight.numel()
    params_matmul = base - embed
    out = Plan(rank, tuple(targets), dropout, total_with_lora, trainable)
    for seq in seqs:
        per_layer = layer_activation_bytes(s, tuple(targets), rank, dropout) * seq
        logits = int(10 * s.vocab * seq * labelled)
        for ckpt in (False, True):
            acts = (2 * s.hidden * seq * s.layers + per_layer) if ckpt else per_layer * s.layers
            flops = flops_per_sequence(params_matmul, s, seq, ckpt)
            compute_s = flops / (mfu * peak_tflops * 1e12)
            for strategy in STRATEGIES:
                n = 1 if strategy == "ddp" else gpus
                weights = 2 * base / n
                if strategy == "fsdp":
                    gathered = 2 * (embed + head + s.hidden) + 2 * 2 * layer_params
                elif strategy == "zero3":
                    gathered = 2 * (max(embed, head) + ZERO3_PREFETCH_PARAMS)
                else:
                    gathered = 0
                lora = 16 * trainable / n + (4 * trainable if strategy == "ddp" else 0)
                comm = 2 * 4 * trainable if strategy == "ddp" else 2 * (2 * base * (gpus - 1) / gpus)
                total = weights + gathered + lora + acts + logits
                out.rows.append({
                    "strategy": strategy, "gpus": n if strategy != "ddp" else gpus, "seq": seq,
                    "checkpointing": ckpt, "weights": weights, "gathered": gathered, "lora": lora,
                    "activations": acts, "logits": logits, "total": total, "tflops": flops / 1e12,
                    "compute_s": compute_s, "comm_gb": comm / 1e9, "comm_s": comm / (link_gbs * 1e9),
                })
    return out


def table(p: Plan) -> str:
    head = ("| strategy | seq | ckpt | weights | gathered | LoRA+Adam | activations | logits | **total GiB** "
            "| TFLOP/seq | compute s | comm GB | comm s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in p.rows:
        g = {k: r[k] / GiB for k in ("weights", "gathered", "lora", "activations", "logits", "total")}
        name = {"ddp": "DDP", "fsdp": f"FSDP x{r['gpus']}", "zero3": f"ZeRO-3 x{r['gpus']}"}[r["strategy"]]
        lines.append(f"| {name} | {r['seq']} | {'yes' if r['checkpointing'] else 'no'} | {g['weights']:.1f} "
                     f"| {g['gathered']:.1f} | {g['lora']:.2f} | {g['activations']:.1f} | {g['logits']:.1f} "
                     f"| **{g['total']:.1f}** | {r['tflops']:.0f} | {r['compute_s']:.2f} | {r['comm_gb']:.1f} "
                     f"| {r['comm_s']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--targets", nargs="+", choices=sorted(TARGETS), default=["attn", "attn_mlp"])
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--seq", type=int, nargs="+", default=[2048, 4096])
    ap.add_argument("--mfu", type=float, default=0.4)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    ap.add_argument("--link-gbs", type=float, default=200.0, help="effective all-gather bandwidth, GB/s")
    ap.add_argument("--detail", choices=sorted(TARGETS), default="attn_mlp", help="targets of the full table")
    ap.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout of the full table")
    ap.add_argument("--detail-rank", type=int, default=32)
    ap.add_argument("--labelled", type=float, default=1.0, help="share of positions with a label (the LM head runs there)")
    args = ap.parse_args(argv)
    config = glm4voice_config()
    print(f"GLM-4-Voice-9B as GlmForCausalLM: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"FFN {config.intermediate_size}, {config.num_attention_heads} heads / {config.num_key_value_heads} "
          f"KV groups, vocab {config.vocab_size}, context {config.max_position_embeddings}\n")
    print("| LoRA targets | rank | total params | trainable | trainable % |\n|---|---|---|---|---|")
    for name in args.targets:
        for rank in args.ranks:
            p = plan(rank, TARGETS[name], seqs=(), config=config)
            print(f"| {name} ({', '.join(TARGETS[name])}) | {rank} | {p.total_params / 1e9:.3f} B "
                  f"| {p.trainable_params / 1e6:.1f} M | {100 * p.trainable_params / p.total_params:.2f} |")
    p = plan(args.detail_rank, TARGETS[args.detail], seqs=tuple(args.seq), gpus=args.gpus, dropout=args.dropout,
             mfu=args.mfu, peak_tflops=args.peak_tflops, link_gbs=args.link_gbs, config=config,
             labelled=args.labelled)
    print(f"\nMemory per GPU (GiB), batch 1, bf16, LoRA r={p.rank} on {args.detail} (dropout {p.dropout}); time per "
          f"sequence at {args.mfu:.0%} MFU of {args.peak_tflops:.0f} TFLOP/s, communication at {args.link_gbs:.0f} GB/s:\n")
    print(table(p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
