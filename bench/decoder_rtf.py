"""Acoustic decoder inference speed: real-time factor per decoder config, Euler step count and vocoder.

    python bench/decoder_rtf.py [--seconds 10] [--threads 2] [--configs tiny glm4voice] [--steps 1 5 10 20]

RTF = seconds of compute per second of speech produced (lower is faster; < 1
is faster than real time). Every row is measured in the same run, side by
side, on random weights (speed does not depend on training). The mel part
(flow: encoder + N Euler steps, each running the estimator twice for
classifier-free guidance) and the vocoder part are timed separately.
"""

import argparse
import time
from pathlib import Path

import torch

from audiorole.audio.mel import griffin_lim
from audiorole.models.flow.decoder import FlowDecoder
from audiorole.models.vocoder import Vocoder, count_parameters

CONF = Path(__file__).resolve().parents[1] / "conf" / "model" / "flow"


def decoder(name: str) -> FlowDecoder:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):  # tiny.yaml extends glm4voice.yaml
        cfg = compose(name)
    return FlowDecoder.from_config(cfg).eval()


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the speech synthesised per call")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", nargs="+", default=["tiny", "glm4voice"])
    ap.add_argument("--steps", nargs="+", type=int, default=[1, 5, 10, 20])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    with torch.inference_mode():
        for name in args.configs:
            dec = decoder(name)
            tokens = torch.randint(0, dec.encoder.embed.num_embeddings, (int(args.seconds * dec.token_rate),))
            speech = float(dec.frames_for_tokens(len(tokens))) * dec.hop_length / dec.sample_rate
            params = sum(p.numel() for p in dec.parameters()) / 1e6
            for steps in args.steps:
                t = best_of(lambda: dec.generate(tokens, n_steps=steps, seed=0), args.repeats if name == "tiny" else 1)
                rows.append((f"flow {name} ({params:.1f} M)", f"{steps} steps", t / speech))
        mel = torch.randn(80, int(args.seconds * 22050 / 256)) - 5.5
        speech = mel.shape[-1] * 256 / 22050
        rows.append(("vocoder", "Griffin-Lim (32 iters)", best_of(lambda: griffin_lim(mel), args.repeats) / speech))
        for preset in ("tiny", "v3", "v1"):
            voc = Vocoder.from_config(preset)
            params = count_parameters(voc.generator) / 1e6  # before weight norm is folded away
            voc = voc.for_inference()
            rows.append(("vocoder", f"HiFi-GAN {preset} ({params:.1f} M)", best_of(lambda: voc(mel), args.repeats) / speech))
    base = next(r[2] for r in rows if r[0].startswith("flow tiny") and r[1] == "10 steps") if "tiny" in args.configs else None
    print(f"{args.seconds:.0f} s of speech per call, {args.threads} torch threads, best of {args.repeats}")
    print("| part | setting | RTF | × tiny flow @10 steps |")
    print("|---|---|---|---|")
    for part, setting, rtf in rows:
        ratio = f"{rtf / base:.2f}" if base else "-"
        print(f"| {part} | {setting} | {rtf:.4f} | {ratio} |")


if __name__ == "__main__":
    main()
