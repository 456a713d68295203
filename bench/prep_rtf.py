"""Real-time factor of each dataset-pipeline step on the demo (or any series), from a cold cache.

    python bench/prep_rtf.py                                  # this tree, the shipped demo
    python bench/prep_rtf.py --compare a4e663e --repeats 2    # side by side with another commit
    python bench/prep_rtf.py --compare a4e663e -- data.shard.count=2 data.shard.index=0   # one episode
    python bench/prep_rtf.py -- data=series data.series_dir=DIR data.name=NAME

The token cache (every reply and context turn, as ``python -m audiorole.prepare`` fills it)
is timed as the step ``tokens``; ``'~tokenizer'`` leaves it out.

RTF = seconds of compute per second of episode audio (lower is faster; the
goal for the whole offline pipeline is <= 0.10 on 2 CPU cores). Every run is a
fresh process with a cold cache. ``--compare REF`` extracts that commit's tree
(``git archive``) into a temporary folder and runs it and this tree on the same
episodes, alternating which goes first in each repeat, so that on a shared
machine both see the same load; the load average is printed beside every run.
Each run also reports WER over all truth utterances (every transcribed turn of
an episode, in time order, against its whole script) when the series has
``truth/<episode>.script.jsonl``.
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def episode_wer(results: dict, truth_dir: Path) -> float | None:
    """Corpus WER of each episode's whole transcript against its whole script."""
    from audiorole.asr.wer import wer

    refs, hyps = [], []
    for episode, steps in sorted(results.items()):
        script = truth_dir / f"{episode}.script.jsonl"
        if not script.is_file() or "transcribe" not in steps:
            continue
        utts = [json.loads(line) for line in script.read_text().splitlines() if line.strip()]
        turns = json.loads(Path(steps["transcribe"]["turns"]).read_text())
        refs.append(" ".join(u["text"] for u in sorted(utts, key=lambda u: u["start"])))
        hyps.append(" ".join(t.get("text") or "" for t in sorted(turns, key=lambda t: t["start"])))
    return wer(refs, hyps) if refs else None


def measure(overrides: list[str]) -> dict:
    """One cold run of the pipeline of the tree on ``sys.path``: seconds per step, wall, audio seconds."""
    from hydra import compose, initialize_config_dir

    import audiorole.utils.resolvers  # noqa: F401
    from audiorole.prep.run import prepare_dataset
    from audiorole.utils.resolvers import ROOT_DIR

    with tempfile.TemporaryDirectory() as tmp:
        with initialize_config_dir(str(ROOT_DIR / "conf"), version_base="1.3"):
            cfg = compose("prepare", overrides=[f"paths.data_dir={tmp}", *overrides])
        load = os.getloadavg()[0]
        start = time.perf_counter()
        result = prepare_dataset(cfg.data)
        steps = dict(result.timings)
        if cfg.get("tokenizer") is not None and int(cfg.data.shard.count) == 1:  # the token cache (replies and context turns), as prepare fills it
            try:
                from audiorole.prep.run import tokenize_dataset
            except ImportError:
                sys.exit(f"{ROOT_DIR}: this tree cannot time the token cache (older than it); compare with -- '~tokenizer'")
            tokens_start = time.perf_counter()
            tokenize_dataset(Path(cfg.data.out_dir), cfg.tokenizer)
            steps["tokens"] = time.perf_counter() - tokens_start
        wall = time.perf_counter() - start
        return {"audio": result.stats["input_hours"] * 3600, "wall": wall, "steps": steps,
                "episodes": result.episodes, "failures": len(result.failures), "load": [load, os.getloadavg()[0]],
                "wer_all": episode_wer(result.results, Path(cfg.data.series_dir) / "truth")}


def run_tree(tree: Path, overrides: list[str]) -> dict:
    """``measure`` in a fresh process that imports ``tree``'s audiorole."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure-to", out.name, "--", *overrides],
                       cwd=tree, env=env, check=True)
        return json.loads(Path(out.name).read_text())


def extract(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` (as committed) under ``into``."""
    archive = subprocess.run(["git", "-C", str(HERE), "archive", "--format=tar", ref], check=True, capture_output=True).stdout
    import io

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def table(runs: dict[str, list[dict]]) -> str:
    """Per-step RTF of every run, then the mean per tree and (with two trees) the speed-up."""
    names = list(runs)
    steps = list(dict.fromkeys(s for rs in runs.values() for r in rs for s in r["steps"]))
    head = ["step"] + [f"{n} #{i + 1}" for n in names for i in range(len(runs[n]))] + [f"{n} mean" for n in names]
    if len(names) == 2:
        head.append("speed-up")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def rtf(r, step):
        return (r["wall"] if step == "total (wall)" else r["steps"].get(step, 0.0)) / r["audio"]

    for step in steps + ["total (wall)"]:
        each = [rtf(r, step) for n in names for r in runs[n]]
        means = [sum(rtf(r, step) for r in runs[n]) / len(runs[n]) for n in names]
        cells = [step] + [f"{x:.4f}" for x in each + means]
        if len(names) == 2:
            cells.append(f"{means[0] / means[1]:.2f}x" if means[1] else "–")
        lines.append("| " + " | ".join(cells) + " |")
    for n in names:
        wers = ", ".join("–" if r["wer_all"] is None else f"{100 * r['wer_all']:.1f} %" for r in runs[n])
        loads = ", ".join(f"{a:.1f}->{b:.1f}" for a, b in (r["load"] for r in runs[n]))
        lines.append(f"\n{n}: WER over all truth {wers}; 1-min load average before->after each run {loads}")
    r0 = runs[names[0]][0]
    lines.append(f"\n{r0['episodes']} episodes, {r0['audio']:.1f} s of audio, {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", metavar="REF", help="also run this git commit's pipeline, side by side")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument("--measure-to", type=Path, help=argparse.SUPPRESS)  # child process: one run
    args = parser.parse_args(argv)
    if args.measure_to:
        args.measure_to.write_text(json.dumps(measure(overrides)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": HERE}
        if args.compare:
            trees = {args.compare: extract(args.compare, Path(tmp)), **trees}
        runs = {name: [] for name in trees}
        for repeat in range(args.repeats):
            order = list(trees) if repeat % 2 == 0 else list(trees)[::-1]
            for name in order:
                runs[name].append(run_tree(trees[name], overrides))
                print(f"[prep_rtf] {name} run {len(runs[name])}: wall {runs[name][-1]['wall']:.1f} s", flush=True)
    text = table(runs)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
