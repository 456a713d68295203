"""Prepare every series of a grid part and score each episode against its truth.

    python -m audiorole.demo.grid_eval --grid /data/grid --part dev --work /data/grid_eval
    python -m audiorole.demo.grid_eval --grid /data/grid --part dev --work /data/grid_eval --name oracle --oracle
    python -m audiorole.demo.grid_eval --grid /data/grid --part dev --work /data/grid_eval --name onset65 \\
        -- data.prep.diarize.backend.onset=0.65

Each voice set of the part (``python -m audiorole.demo.grid``) is prepared once
with the offline pipeline (hydra overrides after ``--``; ``--oracle`` puts the
truth RTTMs in place of diarization, for the ceiling diarization leaves) into
``<work>/<part>/<name>/<voice set>``; the step cache makes a rerun with other
downstream settings redo only what they change. Every episode is scored by
``audiorole.prep.truth_eval`` (DER and its parts, kept-reply precision, recall of
the cast's truth turns and where each lost turn went) and written, one row per
episode, to ``<work>/<part>/<name>/episodes.jsonl``; ``report.md`` pools them by
condition, SNR, noise type and room, each ratio with a 95 % interval from
resampling whole episodes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

from audiorole.utils.atomic import write_jsonl, write_text

from .grid import episode_rows
from .robustness import prepare_variant, split_overrides


def seed_cache(source: Path, target: Path, name: str) -> None:
    """Give a new setting the step cache of another (hard links, no copy): the pipeline redoes only the
    steps whose config or inputs differ. Cached results name files in ``source``, which must stay."""
    import shutil

    work = Path("data") / "prepared" / name / "work"
    if (source / work).is_dir() and not (target / work).exists():
        shutil.copytree(source / work, target / work, copy_function=os.link)


def score_set(prepared: Path, series: Path, grid_rows: dict[tuple[str, str], dict]) -> list[dict]:
    """One row per episode of a prepared voice set: its grid row, DER parts and the truth scores."""
    from audiorole.diarization.breakdown import episode_parts
    from audiorole.diarization.rttm import read_rttm
    from audiorole.prep.truth_eval import evaluate_against_truth, read_jsonl
    from audiorole.prep.truth_spans import truth_speaker

    report = evaluate_against_truth(prepared, series / "truth", series_dir=series)
    kept = read_jsonl(prepared / "kept.jsonl")
    scripts = {}
    rows = []
    for ep, scores in report["per_episode"].items():
        hypothesis = prepared / "rttm" / f"{ep}.rttm"
        parts = (episode_parts(read_rttm(series / "truth" / f"{ep}.rttm", ep), read_rttm(hypothesis, ep), 0.25)
                 if hypothesis.is_file() else [None] * 4)
        scripts[ep] = [json.loads(x) for x in (series / "truth" / f"{ep}.script.jsonl").read_text().splitlines() if x]
        mine = [r for r in kept if r["episode"] == ep]
        fates = scores.get("turn_fates", {})
        rows.append({
            **grid_rows.get((series.name, ep), {"episode": ep, "set": series.name}),
            "der": parts[0], "missed": parts[1], "false_alarm": parts[2], "confusion": parts[3],
            "kept": len(mine), "kept_right": sum(truth_speaker(r, scripts[ep]) == r["character"] for r in mine),
            "kept_minutes": round(sum(r["end"] - r["start"] for r in mine) / 60, 3),
            "turns": scores["truth_turns"], "recalled": fates.get("fates", {}).get("kept", 0),
            "fates": fates.get("fates", {}), "by_character": scores.get("recall_by_character", {}),
        })
    return rows


def _ratio(rows: list[dict], num: str, den: str) -> dict:
    from audiorole.eval.uncertainty import bootstrap_ci

    by_episode = {(r["set"], r["episode"]): [1.0] * r[num] + [0.0] * (r[den] - r[num]) for r in rows if r[den]}
    mean, low, high = bootstrap_ci(by_episode)
    return {"value": mean, "low": low, "high": high, "n": sum(r[den] for r in rows), "episodes": len(by_episode)}


def pooled(rows: list[dict]) -> dict:
    """Figures of a group of episodes: DER (mean, worst), precision and recall with intervals, character spread."""
    ders = [r["der"] for r in rows if r["der"] is not None]
    characters: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        for name, (k, n) in r["by_character"].items():
            characters[f"{r['set']}/{name}"][0] += k
            characters[f"{r['set']}/{name}"][1] += n
    recalls = [k / n for k, n in characters.values() if n]
    fates = Counter()
    for r in rows:
        fates.update(r["fates"])
    return {
        "episodes": len(rows), "der_mean": sum(ders) / len(ders) if ders else None, "der_max": max(ders, default=None),
        "over_15": sum(d > 15 for d in ders),
        "precision": _ratio(rows, "kept_right", "kept"), "recall": _ratio(rows, "recalled", "turns"),
        "kept_minutes": sum(r["kept_minutes"] for r in rows),
        "character_min_over_mean": (min(recalls) / (sum(recalls) / len(recalls))) if recalls and sum(recalls) else None,
        "fates": dict(fates.most_common()),
    }


def _snr_name(r: dict) -> str:
    return "clean" if r["snr_db"] is None else f"{r['snr_db']:g} dB"


GROUPS = {
    "condition": lambda r: r["condition"],
    "snr": _snr_name,
    "noise": lambda r: r["noise"] or "none",
    "room": lambda r: f"RT60 {r['rt60']:g} s" if r["rt60"] else "no room",
    "voice set": lambda r: r["set"],
}


def _ci(x: dict) -> str:
    if x["value"] is None or x["n"] == 0:
        return "–"
    if x["low"] != x["low"]:  # NaN: one episode
        return f"{100 * x['value']:.1f} (n {x['n']})"
    return f"{100 * x['value']:.1f} [{100 * x['low']:.1f}, {100 * x['high']:.1f}] (n {x['n']})"


def markdown(rows: list[dict], by: str) -> str:
    key = GROUPS[by]
    groups = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    head = [by, "episodes", "DER mean %", "DER max %", "> 15 %", "precision kept % [95 % CI] (n replies)",
            "recall % [95 % CI] (n turns)", "min char / mean", "kept min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in sorted(groups, key=_order):
        p = pooled(groups[name])
        spread = "–" if p["character_min_over_mean"] is None else f"{p['character_min_over_mean']:.2f}"
        lines.append(f"| {name} | {p['episodes']} | {p['der_mean']:.1f} | {p['der_max']:.1f} | {p['over_15']} | "
                     f"{_ci(p['precision'])} | {_ci(p['recall'])} | {spread} | {p['kept_minutes']:.1f} |")
    return "\n".join(lines) + "\n"


def fates_markdown(rows: list[dict], by: str = "snr") -> str:
    """Where the cast's turns went, in % of the group's truth turns, with the ceilings each stage leaves."""
    from audiorole.prep.turn_fates import ATTRIBUTION_LOSSES, DIARIZATION_LOSSES

    key = GROUPS[by]
    groups = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    every = sorted({f for r in rows for f in r["fates"]}, key=lambda f: (f != "kept", f))
    head = [by, "turns", "after diarization %", "after attribution %", *every]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in sorted(groups, key=_order):
        p = pooled(groups[name])
        n = sum(p["fates"].values()) or 1
        diar = n - sum(p["fates"].get(f, 0) for f in DIARIZATION_LOSSES)
        attr = diar - sum(p["fates"].get(f, 0) for f in ATTRIBUTION_LOSSES)
        lines.append(f"| {name} | {n} | {100 * diar / n:.1f} | {100 * attr / n:.1f} | "
                     + " | ".join(f"{100 * p['fates'].get(f, 0) / n:.1f}" for f in every) + " |")
    return "\n".join(lines) + "\n"


def _order(name: str):
    """clean first, then by number where the name has one."""
    import re

    numbers = re.findall(r"[\d.]+", name)
    return (name != "clean", not numbers, float(numbers[0]) if numbers else 0.0, name)


def report(rows: list[dict], title: str) -> str:
    parts = [f"# {title}", ""]
    for by in ("snr", "noise", "room", "voice set", "condition"):
        parts += [f"## By {by}", "", markdown(rows, by)]
    parts += ["## Where the cast's truth turns went (% of turns)", "", fates_markdown(rows, "snr"),
              "", fates_markdown(rows, "noise")]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    argv, overrides = split_overrides(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", type=Path, required=True, help="the grid folder (python -m audiorole.demo.grid --out)")
    parser.add_argument("--part", choices=("dev", "test"), required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder for prepared datasets and results")
    parser.add_argument("--name", default="default", help="name of this setting (a folder under <work>/<part>)")
    parser.add_argument("--sets", nargs="+", help="only these voice sets (default: all of the part, long included)")
    parser.add_argument("--oracle", action="store_true", help="truth RTTMs as the diarization (ceiling)")
    parser.add_argument("--reuse", metavar="NAME", help="start from setting NAME's step cache (steps it shares are not redone)")
    args = parser.parse_args(argv)
    part = args.grid / args.part
    grid_rows = episode_rows(part)
    sets = args.sets or sorted({r["set"] for r in grid_rows.values()})
    out = args.work / args.part / args.name
    rows, seconds, peak = [], {}, {}
    for name in sets:
        series = part / name
        # Segmentation and embeddings are kept per episode (shared with breakdown sweeps of the same part).
        extra = (["data/prep/diarize=oracle", f"data.prep.diarize.backend.truth_dir={series / 'truth'}"] if args.oracle
                 else [f"+data.prep.diarize.backend.feature_cache={args.work / args.part / 'features'}"])
        if args.reuse:
            seed_cache(args.work / args.part / args.reuse / name, out / name, name)
        start = time.perf_counter()
        prepared = prepare_variant(series, name, out, [*extra, *overrides], peak)
        seconds[name] = time.perf_counter() - start
        rows += score_set(prepared, series, grid_rows)
        write_jsonl(out / "episodes.jsonl", rows)
    write_text(out / "report.md", report(rows, f"Grid {args.part}, setting {args.name}"))
    write_text(out / "seconds.json", json.dumps(seconds, indent=1))
    write_text(out / "peak_memory_gb.json", json.dumps({k: round(v / 2**30, 2) for k, v in peak.items()}, indent=1))
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
