"""Acoustic decoder inference speed: flow, vocoders (HiFT ours vs the authors'), streaming latency.

    python bench/decoder_rtf.py [--seconds 10] [--threads 2] [--configs tiny glm4voice] [--steps 1 5 10 20]
    source authors_env.sh && python bench/decoder_rtf.py --authors /path/to/GLM-4-Voice   # side by side

RTF = seconds of compute per second of speech produced (lower is faster; < 1
is faster than real time); every row of one table is measured in the same
run, side by side, on random weights (speed does not depend on training).

- **flow**: our decoder configs (encoder + N Euler steps, each running the
  estimator twice for classifier-free guidance);
- **vocoder**: Griffin-Lim, HiFi-GAN presets, HiFT at the published size;
  with ``--authors``, the authors' ``HiFTGenerator`` with the *same* weights
  beside ours (as they run it: weight norm on; and ours both folded and not),
  ratio = their time / ours (>= 1: ours no slower), and the largest sample
  difference on the same random draws as a check that both compute the same;
- **streaming**: GLM-4-Voice's blockwise synthesis (blocks of 25, 50, 100 …
  tokens, flow + HiFT): time to the first audio chunk and overall RTF, ours
  (``Token2Wav``) and, with ``--authors``, their ``AudioDecoder.token2wav``
  driving the same flow and vocoder weights;
- **flow, ours vs the authors'**: with ``--authors``, for each of ``--configs``
  their ``MaskedDiffWithXvec`` built by their HyperPyYAML loader from our
  config in their layout (what ``FlowDecoder.save`` writes), ours loading its
  state dict strictly; the largest mel difference with the same noise (their
  seed) checks both compute the same, then ``inference`` (10 Euler steps, CFG)
  is timed in turns. Without ``--authors`` the row says so.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from audiorole.audio.mel import griffin_lim
from audiorole.models import hyperpyyaml
from audiorole.models.flow.config import authors_layout
from audiorole.models.flow.decoder import FlowDecoder
from audiorole.models.flow.load import load_state
from audiorole.models.streaming import BLOCK_SIZES, Token2Wav
from audiorole.models.vocoder import HiFTGenerator, Vocoder, count_parameters
from audiorole.models.vocoder.hift_checkpoint import load_hift_state

CONF = Path(__file__).resolve().parents[1] / "conf" / "model" / "flow"
SR, HOP, TOKEN_RATE = 22050, 256, 12.5


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


def interleaved_best(fns: dict, repeats: int, warm_up: bool = True) -> dict:
    """Best time of each function, run in turns (A B C A B C …) so a shared machine's load shifts hit all alike."""
    for fn in fns.values() if warm_up else ():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


# --- the authors' code (imported from a checkout given on the command line) -------------------
def authors_checkout(authors: Path) -> Path:
    """A GLM-4-Voice checkout put first on ``sys.path`` (with its Matcha-TTS submodule's place); one line if it is none."""
    authors = Path(authors).resolve()
    if not (authors / "cosyvoice" / "flow" / "flow.py").is_file():
        raise SystemExit(f"--authors {authors}: not a GLM-4-Voice checkout (no cosyvoice/flow/flow.py); "
                         "pass the folder of a clone of THUDM/GLM-4-Voice")
    sys.path[:0] = [p for p in (str(authors), str(authors / "third_party" / "Matcha-TTS")) if p not in sys.path]
    return authors


def authors_flow(authors: Path, config: dict):
    """Their ``MaskedDiffWithXvec`` (their own seeded initialisation), built by their HyperPyYAML loader from
    ``config`` in their layout, as fixtures/glm4voice_flow/make.py builds it."""
    authors = authors_checkout(authors)
    try:
        import cosyvoice
        import cosyvoice.flow.flow  # noqa: F401  (their flow, conformer and Matcha-TTS's U-Net pieces)
        import ruamel.yaml
        from hyperpyyaml import load_hyperpyyaml
    except ImportError as err:
        raise SystemExit(f"--authors {authors}: cannot import the authors' flow ({err}); put their dependencies "
                         "and Matcha-TTS on PYTHONPATH (source authors_env.sh)") from None
    where = Path(cosyvoice.__path__[0]).resolve()
    if not where.is_relative_to(authors):
        raise SystemExit(f"--authors {authors}: cosyvoice was already imported from {where}; run with that "
                         "checkout as --authors")
    if not hasattr(ruamel.yaml.Loader, "max_depth"):  # HyperPyYAML 1.2.2 with ruamel.yaml >= 0.19
        ruamel.yaml.Loader.max_depth = None
    torch.manual_seed(0)
    return load_hyperpyyaml(hyperpyyaml.dump({"flow": authors_layout(config)}))["flow"].eval()


def authors_hift(authors: Path):
    authors_checkout(authors)
    from cosyvoice.hifigan.f0_predictor import ConvRNNF0Predictor
    from cosyvoice.hifigan.generator import HiFTGenerator as TheirHiFT

    torch.manual_seed(0)
    return TheirHiFT(f0_predictor=ConvRNNF0Predictor()).eval()


def authors_token2wav(authors: Path, flow, hift, tmp: Path):
    """Their ``AudioDecoder``, its own ``__init__`` loading our modules' weights; only the HyperPyYAML step
    (which would build the modules from a config) hands it the modules instead."""
    authors_checkout(authors)
    import flow_inference

    flow_inference.load_hyperpyyaml = lambda f: {"flow": flow, "hift": hift}
    torch.save(flow.state_dict(), tmp / "flow.pt")
    torch.save(hift.state_dict(), tmp / "hift.pt")
    return flow_inference.AudioDecoder(__file__, str(tmp / "flow.pt"), str(tmp / "hift.pt"), device="cpu")


def their_stream(dec, tokens, sizes):
    """web_demo.py's loop over token blocks, as written there."""
    prompt_feat, prompt_token = torch.zeros(1, 0, 80), torch.zeros(1, 0, dtype=torch.int64)
    mels, sizes, start, first = [], list(sizes), 0, None
    t0 = time.perf_counter()
    while start < len(tokens):
        block = tokens[start:start + sizes[0]][None]
        start += block.shape[1]
        if mels:
            prompt_feat = torch.cat(mels, dim=-1).transpose(1, 2)
        _, mel = dec.token2wav(block, uuid="bench", prompt_token=prompt_token, prompt_feat=prompt_feat,
                               finalize=start >= len(tokens))
        first = first if first is not None else time.perf_counter() - t0
        mels.append(mel)
        prompt_token = torch.cat([prompt_token, block], dim=-1)
        if len(sizes) > 1:
            sizes.pop(0)
    return first, time.perf_counter() - t0


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def our_stream(t2w, tokens, sizes):
    t0, first = time.perf_counter(), None
    for _ in t2w.blocks(iter(tokens.tolist()), sizes):
        first = first if first is not None else time.perf_counter() - t0
    return first, time.perf_counter() - t0


# --- sections -------------------------------------------------------------------------------
def flow_rows(args, rows):
    for name in args.configs:
        dec = decoder(name)
        tokens = torch.randint(0, dec.vocab_size, (int(args.seconds * dec.input_frame_rate),))
        speech = float(dec.frames_for_tokens(len(tokens))) * dec.hop_length / dec.sample_rate
        params = sum(p.numel() for p in dec.parameters()) / 1e6
        for steps in args.steps:
            t = best_of(lambda: dec.generate(tokens, n_steps=steps, seed=0), args.repeats if name == "tiny" else 1)
            rows.append((f"flow {name} ({params:.1f} M)", f"{steps} steps", t / speech, "-"))


def flow_pair_rows(args, rows):
    """Ours and the authors' flow at one size with one state dict (theirs, loaded strictly into ours), timed in turns
    on the authors' ``inference`` (10 Euler steps, CFG 0.7, their noise seed)."""
    for name in args.configs:
        if not args.authors:
            rows.append((f"flow {name}, ours vs authors'", "not run: no --authors", float("nan"), "-"))
            continue
        ours = decoder(name)
        theirs = authors_flow(Path(args.authors), ours.config)
        load_state(ours, theirs.state_dict(), "the authors' flow")
        n = int(args.seconds * ours.input_frame_rate)
        tokens = torch.randint(0, ours.vocab_size, (1, n), dtype=torch.int32)
        length = lambda k: torch.tensor([k], dtype=torch.int32)  # noqa: E731
        call = lambda flow: flow.inference(tokens, length(n), torch.zeros(1, 0, dtype=torch.int32), length(0),  # noqa: E731
                                           torch.zeros(1, 0, ours.output_size), length(0),
                                           torch.zeros(1, ours.spk_embed_affine_layer.in_features))
        mel_ours, mel_theirs = call(ours), call(theirs)  # also the warm-up
        best = interleaved_best({"ours": lambda: call(ours), "theirs": lambda: call(theirs)}, args.repeats,
                                warm_up=False)
        speech = mel_ours.shape[-1] * ours.hop_length / ours.sample_rate
        label = f"flow {name} ({ours.num_parameters() / 1e6:.1f} M), {n} tokens, 10 steps"
        rows.append((label, "ours (MaskedDiffWithXvec)", best["ours"] / speech, f"{best['theirs'] / best['ours']:.2f}"))
        rows.append((label, "authors' (cosyvoice/flow/flow.py)", best["theirs"] / speech, "1.00"))
        print(f"same weights and noise, flow {name}: max |Δ mel| = {(mel_ours - mel_theirs).abs().max().item():.2e} "
              f"over {tuple(mel_ours.shape)} (|mel| up to {mel_theirs.abs().max().item():.2f})")


def vocoder_rows(args, rows, mel, speech):
    rows.append(("vocoder", "Griffin-Lim (32 iters)", best_of(lambda: griffin_lim(mel), args.repeats) / speech, "-"))
    for preset in ("tiny", "v3", "v1"):
        voc = Vocoder.from_config(preset)
        params = count_parameters(voc.generator) / 1e6  # before weight norm is folded away
        voc = voc.for_inference()
        rows.append(("vocoder", f"HiFi-GAN {preset} ({params:.1f} M)", best_of(lambda: voc(mel), args.repeats) / speech, "-"))
    batch = mel[None]
    ours = HiFTGenerator("glm4voice").eval()
    params = count_parameters(ours) / 1e6
    if args.authors:
        theirs = authors_hift(Path(args.authors))
        load_hift_state(ours, theirs.state_dict(), "the authors' model")  # the same weights in both
        with torch.inference_mode():  # the same seed: both draw the same phases and noise, in the same order
            torch.manual_seed(0)
            wave_theirs = theirs.inference(mel=batch)[0]
            torch.manual_seed(0)
            wave_ours = ours.inference(batch)[0]
        wave_diff = (wave_ours - wave_theirs).abs().max().item()
    folded = HiFTGenerator(ours.config).eval()
    folded.load_state_dict(ours.state_dict())
    folded.remove_weight_norm()
    fns = {"wn": lambda: ours.inference(batch), "folded": lambda: folded.inference(batch)}
    if args.authors:
        fns["theirs"] = lambda: theirs.inference(mel=batch)
    with torch.inference_mode():
        best = {k: v / speech for k, v in interleaved_best(fns, args.repeats).items()}
    t_wn, t_folded, t_theirs = best["wn"], best["folded"], best.get("theirs")
    label = f"HiFT glm4voice ({params:.1f} M)"
    if args.authors:
        rows.append(("vocoder", f"{label} ours, weight norm folded", t_folded, f"{t_theirs / t_folded:.2f}"))
        rows.append(("vocoder", f"{label} ours, weight norm on", t_wn, f"{t_theirs / t_wn:.2f}"))
        rows.append(("vocoder", f"{label} authors' (as flow_inference runs it)", t_theirs, "1.00"))
        print(f"same weights and noise, full size: max |Δ wave| = {wave_diff:.2e} over {wave_ours.shape[-1]} samples")
    else:
        rows.append(("vocoder", f"{label} ours, weight norm folded", t_folded, "no --authors"))
        rows.append(("vocoder", f"{label} ours, weight norm on", t_wn, "no --authors"))


def streaming_rows(args, rows):
    dec = decoder(args.stream_config)
    n = int(args.seconds * dec.input_frame_rate)
    tokens = torch.randint(0, dec.vocab_size, (n,))
    flow = dec.eval()  # the authors' inference signature, 10 Euler steps by default
    hift = HiFTGenerator("glm4voice").eval()
    speech = int(n / TOKEN_RATE * SR / HOP) * HOP / SR
    setting = f"flow {args.stream_config} 10 steps + HiFT 20.5 M, {n} tokens"
    runs = {}
    if args.authors:
        their_hift = authors_hift(Path(args.authors))
        load_hift_state(hift, their_hift.state_dict(), "the authors' model")  # the same weights in both
        with tempfile.TemporaryDirectory() as tmp:
            dec_theirs = authors_token2wav(Path(args.authors), flow, their_hift, Path(tmp))
        runs["theirs"] = lambda: their_stream(dec_theirs, tokens, BLOCK_SIZES)
    vocoder = Vocoder(hift).for_inference()  # ours as speak/reply run it: weight norm folded
    runs["ours"] = lambda: our_stream(Token2Wav(flow, vocoder), tokens, BLOCK_SIZES)
    runs["one-shot"] = lambda: (None, _timed(lambda: Token2Wav(flow, vocoder).one_shot(tokens)))
    results = {name: [] for name in runs}
    with torch.inference_mode():
        for _ in range(args.stream_repeats):  # in turns, as interleaved_best
            for name, run in runs.items():
                results[name].append(run())
    best = {name: min(r, key=lambda x: x[1]) for name, r in results.items()}
    first, total = best["ours"]
    ratio = "-"
    if args.authors:
        t_first, t_total = best["theirs"]
        rows.append(("streaming, authors' token2wav", f"{setting}: first chunk {t_first:.2f} s", t_total / speech, "1.00"))
        ratio = f"{t_total / total:.2f}"
    one_shot = best["one-shot"][1]
    rows.append(("streaming, ours (Token2Wav)", f"{setting}: first chunk {first:.2f} s", total / speech, ratio))
    rows.append(("one-shot, ours", f"{setting}: first audio {one_shot:.2f} s", one_shot / speech, "-"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the speech synthesised per call")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", nargs="+", default=["tiny", "glm4voice"])
    ap.add_argument("--steps", nargs="+", type=int, default=[1, 5, 10, 20])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--authors", help="a GLM-4-Voice checkout: time their flow, HiFT and streaming beside ours")
    ap.add_argument("--stream-config", default="glm4voice", help="our flow config driving the streaming rows")
    ap.add_argument("--stream-repeats", type=int, default=2)
    ap.add_argument("--sections", nargs="+", default=["flow", "vocoder", "streaming"],
                    choices=["flow", "vocoder", "streaming"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    mel = torch.randn(80, int(args.seconds * SR / HOP)) - 5.5
    speech = mel.shape[-1] * HOP / SR
    with torch.inference_mode():
        if "flow" in args.sections:
            flow_rows(args, rows)
            flow_pair_rows(args, rows)
        if "vocoder" in args.sections:
            vocoder_rows(args, rows, mel, speech)
    if "streaming" in args.sections:
        streaming_rows(args, rows)
    print(f"{args.seconds:.0f} s of speech per call, {args.threads} torch threads, best of {args.repeats}"
          f"{' (authors: ' + args.authors + ')' if args.authors else ' (no --authors: ours alone)'}")
    print("| part | setting | RTF | authors' time / ours |")
    print("|---|---|---|---|")
    for part, setting, rtf, ratio in rows:
        print(f"| {part} | {setting} | {rtf:.4f} | {ratio} |")


if __name__ == "__main__":
    main()
