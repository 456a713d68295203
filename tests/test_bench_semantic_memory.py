"""The semantic-stage memory plan: real GLM-4-Voice-9B shapes on the meta device, peft's counts, sane orderings."""

import pytest

from conftest import bench_script


@pytest.fixture(scope="module")
def bench():
    return bench_script("semantic_memory")


@pytest.fixture(scope="module")
def plan(bench):
    return bench.plan(rank=16, targets=bench.TARGETS["attn"], seqs=(2048, 4096), gpus=8, dropout=0.0)


def test_the_config_is_glm4voice_9b(bench):
    c = bench.glm4voice_config()
    assert (c.num_hidden_layers, c.hidden_size, c.intermediate_size) == (40, 4096, 13696)
    assert (c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.partial_rotary_factor) == (32, 2, 128, 0.5)
    # GLM-4's 151329 BPE ranks + 1024 special ids + 16384 audio tokens, padded.
    assert c.vocab_size >= 151329 + 1024 + 16384 and c.max_position_embeddings == 8192


def test_parameter_counts_are_peft_s_and_match_the_architecture(bench, plan):
    h, f, layers, kv, vocab, r = 4096, 13696, 40, 2 * 128, bench.glm4voice_config().vocab_size, 16
    per_layer = h * (h + 2 * kv) + (h + 2 * kv) + h * h + h * 2 * f + f * h + 2 * h
    base = layers * per_layer + 2 * vocab * h + h
    lora = layers * r * ((h + h) + (h + kv) + (h + kv) + (h + h))  # A: in x r, B: r x out for q, k, v, o
    assert plan.trainable_params == lora
    assert plan.total_params == base + lora
    assert 9.3e9 < plan.total_params < 9.7e9
    model = bench.meta_lora_model(bench.glm4voice_config(), 16, bench.TARGETS["attn"])
    assert all(p.is_meta for p in model.parameters())  # nothing was allocated
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == plan.trainable_params
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)


def row(plan, strategy, seq, ckpt):
    return next(r for r in plan.rows if (r["strategy"], r["seq"], r["checkpointing"]) == (strategy, seq, ckpt))


def test_memory_orderings_are_sane(plan):
    assert len(plan.rows) == 3 * 2 * 2
    for seq in (2048, 4096):
        for ckpt in (False, True):
            ddp, fsdp, zero3 = (row(plan, s, seq, ckpt) for s in ("ddp", "fsdp", "zero3"))
            assert zero3["total"] < ddp["total"] and fsdp["total"] < ddp["total"]
            assert ddp["weights"] == pytest.approx(2 * (plan.total_params - plan.trainable_params))
            assert zero3["weights"] == pytest.approx(ddp["weights"] / 8)
        for strategy in ("ddp", "fsdp", "zero3"):
            assert row(plan, strategy, seq, True)["activations"] < row(plan, strategy, seq, False)["activations"]
            assert row(plan, strategy, seq, True)["total"] < row(plan, strategy, seq, False)["total"]
            # Checkpointing recomputes the forward: more FLOPs.
            assert row(plan, strategy, seq, True)["tflops"] > row(plan, strategy, seq, False)["tflops"]
    # Activations grow linearly with the sequence (flash attention keeps no s x s scores).
    assert row(plan, "ddp", 4096, False)["activations"] == pytest.approx(2 * row(plan, "ddp", 2048, False)["activations"])


def test_more_targets_keep_more_activations(bench):
    shape = bench.Shape(layers=2, hidden=64, ffn=96, heads=4, kv=32, vocab=128)
    attn = bench.layer_activation_bytes(shape, bench.TARGETS["attn"], 8)
    both = bench.layer_activation_bytes(shape, bench.TARGETS["attn_mlp"], 8)
    assert both - attn == 2 * 64 + 2 * 96 + 2 * 8 * 2  # gate_up and down inputs, two more lora_A outputs
    # LoRA dropout: q, k, v, o each keep a dropped-out copy (bf16) and mask (bool) instead of the shared inputs.
    dropped = bench.layer_activation_bytes(shape, bench.TARGETS["attn"], 8, dropout=0.05)
    assert dropped - attn == 4 * 3 * 64 - (2 * 64 + 2 * 64)


def test_the_table_prints_every_row(plan, bench):
    text = bench.table(plan)
    assert text.count("\n") == 1 + len(plan.rows) and "ZeRO-3 x8" in text and "FSDP x8" in text
