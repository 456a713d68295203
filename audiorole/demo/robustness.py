"""Sweep recording conditions over the demo series: generate, prepare, score, tabulate.

    python -m audiorole.demo.robustness --work /tmp/robustness --out docs/robustness.md
    python -m audiorole.demo.robustness --work /tmp/r --conditions clean babble:10 music:10:0.6 -- data.workers=2

Each condition (``clean``, ``TYPE:SNR``, ``TYPE:SNR:RT60``, ``rt:RT60``; see
``conditions.py``) is a variant of the demo series with the same script and
ground truth. ``clean`` is the shipped series itself. Every variant is prepared
with the offline pipeline (hydra overrides after ``--`` apply to all of them) and
scored by ``audiorole.prep.truth_eval`` (``<work>/<condition>/truth_eval.json``, beside
the filter-threshold trade-off of ``audiorole.prep.threshold_tradeoff`` in
``tradeoff.md``); the table (Markdown) has DER per
episode (collar 0.25), attribution precision of kept replies and recall of the
cast's truth turns, WER over all truth utterances (each episode's whole
transcript against its whole script) and kept minutes. Variants and
prepared datasets are reused from ``--work`` when their inputs did not change
(the pipeline's step cache), so adding a condition only costs that condition.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from audiorole.demo import DEMO_SERIES_DIR
from audiorole.demo.conditions import Condition

DEFAULT_CONDITIONS = ("clean", "babble:10", "music:10:0.6", "street:5:0.3", "applause:5")
# The shipped series' generator settings (make_demo's defaults): a clean sweep row is the shipped series itself.
SHIPPED_EPISODES, SHIPPED_SCENES, SHIPPED_SEED = 3, 10, 7


def make_variant(condition: Condition, work: Path, episodes: int, scenes: int, seed: int) -> Path:
    """The series folder for ``condition``: the shipped demo when clean, else generated (once) under ``work``."""
    if condition.clean and (episodes, scenes, seed) == (SHIPPED_EPISODES, SHIPPED_SCENES, SHIPPED_SEED):
        return DEMO_SERIES_DIR
    from audiorole.demo.make_demo import build_series

    series = work / condition.label / "series"
    marker = series / "truth" / "condition.json"
    want = {"noise": condition.noise, "snr_db": condition.snr_db, "rt60": condition.rt60, "seed": seed}
    if not (marker.is_file() and json.loads(marker.read_text()) == want
            and len(list((series / "episodes").glob("*"))) == episodes):
        build_series(series, episodes, scenes, seed, condition)
    return series


def prepare_variant(series: Path, label: str, work: Path, overrides: list[str], peak: dict | None = None) -> Path:
    """Prepare one variant with the offline pipeline (in a child process: one model load per variant);
    ``peak[label]`` gets the peak memory of that process and its workers together, in bytes."""
    from audiorole.utils.tree_memory import run_with_peak_memory

    data_dir = work / label / "data"
    cmd = [sys.executable, "-m", "audiorole.prepare", "data=series", f"data.series_dir={series}", f"data.name={label}",
           f"paths.data_dir={data_dir}", "~tokenizer", "allow_failures=true", *overrides]
    _, peak_bytes = run_with_peak_memory(cmd)
    if peak is not None:
        peak[label] = peak_bytes
    return data_dir / "prepared" / label


FILTER_OVERRIDE = "data.prep.postprocess.filter."


def write_tradeoff(prepared: Path, truth_dir: Path, overrides: list[str], out: Path) -> None:
    """What moving each filter threshold would keep in this condition, with the filter it was prepared with."""
    from audiorole.errors import SeriesError
    from audiorole.prep import threshold_tradeoff
    from audiorole.utils.atomic import write_text

    settings = [o.lstrip("+")[len(FILTER_OVERRIDE):] for o in overrides if o.lstrip("+").startswith(FILTER_OVERRIDE)]
    try:
        table = threshold_tradeoff.tradeoff(prepared, truth_dir, threshold_tradeoff.load_thresholds(overrides=settings))
        write_text(out, threshold_tradeoff.markdown(table))
    except SeriesError as exc:  # e.g. a filter set another way than by key=value: the sweep goes on without it
        print(f"no threshold trade-off for {prepared}: {exc}", file=sys.stderr)


def kept_minutes(prepared: Path) -> float:
    rows = [json.loads(line) for line in (prepared / "kept.jsonl").read_text().splitlines() if line.strip()]
    return sum(r["end"] - r["start"] for r in rows) / 60


def transcript_wer(prepared: Path, truth_dir: Path) -> float | None:
    """WER of each episode's whole transcript (every turn, any speaker) against its whole script."""
    from audiorole.asr.wer import wer

    refs, hyps = [], []
    for script in sorted(truth_dir.glob("*.script.jsonl")):
        episode = script.name.split(".")[0]
        runs = sorted((prepared / "work" / "transcribe" / episode).glob("*/turns.json"), key=lambda p: p.stat().st_mtime)
        if not runs:
            continue
        utts = [json.loads(line) for line in script.read_text().splitlines() if line.strip()]
        turns = json.loads(runs[-1].read_text())  # the latest run's
        refs.append(" ".join(u["text"] for u in sorted(utts, key=lambda u: u["start"])))
        hyps.append(" ".join(t.get("text") or "" for t in sorted(turns, key=lambda t: t["start"])))
    return wer(refs, hyps) if refs else None


def row(label: str, report: dict, minutes: float, wer_all: float | None) -> dict:
    """One table row from a ``truth_eval`` report (and the whole-transcript WER when it has none)."""
    if "by_regime" in report:  # the report scored over all truth (per subtitle regime)
        der = {ep: v["der"] for ep, v in report["episodes"].items()}
        scores = report["by_regime"]["all"]
        precision, recall, wer = scores["precision_kept"], scores["recall_kept"], scores["wer_all"]
        replies = scores["replies_kept"]
    else:  # scored over kept replies only
        der, precision, recall, wer = report["der"], report["attribution_accuracy"], None, wer_all
        replies = report["replies"]
    return {"condition": label, "der": der, "precision": precision, "recall": recall, "wer": wer,
            "replies": replies, "kept_minutes": minutes}


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(rows: list[dict]) -> str:
    episodes = sorted({ep for r in rows for ep in r["der"]})
    head = ["condition", *(f"DER {ep} %" for ep in episodes), "precision %", "recall %", "WER all %", "replies", "kept min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["condition"], *(_pct(r["der"].get(ep)) for ep in episodes), _pct(r["precision"]),
                 _pct(r["recall"]), _pct(r["wer"]), str(r["replies"]), f"{r['kept_minutes']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def split_overrides(argv: list[str] | None) -> tuple[list[str], list[str]]:
    """(own arguments, hydra overrides after ``--``) of a sweep command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        return argv, []
    return argv[: argv.index("--")], argv[argv.index("--") + 1:]


def main(argv: list[str] | None = None) -> None:
    argv, overrides = split_overrides(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="folder for variants and prepared datasets")
    parser.add_argument("--out", type=Path, help="write the Markdown table here (default: print it)")
    parser.add_argument("--conditions", nargs="+", default=list(DEFAULT_CONDITIONS))
    parser.add_argument("--episodes", type=int, default=SHIPPED_EPISODES)
    parser.add_argument("--scenes-per-episode", type=int, default=SHIPPED_SCENES)
    parser.add_argument("--seed", type=int, default=SHIPPED_SEED)
    args = parser.parse_args(argv)
    try:
        conditions = [Condition.parse(c) for c in args.conditions]
    except ValueError as e:
        parser.error(str(e))

    from audiorole.prep.truth_eval import evaluate_against_truth

    rows = []
    for condition in conditions:
        series = make_variant(condition, args.work, args.episodes, args.scenes_per_episode, args.seed)
        prepared = prepare_variant(series, condition.label, args.work, overrides)
        report = evaluate_against_truth(prepared, series / "truth")
        (args.work / condition.label / "truth_eval.json").write_text(json.dumps(report, indent=2))
        write_tradeoff(prepared, series / "truth", overrides, args.work / condition.label / "tradeoff.md")
        rows.append(row(condition.label, report, kept_minutes(prepared), transcript_wer(prepared, series / "truth")))
        print(markdown(rows[-1:]), flush=True)
    table = markdown(rows)
    if args.out:
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
