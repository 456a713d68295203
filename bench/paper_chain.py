"""The paper's recipe end to end at tiny size: tokens -> semantic stage -> acoustic stage -> reply -> evaluate.

    python -m audiorole.models.tiny_hub --out HUB
    python bench/paper_chain.py --hub HUB --data-dir DATA --out OUT [--device cuda] [--character otis]

``experiment=paper`` with ``paths.glm4voice=HUB`` (tiny random checkpoints in the public layouts, nothing
fetched) on the demo series prepared under ``DATA`` (``python -m audiorole.prepare data=demo
paths.data_dir=DATA``). Each stage runs a few steps only: the point is that every real-face part runs
*together*, through the same entry points a user calls, on the files the public checkpoints ship.
Two parts have no tiny layout and keep their offline backend here: pyannote speaker-diarization-3.1
(``data/prep/diarize=offline``) and WhisperX large-v3 (``data/prep/transcribe=offline``); their
composition under ``experiment=paper`` is checked by ``tests/test_paper_preset.py``. ARP-Eval's judge
needs an OpenAI-compatible server (``AUDIOROLE_JUDGE_URL``); without one, ``--eval offline``.
The slow test ``tests/test_paper_chain.py`` runs this on CPU; ``bench/gpu_check.py`` on CUDA.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_SERIES = ROOT / "audiorole" / "demo" / "series"
CONTEXT = "mara: Where is the ferry?\njune: Late again, as always."
SMALL = ["trainer.max_epochs=1", "trainer.check_val_every_n_epoch=1", "+trainer.limit_train_batches=2",
         "+trainer.limit_val_batches=1", "+trainer.limit_test_batches=1", "callbacks.arp_eval.max_items=2",
         "callbacks.arp_eval.max_test_items=2", "callbacks.arp_eval.log_audio=1"]


def common_overrides(hub: Path, data_dir: Path, character: str, device: str, eval_name: str | None) -> list[str]:
    """What every command adds to ``experiment=paper``: the tiny hub, the prepared demo, the offline prep backends."""
    out = ["experiment=paper", f"character={character}", "data=demo", f"paths.glm4voice={hub}",
           f"paths.data_dir={data_dir}", "data/prep/diarize=offline", "data/prep/transcribe=offline",
           f"tokenizer.device={device}", "logger=csv"]
    if device == "cpu":
        out.append("trainer.accelerator=cpu")  # bf16-mixed stays: the preset's precision, on CPU
    if eval_name:
        out.append(f"eval={eval_name}")
    return out


def chain_commands(hub: Path, data_dir: Path, out: Path, character: str = "otis", device: str = "cpu",
                   eval_name: str | None = None) -> list[tuple[str, list[str]]]:
    """(step, argv) in order; each writes under ``out/<step>``."""
    py = sys.executable
    common = common_overrides(hub, data_dir, character, device, eval_name)
    semantic, acoustic = out / "semantic", out / "acoustic"
    return [
        ("semantic", [py, str(ROOT / "train.py"), "stage=semantic", *common, *SMALL, f"hydra.run.dir={semantic}",
                      "model.generation.max_new_tokens=60"]),
        ("acoustic", [py, str(ROOT / "train.py"), "stage=acoustic", *common, *SMALL, f"hydra.run.dir={acoustic}"]),
        ("reply", [py, "-m", "audiorole.reply", "--adapter", str(semantic / "lm" / "adapter"),
                   "--decoder", str(acoustic / "decoder"), "--vocoder", str(hub / "glm-4-voice-decoder"),
                   "--series", str(DEMO_SERIES), "--character", character, "--context", CONTEXT, "--stream",
                   "--max-new-tokens", "80", "--out", str(out / "reply" / "reply.wav")]),
        ("evaluate", [py, str(ROOT / "evaluate.py"), "stage=acoustic", *common, f"hydra.run.dir={out / 'evaluate'}",
                      f"decoder={acoustic / 'decoder'}", "systems=[ground_truth,untrained,decoder,glm4voice_decoder]",
                      "max_items=3", "save_audio=1"]),
    ]


def run_chain(hub: str | Path, data_dir: str | Path, out: str | Path, character: str = "otis", device: str = "cpu",
              eval_name: str | None = None, env: dict | None = None, timeout: float = 900) -> dict:
    """Run every step; returns {step: {"seconds", "returncode", "stderr_tail"}}, stopping at the first failure."""
    out = Path(out)
    (out / "reply").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", **(env or {})}
    results = {}
    for step, argv in chain_commands(Path(hub).resolve(), Path(data_dir).resolve(), out.resolve(), character, device,
                                     eval_name):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=out)
        results[step] = {"seconds": round(time.perf_counter() - start, 1), "returncode": proc.returncode,
                         "stdout_tail": proc.stdout[-2000:], "stderr_tail": proc.stderr[-4000:]}
        if proc.returncode != 0:
            break
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hub", required=True, help="a tiny hub folder (python -m audiorole.models.tiny_hub --out HUB)")
    ap.add_argument("--data-dir", required=True, help="paths.data_dir holding the prepared demo series")
    ap.add_argument("--out", required=True, help="folder for the runs, the reply and the evaluation")
    ap.add_argument("--character", default="otis")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--eval", default=None, help="eval group (default: the preset's judge; offline without a server)")
    args = ap.parse_args(argv)
    results = run_chain(args.hub, args.data_dir, args.out, args.character, args.device, args.eval)
    for step, r in results.items():
        print(f"{step}: rc={r['returncode']} {r['seconds']} s")
        if r["returncode"]:
            print(r["stderr_tail"], file=sys.stderr)
    (Path(args.out) / "chain.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r["returncode"] == 0 for r in results.values()) and len(results) == 4 else 1


if __name__ == "__main__":
    sys.exit(main())
