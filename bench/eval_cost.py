"""What ARP-Eval at validation costs, against the acoustic training run it sits in.

    python bench/eval_cost.py [--character mara] [--decoder DIR] [--train-seconds 200 | --measure-train]

Times, on the demo's held-out replies of one character with the offline evaluator
(conf/eval/offline.yaml): building the evaluator and its references (once per run), then
each validation's work (re-synthesis with the character's decoder, or an untrained one of
the same shape, and scoring), cold and warm. The ratio is ARP-Eval's total cost over one
training run (one cold and ``validations - 1`` warm scorings) divided by the training
run's wall time: ``--train-seconds`` (default 200 s, the demo's measured
`python train.py stage=acoustic character=mara` on 2 cores) or ``--measure-train``, which
runs that command with ARP-Eval off and times it. Goal: below 0.1.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def measure_training(character: str) -> float:
    """Wall time of the demo's acoustic training with ARP-Eval off (its run folder is thrown away)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="eval_cost_train_") as log_dir:
        cmd = [sys.executable, str(ROOT / "train.py"), "stage=acoustic", f"character={character}",
               "callbacks.arp_eval=null", "logger=csv", f"paths.log_dir={log_dir}"]
        proc, seconds = timed(lambda: subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT))
    if proc.returncode != 0:
        sys.exit(f"training failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--character", default="mara")
    ap.add_argument("--decoder", help="an exported decoder dir; default: an untrained decoder of the stage's shape")
    ap.add_argument("--train-seconds", type=float, default=200.0)
    ap.add_argument("--measure-train", action="store_true", help="run the acoustic training once and time it")
    ap.add_argument("--validations", type=int, default=3,
                    help="ARP-Eval scorings per training run: demo, epochs 10, 20, 30 (train.py's final validate of "
                         "the best checkpoint reuses the scores when it is the last one; else add 1)")
    ap.add_argument("--max-items", type=int, default=16, help="the callback's budget (callbacks.arp_eval.max_items)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads, as the callback uses (0: torch's default)")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    import audiorole.utils.resolvers  # noqa: F401
    # A training process has these loaded before ARP-Eval first runs; importing them here keeps
    # their import time (torchmetrics alone: ~10 s on 2 busy cores) out of ARP-Eval's bill.
    _, preload_s = timed(lambda: __import__("lightning_modules.acoustic_module"))
    from audiorole.eval.eval_set import held_out_items
    from audiorole.eval.run import load_references, prepare_evaluator
    from audiorole.eval.systems import AcousticDecoder, UntrainedDecoder

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"character={args.character}"])
    prepared, series = cfg.data.out_dir, cfg.data.series_dir
    if not (Path(prepared) / "cuts.jsonl.gz").is_file():
        sys.exit(f"{prepared}: not prepared; run `python -m audiorole.prepare data={cfg.data.name}` first")

    items = held_out_items(prepared, args.character, limit=args.max_items)
    audio_s = sum(i.tokens.size for i in items) / 12.5
    system = AcousticDecoder(args.decoder) if args.decoder else UntrainedDecoder(config=cfg.model.decoder)
    evaluator, build_s = timed(lambda: hydra.utils.instantiate(cfg.eval))
    _, prepare_s = timed(lambda: prepare_evaluator(evaluator, load_references(prepared, series)))
    rounds = []
    for _ in range(2):
        outputs, respond_s = timed(lambda: system.respond(items))
        result, score_s = timed(lambda outputs=outputs: evaluator.score(items, outputs))
        rounds.append({"respond_s": respond_s, "score_s": score_s})
    cold = build_s + prepare_s + sum(rounds[0].values())
    warm = sum(rounds[1].values())
    total = cold + (args.validations - 1) * warm
    train_s = measure_training(args.character) if args.measure_train else args.train_seconds
    figures = {"character": args.character, "threads": args.threads, "preload_s": preload_s, "items": len(items),
               "audio_seconds": round(audio_s, 2),
               "system": system.name, "backends": result.backends, "metrics": result.metrics,
               "build_s": build_s, "prepare_s": prepare_s, "rounds": rounds, "cold_s": cold, "warm_s": warm,
               "validations": args.validations, "eval_total_s": total, "train_s": train_s,
               "train_measured": args.measure_train, "ratio": total / train_s}
    print(f"{len(items)} held-out replies of {args.character} ({audio_s:.1f} s of speech), system {system.name}")
    print(f"(imports a training process already holds: {preload_s:.1f} s, not counted)")
    print(f"evaluator build {build_s:.1f} s, references {prepare_s:.1f} s")
    for k, r in enumerate(rounds):
        print(f"validation {'cold' if k == 0 else 'warm'}: respond {r['respond_s']:.1f} s, score {r['score_s']:.1f} s")
    print(f"ARP-Eval per training run: {cold:.1f} s + {args.validations - 1} × {warm:.1f} s = {total:.1f} s; "
          f"training {'measured' if args.measure_train else 'given'} {train_s:.0f} s; ratio {total / train_s:.3f} "
          f"({'meets' if total / train_s < 0.1 else 'misses'} the 0.1 goal)")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
