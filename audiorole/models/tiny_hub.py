"""Tiny random checkpoints in every public GLM-4-Voice layout the paper preset reads, in one folder.

    python -m audiorole.models.tiny_hub --out DIR
    python train.py experiment=paper paths.glm4voice=DIR ...      # the preset reads DIR instead of the hub

``DIR`` then holds what ``huggingface-cli download THUDM/<name> --local-dir DIR/<name>`` gives:

- ``glm-4-voice-tokenizer/``: WhisperVQ ``config.json``, ``preprocessor_config.json``, ``model.safetensors``
  (``audiorole.tokenizers.tiny_checkpoint``);
- ``glm-4-voice-9b/``: ChatGLM ``config.json``, sharded safetensors with their index, the tiktoken
  ``tokenizer.model`` and ``tokenizer_config.json`` (``audiorole.models.lm.tiny_glm4voice``);
- ``glm-4-voice-decoder/``: ``config.yaml`` (HyperPyYAML, the authors' ``flow:`` and ``hift:`` entries),
  ``flow.pt`` and ``hift.pt`` (bare state dicts, HiFT with the old weight-norm names).

The three share one codebook size, as the public ones share 16384 codes, so tokens, the LM's
``<|audio_k|>`` rows and the decoder's embedding agree. Weights are random: the point is that every
loader, both stages, ``audiorole.reply`` and ``evaluate.py`` run on the same files and code paths as
with the real checkpoints, on a CPU in minutes (``tests/test_paper_chain.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TOKENIZER, LM, DECODER = "glm-4-voice-tokenizer", "glm-4-voice-9b", "glm-4-voice-decoder"
# The flow at a tiny size: GLM-4-Voice's topology (block-causal conformer, U-Net estimator), narrow and shallow.
TINY_FLOW = {
    "input_size": 32,
    "encoder": {"input_size": 32, "output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2},
    "decoder": {"estimator": {"channels": [32, 32], "attention_head_dim": 16, "n_blocks": 1, "num_mid_blocks": 2,
                              "num_heads": 2}},
}


def write_decoder(out: str | Path, vocab_size: int, seed: int = 0) -> Path:
    """``out`` as the public ``glm-4-voice-decoder`` folder: config.yaml + flow.pt + hift.pt, tiny and random."""
    import torch

    from audiorole.models import hyperpyyaml
    from audiorole.models.flow.config import authors_layout
    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.flow.load import CONFIG_FILE, WEIGHTS_FILE
    from audiorole.models.vocoder.hift import HiFTGenerator
    from audiorole.models.vocoder.hift_checkpoint import WEIGHTS_FILE as HIFT_FILE
    from audiorole.models.vocoder.hift_checkpoint import authors_layout as hift_layout
    from audiorole.models.vocoder.hift_checkpoint import save_hift
    from audiorole.utils.atomic import atomic_path, write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's generator
        torch.manual_seed(seed)
        flow = FlowDecoder(**TINY_FLOW, vocab_size=vocab_size)
        hift = HiFTGenerator("tiny")
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        torch.save({k: v.detach().contiguous() for k, v in flow.state_dict().items()}, tmp)
    save_hift(hift, out / HIFT_FILE)
    # The public file has no training section (FlowDecoder.save adds ours): only what the authors' loader reads.
    doc = {"flow": authors_layout(flow.config), "hift": hift_layout(hift.config)}
    write_text(out / CONFIG_FILE, hyperpyyaml.dump(doc, "Tiny random GLM-4-Voice decoder (audiorole.models.tiny_hub), "
                                                        "in the public folder's layout."))
    return out


def write_tiny_hub(out: str | Path, codebook_size: int = 64, seed: int = 0) -> dict[str, Path]:
    """Write the three folders under ``out`` (created); returns {folder name: path}."""
    from audiorole.models.lm.tiny_glm4voice import write_tiny_checkpoint
    from audiorole.tokenizers.tiny_checkpoint import build_tiny_glm4voice_checkpoint

    out = Path(out)
    return {
        TOKENIZER: build_tiny_glm4voice_checkpoint(out / TOKENIZER, seed=seed, codebook_size=codebook_size),
        LM: write_tiny_checkpoint(out / LM, n_audio=codebook_size, seed=seed),
        DECODER: write_decoder(out / DECODER, vocab_size=codebook_size, seed=seed),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m audiorole.models.tiny_hub", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder to write glm-4-voice-tokenizer/, -9b/ and -decoder/ into")
    ap.add_argument("--codebook-size", type=int, default=64, help="speech codes shared by the three (public: 16384)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.codebook_size < 2:
        print(f"--codebook-size {args.codebook_size}: give at least 2 codes", file=sys.stderr)
        return 2
    for name, path in write_tiny_hub(args.out, args.codebook_size, args.seed).items():
        print(f"{name}: {path}")
    print(f"use it with: python train.py experiment=paper paths.glm4voice={Path(args.out).resolve()} ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
