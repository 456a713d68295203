"""What only a GPU can tell about the paper's recipe: the tiny chain on CUDA, decoder speed, the 9B LoRA step's memory.

    python bench/gpu_check.py --out gpu_check.json                  # every section, on the first CUDA device
    python bench/gpu_check.py --sections lora --seq 2048 4096       # one section
    python bench/gpu_check.py --tiny --device cpu                   # the same code at tiny sizes (tests, CPU)

Sections (random weights throughout: speed and memory do not depend on training):

- **chain**: ``bench/paper_chain.py`` on CUDA: ``experiment=paper`` on a fresh tiny hub through tokens ->
  semantic stage -> acoustic stage -> ``audiorole.reply --stream`` -> ``evaluate.py`` with the
  ``glm4voice_decoder`` baseline (needs ``--data-dir`` holding the prepared demo series, e.g.
  ``python -m audiorole.prepare data=demo paths.data_dir=DIR``; ARP-Eval runs offline, no judge server).
- **decoder**: GLM-4-Voice's flow at the published size (``conf/model/flow/glm4voice.yaml``, 111 M) and HiFT
  (20.5 M): RTF of the flow at 10 Euler steps (fp32, as ``evaluate.py`` and ``speak`` run it), of HiFT, and
  GLM-4-Voice's blockwise streaming (``Token2Wav``: blocks of 25, 50, 100 ... tokens): time to the first
  audio chunk and the whole utterance's RTF, beside one-shot synthesis.
- **lora**: one optimiser step of LoRA on GLM-4-Voice-9B at its real shapes with the preset's settings
  (``conf/model/semantic_glm4voice.yaml``: r, alpha, dropout, targets, gradient checkpointing), bf16 weights,
  bf16 autocast, batch 1, every position labelled; peak ``torch.cuda.max_memory_allocated`` beside the
  single-GPU estimate of ``bench/semantic_memory.py`` (the README's memory table) for the same sequence length.

Not yet run on a GPU: the memory plan and the decoder speeds in docs/ are estimates or CPU figures until it
has (docs/real_weights.md, "On a GPU"). Every figure names the device it was measured on. ``--tiny`` swaps in the tiny hub's flow and HiFT, a tiny GLM
and short inputs, so the code runs anywhere in seconds (``tests/test_gpu_check.py``); its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "model"
GiB = 1024 ** 3
SR, HOP, TOKEN_RATE = 22050, 256, 12.5


def bench_module(name: str):
    """Another bench script, imported as Python imports a script's neighbours (bench/ is not a package)."""
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))  # already there when run as a script; not when a test loads this file
    return importlib.import_module(name)


def compose_model(name: str):
    """A config of conf/model/ (e.g. ``flow/glm4voice``, ``semantic_glm4voice``) without the rest of the tree."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(name)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int = 1) -> tuple[float, object]:
    """Best wall time of ``fn`` over ``repeats`` runs after one warm-up, and its last result."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, result


# ---- decoder ------------------------------------------------------------------------------------------
def decoder_models(tiny: bool):
    """(flow, HiFT generator, label): the published sizes, or the tiny hub's."""
    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.tiny_hub import TINY_FLOW
    from audiorole.models.vocoder import HiFTGenerator

    torch.manual_seed(0)
    if tiny:
        return FlowDecoder(**TINY_FLOW), HiFTGenerator("tiny"), "tiny hub flow + HiFT tiny"
    return FlowDecoder.from_config(compose_model("flow/glm4voice")), HiFTGenerator("glm4voice"), \
        "flow 111 M + HiFT 20.5 M (published sizes)"


def decoder_section(device: torch.device, seconds: float, repeats: int, tiny: bool) -> dict:
    from audiorole.models.streaming import BLOCK_SIZES, Token2Wav
    from audiorole.models.vocoder import Vocoder

    flow, hift, label = decoder_models(tiny)
    flow = flow.to(device).eval()
    vocoder = Vocoder(hift).for_inference().to(device)
    n = int(seconds * TOKEN_RATE)
    tokens = torch.randint(0, flow.vocab_size, (n,), generator=torch.Generator().manual_seed(0))
    speech = int(n / TOKEN_RATE * SR / HOP) * HOP / SR
    t2w = Token2Wav(flow, vocoder)
    with torch.inference_mode():
        t_flow, mel = timed(lambda: flow.generate(tokens, n_steps=10, seed=0), device, repeats)
        t_hift, _ = timed(lambda: vocoder(mel), device, repeats)
        t_once, _ = timed(lambda: t2w.one_shot(tokens), device, repeats)
        first, total = [], []
        for _ in range(repeats + 1):  # the first pass warms up, as timed() does
            synchronize(device)
            start = time.perf_counter()
            chunks = 0
            for _chunk in t2w.blocks(tokens.tolist(), BLOCK_SIZES):
                synchronize(device)
                if chunks == 0:
                    first.append(time.perf_counter() - start)
                chunks += 1
            total.append(time.perf_counter() - start)
    return {"models": label, "tokens": n, "speech_seconds": round(speech, 3),
            "flow_10_steps_rtf": t_flow / speech, "hift_rtf": t_hift / speech,
            "one_shot_rtf": t_once / speech, "one_shot_first_audio_s": t_once,
            "stream_first_audio_s": min(first[1:]), "stream_rtf": min(total[1:]) / speech,
            "stream_blocks": list(BLOCK_SIZES), "stream_chunks": chunks}


# ---- LoRA step ----------------------------------------------------------------------------------------
def glm_config(tiny: bool):
    """transformers ``GlmConfig`` of GLM-4-Voice-9B (public shapes), or of the tiny hub's LM."""
    memory = bench_module("semantic_memory")
    if not tiny:
        return memory.glm4voice_config()
    from audiorole.models.lm.glm4voice_layout import ChatGLMShape
    from audiorole.models.lm.glm4voice_layout import glm_config as to_glm
    from audiorole.models.lm.tiny_glm4voice import public_config

    cfg = public_config(num_layers=2, hidden_size=64, ffn_hidden_size=96, kv_channels=16, num_attention_heads=4,
                        multi_query_group_num=2, padded_vocab_size=1024, seq_length=256, pad_token_id=0,
                        eos_token_id=[0])
    return to_glm(ChatGLMShape.from_config(cfg, "tiny config"), pad_token_id=0, eos_token_id=[0])


def lora_settings():
    """The preset's LoRA (peft.LoraConfig) and whether it checkpoints gradients."""
    from hydra.utils import instantiate

    cfg = compose_model("semantic_glm4voice")
    return instantiate(cfg.lora), bool(cfg.gradient_checkpointing)


def lora_step(config, seq: int, device: torch.device, lora, checkpointing: bool) -> dict:
    """One AdamW step of LoRA on random bf16 weights: peak memory and time."""
    import torch.nn.functional as F
    from transformers import GlmForCausalLM

    from audiorole.models.lm.lora import apply_lora

    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16 where it lives: no fp32 copy of 9 B weights
    try:
        with torch.device(device):
            base = GlmForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    if checkpointing:  # as SemanticModule.configure_model does
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    model = apply_lora(base, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, config.vocab_size, (1, seq), device=device)

    def step():
        # SemanticModule.token_losses: the LM head only where a label is (here every position: the upper bound)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            logits = model(input_ids=ids, use_cache=False, logits_to_keep=seq).logits.float()
        loss = F.cross_entropy(logits[0, :-1], ids[0, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds, _ = timed(step, device, repeats=1)  # the warm-up step allocates Adam's moments
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    del model, base, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {"seq": seq, "checkpointing": checkpointing, "step_s": seconds,
            "peak_gib": None if peak is None else peak / GiB,
            "trainable": sum(p.numel() for p in params)}


def lora_section(device: torch.device, seqs: list[int], tiny: bool) -> dict:
    memory = bench_module("semantic_memory")
    config = glm_config(tiny)
    lora, checkpointing = lora_settings()
    targets = tuple(lora.target_modules)
    plan = memory.plan(rank=lora.r, targets=targets, seqs=tuple(seqs), dropout=lora.lora_dropout, config=config)
    rows = []
    for seq in seqs:
        estimate = next(r for r in plan.rows if r["strategy"] == "ddp" and r["seq"] == seq
                        and r["checkpointing"] == checkpointing)
        measured = lora_step(config, seq, device, lora, checkpointing)
        measured["estimate_gib"] = estimate["total"] / GiB
        measured["measured_over_estimate"] = (None if measured["peak_gib"] is None
                                              else measured["peak_gib"] / measured["estimate_gib"])
        rows.append(measured)
    return {"model": "tiny GLM" if tiny else "GLM-4-Voice-9B shapes", "parameters": plan.total_params,
            "lora": {"r": lora.r, "alpha": lora.lora_alpha, "dropout": lora.lora_dropout, "targets": list(targets)},
            "rows": rows}


# ---- chain --------------------------------------------------------------------------------------------
def chain_section(device: torch.device, data_dir: str | None, work: Path) -> dict:
    if not data_dir:
        return {"skipped": "no --data-dir (a prepared demo series: python -m audiorole.prepare data=demo "
                           "paths.data_dir=DIR)"}
    from audiorole.models.tiny_hub import write_tiny_hub

    chain = bench_module("paper_chain")
    write_tiny_hub(work / "hub")
    results = chain.run_chain(work / "hub", data_dir, work / "chain", device=device.type, eval_name="offline")
    return {step: {k: r[k] for k in ("seconds", "returncode")} | ({"stderr_tail": r["stderr_tail"][-1500:]}
                                                                  if r["returncode"] else {})
            for step, r in results.items()}


# ---- report -------------------------------------------------------------------------------------------
def report(results: dict) -> str:
    lines = [f"device: {results['device']}, torch {results['torch']}" + (" (tiny sizes)" if results["tiny"] else "")]
    if "chain" in results:
        lines += ["", "| chain step | seconds | rc |", "|---|---|---|"]
        chain = results["chain"]
        lines += ([f"| skipped | {chain['skipped']} | |"] if "skipped" in chain else
                  [f"| {s} | {r['seconds']} | {r['returncode']} |" for s, r in chain.items()])
    if "decoder" in results:
        d = results["decoder"]
        lines += ["", f"{d['models']}, {d['tokens']} tokens ({d['speech_seconds']} s of speech)",
                  "| part | RTF | first audio (s) |", "|---|---|---|",
                  f"| flow, 10 Euler steps | {d['flow_10_steps_rtf']:.4f} | |",
                  f"| HiFT | {d['hift_rtf']:.4f} | |",
                  f"| one-shot flow + HiFT | {d['one_shot_rtf']:.4f} | {d['one_shot_first_audio_s']:.3f} |",
                  f"| streaming (blocks {d['stream_blocks'][:3]}...) | {d['stream_rtf']:.4f} "
                  f"| {d['stream_first_audio_s']:.3f} |"]
    if "lora" in results:
        lo = results["lora"]
        lines += ["", f"LoRA step, {lo['model']} ({lo['parameters'] / 1e9:.2f} B parameters), r={lo['lora']['r']}, "
                      f"batch 1, bf16", "| seq | grad. ckpt | measured peak GiB | estimate GiB | measured / estimate "
                                        "| step s |", "|---|---|---|---|---|---|"]
        for r in lo["rows"]:
            peak = "n/a (not CUDA)" if r["peak_gib"] is None else f"{r['peak_gib']:.1f}"
            ratio = "-" if r["measured_over_estimate"] is None else f"{r['measured_over_estimate']:.2f}"
            lines.append(f"| {r['seq']} | {'yes' if r['checkpointing'] else 'no'} | {peak} | {r['estimate_gib']:.1f} "
                         f"| {ratio} | {r['step_s']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", nargs="+", default=["chain", "decoder", "lora"], choices=["chain", "decoder", "lora"])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --tiny)")
    ap.add_argument("--tiny", action="store_true", help="tiny models and inputs: checks the code, not the GPU")
    ap.add_argument("--data-dir", help="paths.data_dir with the prepared demo series, for the chain")
    ap.add_argument("--seconds", type=float, default=10.0, help="speech per decoder call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seq", type=int, nargs="+", default=[2048, 4096], help="LoRA step sequence lengths")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    ap.add_argument("--out", help="write the results as JSON here too")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run on a GPU machine, or --tiny --device cpu to check the code", file=sys.stderr)
        return 2
    if device.type != "cuda" and not args.tiny:
        print("full sizes on CPU would take hours and measure nothing useful: add --tiny", file=sys.stderr)
        return 2
    results = {"device": device_name(device), "torch": torch.__version__, "tiny": args.tiny}
    with tempfile.TemporaryDirectory() as tmp:
        if "chain" in args.sections:
            results["chain"] = chain_section(device, args.data_dir, Path(tmp))
        if "decoder" in args.sections:
            results["decoder"] = decoder_section(device, args.seconds, args.repeats, args.tiny)
        if "lora" in args.sections:
            results["lora"] = lora_section(device, args.seq, args.tiny)
    print(report(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    failed = any(r.get("returncode") for r in results.get("chain", {}).values() if isinstance(r, dict))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
