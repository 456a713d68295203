"""Score systems on held-out replies and write the results (no Lightning here; ``evaluate.py`` drives it).

For each character: its held-out items (the dataset split's ``test`` part by default, ``dev``
when asked), the hours of training audio behind its decoder. For each system and character: outputs -> evaluator scores
-> multi-turn consistency. The report (``eval.json``) holds metrics per system (over all items
and per character; each mean with n, coverage, a 95 % bootstrap interval and the unscoreable
count), per-item scores, the configured comparisons (paired intervals of differences),
backends, counts and timings; ``write_report`` adds the Markdown table, the CSV and one bar
chart per metric.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from audiorole.data.replies import load_cuts
from audiorole.data.splits import character_cuts_for, load_splits
from audiorole.data.trained_on import check_not_trained_on
from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.comparisons import comparisons
from audiorole.eval.consistency import multi_turn_consistency
from audiorole.eval.eval_set import enrollment_clips, held_out_items, training_lines
from audiorole.eval.items import EvalItem, Output
from audiorole.eval.metrics import summarize
from audiorole.utils.atomic import write_json

log = logging.getLogger(__name__)
ALL_CHARACTERS = "all"


@dataclass
class References:
    """What the evaluator compares against: enrollment clips (AP), training lines (CP), personas (judge CP)."""

    enrollment: dict[str, list[Path]]
    training_lines: dict[str, list[str]]
    personas: dict[str, str]


def load_references(prepared_dir, series_dir) -> References:
    from audiorole.data.series import SeriesFolder

    registry = SeriesFolder.load(series_dir).registry
    return References(enrollment=enrollment_clips(series_dir),
                      training_lines=training_lines(prepared_dir),
                      personas={name: c.persona for name, c in registry.characters.items() if c.persona})


def prepare_evaluator(evaluator, references: References) -> None:
    evaluator.prepare(references.enrollment, references.training_lines, personas=references.personas or None)


def resolve_characters(requested, prepared_dir) -> list[str]:
    """``"all"`` (or a list holding it) -> every character with kept replies; else the list as given."""
    names = [requested] if isinstance(requested, str) else [str(c) for c in requested]
    if not names:
        raise ConfigError("characters is empty; name one or more (characters=[mara,otis]) or characters=all")
    if ALL_CHARACTERS in names:
        return sorted({c.supervisions[0].speaker for c in load_cuts(prepared_dir)})
    return list(dict.fromkeys(names))


def training_hours(prepared_dir, characters: list[str], max_minutes: float | None = None,
                   seed: int = 0) -> dict[str, float]:
    """Hours of each character's train part (capped like the acoustic stage when ``max_minutes`` is set)."""
    return {c: sum(cut.duration for cut in character_cuts_for(prepared_dir, c, "train", max_minutes, seed)) / 3600.0
            for c in characters}


def _check_outputs(name: str, items: list[EvalItem], outputs: list[Output]) -> None:
    # An output without audio is scored (the scale's minimum, counted), not refused.
    if len(outputs) != len(items):
        raise AudioroleError(f"system '{name}' answered {len(outputs)} of {len(items)} items; respond() must "
                             "return one Output per item, in order")


def _add_counts(total: dict, counts: dict) -> None:
    for key, value in (counts or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


def score_system(evaluator, system, items_by_character: dict[str, list[EvalItem]], samples_dir: Path | None = None,
                 save_audio: int = 0, training_lines: dict[str, list[str]] | None = None) -> dict:
    """Answer and score every character's items with one system; the system's block of the report.
    A system that writes its replies also gets their variety per character (``audiorole.eval.variety``)."""
    from audiorole.eval.samples import safe_name, write_samples
    from audiorole.eval.variety import reply_variety

    name = system.name
    per_character, per_item, backends, counts = {}, [], {}, {}
    seconds = {"respond": 0.0, "score": 0.0}
    all_items = []
    for character, items in items_by_character.items():
        t0 = time.perf_counter()
        outputs = system.respond(items)
        t1 = time.perf_counter()
        _check_outputs(name, items, outputs)
        result = evaluator.score(items, outputs)
        t2 = time.perf_counter()
        seconds["respond"] += t1 - t0
        seconds["score"] += t2 - t1
        log.info("%s on %s (%d items): %s", name, character, len(items),
                 ", ".join(f"{k}={v:.3f}" for k, v in result.metrics.items() if isinstance(v, float)))
        per_character[character] = {"metrics": dict(result.metrics), "items": len(items),
                                    "consistency": multi_turn_consistency(items, result.per_item)}
        variety = reply_variety([o.text for o in outputs], (training_lines or {}).get(character, ()))
        if variety is not None:
            per_character[character]["variety"] = variety
        per_item += [dict(row, system=name) for row in result.per_item]
        backends.update(result.backends or {})
        _add_counts(counts, result.counts)
        all_items += items
        if samples_dir is not None and save_audio:
            write_samples(Path(samples_dir) / safe_name(name) / safe_name(character), items, outputs, save_audio)
    metrics = (next(iter(per_character.values()))["metrics"] if len(per_character) == 1
               else summarize(per_item))  # pooled over all items, interval included
    describe = getattr(system, "describe", None)
    return {"name": name, "config": describe() if callable(describe) else {}, "metrics": metrics,
            "items": len(all_items), "consistency": multi_turn_consistency(all_items, per_item),
            "per_character": per_character, "per_item": per_item, "backends": backends, "counts": counts,
            "seconds": {k: round(v, 3) for k, v in seconds.items()}}


def evaluate_systems(evaluator, systems: list, items_by_character: dict[str, list[EvalItem]],
                     hours: dict[str, float] | None = None, out_dir: str | Path | None = None,
                     save_audio: int = 0, compare=(), training_lines: dict[str, list[str]] | None = None) -> dict:
    """Score every system; the report that ``write_report`` writes. ``compare``: ``[[a, b], ...]`` pairs."""
    names = [s.name for s in systems]
    if not systems:
        raise ConfigError("no systems to evaluate; select some, e.g. systems=[ground_truth,untrained,decoder]")
    if len(set(names)) != len(names):
        raise ConfigError(f"system names repeat ({', '.join(names)}); give each a distinct name")
    empty = [c for c, items in items_by_character.items() if not items]
    if empty:
        raise AudioroleError(f"no held-out replies for {', '.join(empty)}; the character needs replies in more "
                             "scenes (see splits.json for the counts per part, stats.json for drops)")
    samples_dir = Path(out_dir) / "samples" if out_dir is not None else None
    blocks = [score_system(evaluator, s, items_by_character, samples_dir, save_audio, training_lines) for s in systems]
    backends, counts = {}, {}
    for block in blocks:
        backends.update(block["backends"])
        _add_counts(counts, block["counts"])
    hours = hours or {}
    return {"characters": {c: {"train_hours": hours.get(c), "held_out_items": len(items)}
                           for c, items in items_by_character.items()},
            "systems": blocks, "comparisons": comparisons(blocks, compare, list(items_by_character)),
            "backends": backends, "counts": counts}


def flat_metrics(report: dict) -> dict[str, float]:
    """``<system>/<metric>`` (and ``_n``, ``_coverage``, ``_ci_low``, ``_ci_high``, ``_unscoreable``) over all
    items, ``<system>/<character>/<metric>`` when several, ``<system>/<character>/variety/<key>`` for systems
    that write text, consistency, and ``compare/<a>_vs_<b>/<metric>_diff``
    (``_ci_low``, ``_ci_high``, ``_n``) over all items."""
    flat = {}
    several = len(report["characters"]) > 1
    for block in report["systems"]:
        name = block["name"]
        for key, value in block["metrics"].items():
            flat[f"{name}/{key}"] = value
        for key in ("ap_std", "ap_msd", "cp_std", "cp_msd"):
            flat[f"{name}/consistency/{key}"] = block["consistency"].get(key)
        for character, sub in block["per_character"].items():
            if several:
                for key, value in sub["metrics"].items():
                    flat[f"{name}/{character}/{key}"] = value
            for key, value in (sub.get("variety") or {}).items():
                flat[f"{name}/{character}/variety/{key}"] = value
    for row in report.get("comparisons") or ():
        if row["character"] == "all":
            base = f"compare/{row['a']}_vs_{row['b']}/{row['metric']}"
            flat.update({f"{base}_diff": row["diff"], f"{base}_ci_low": row["ci_low"],
                         f"{base}_ci_high": row["ci_high"], f"{base}_n": row["n"]})
    return {k: float(v) for k, v in flat.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """``eval.json``, ``eval.md``, ``eval.csv`` and ``plots/<metric>.png`` under ``out_dir``."""
    from audiorole.eval.plots import bar_charts
    from audiorole.eval.table import result_rows, write_csv, write_markdown

    out = Path(out_dir)
    paths = {"json": out / "eval.json", "markdown": out / "eval.md", "csv": out / "eval.csv"}
    write_json(paths["json"], report)
    write_markdown(paths["markdown"], report)
    write_csv(paths["csv"], report)
    for path in bar_charts(result_rows(report), out / "plots"):
        paths[f"plot:{path.stem}"] = path
    return paths


def check_held_out(systems: list, prepared_dir, part: str) -> None:
    """Refuse (one line) a system whose trained parts were trained on another split or dataset than this one."""
    splits = load_splits(prepared_dir)
    for system in systems:
        sources = getattr(system, "trained_sources", None)
        for source in sources() if callable(sources) else []:
            check_not_trained_on(source, splits, part)


def load_items(prepared_dir, characters: list[str], part: str = "test",
               max_items: int | None = None) -> dict[str, list[EvalItem]]:
    return {c: held_out_items(prepared_dir, c, part=part, limit=max_items) for c in characters}


def run_evaluation(evaluator, systems: list, prepared_dir, series_dir, characters, out_dir,
                   part: str = "test", seed: int = 0, max_items: int | None = None,
                   max_minutes: float | None = None, save_audio: int = 0, compare=()) -> dict:
    """Everything ``evaluate.py`` does after the dataset is prepared and the systems are built."""
    characters = resolve_characters(characters, prepared_dir)
    check_held_out(systems, prepared_dir, part)
    items = load_items(prepared_dir, characters, part, max_items)
    references = load_references(prepared_dir, series_dir)
    prepare_evaluator(evaluator, references)
    hours = training_hours(prepared_dir, characters, max_minutes, seed)
    report = evaluate_systems(evaluator, systems, items, hours, out_dir, save_audio, compare,
                              references.training_lines)
    report["split"] = {"part": part, **load_splits(prepared_dir).identity}
    write_report(report, out_dir)
    return report
