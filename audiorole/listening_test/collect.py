"""Unblind raters' answer files with the test's key: preference rates, mean scores, agreement, judge correlation.

- Voice: for each pair of systems, how often each was heard as closer to the reference
  speaker; each system's rate over all its comparisons.
- Naturalness, in character: each system's mean score (1-5).
- 95 % intervals by a percentile bootstrap over items (all of an item's ratings move
  together), since the claim is about the items, not the rating events.
- Agreement among raters: Krippendorff's alpha per trial kind (nominal for A/B, interval
  for 1-5), a trial being a unit.
- With an ``eval.json`` of the same systems and items: Spearman's rho between the people's
  per-(system, item) scores and the evaluator's (naturalness~AQ, in character~CP, voice~AP).
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.uncertainty import bootstrap_ci
from audiorole.listening_test.agreement import krippendorff_alpha

log = logging.getLogger(__name__)
JUDGE_METRIC = {"naturalness": "aq", "character": "cp", "voice": "ap"}


def read_answers(files: list[str | Path], key: dict) -> tuple[list[dict], list[str]]:
    """One record per (rater, trial) answered; and a one-line error per file that could not be used."""
    records, errors, raters = [], [], set()
    for path in map(Path, files):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            errors.append(f"{path}: not an answer file ({type(e).__name__}); use the file the page saved")
            continue
        if not isinstance(data, dict) or data.get("test") != key["test"]:
            errors.append(f"{path}: answers test {data.get('test') if isinstance(data, dict) else None!r}, "
                          f"not {key['test']!r}; pass the key.json written with that page")
            continue
        rater = str(data.get("rater") or path.stem)
        if rater in raters:
            rater = f"{rater} ({path.name})"  # two people who typed the same name stay two raters
        raters.add(rater)
        for tid, answer in (data.get("answers") or {}).items():
            trial = key["trials"].get(tid)
            value = answer.get("value") if isinstance(answer, dict) else None
            if trial is None or not _valid(trial["kind"], value):
                errors.append(f"{path}: trial {tid} answer {value!r} does not fit the key; left out")
                continue
            records.append({"rater": rater, "trial": tid, "value": value, "ms": answer.get("ms"), **trial})
    return records, errors


def _valid(kind: str, value) -> bool:
    if kind == "voice":
        return value in ("A", "B")
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _interval(by_item: dict[str, list[float]]) -> dict:
    mean, low, high = bootstrap_ci(by_item)
    return {"mean": mean, "low": low, "high": high, "ratings": sum(len(v) for v in by_item.values()),
            "items": len(by_item)}


def voice_preferences(records: list[dict]) -> tuple[dict, dict]:
    """({"X vs Y": rate X preferred ...}, {system: rate preferred over all its comparisons})."""
    pairs, overall = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(list))
    for r in (r for r in records if r["kind"] == "voice"):
        chosen = r["a"] if r["value"] == "A" else r["b"]
        x, y = sorted((r["a"], r["b"]))
        pairs[(x, y)][r["item"]].append(float(chosen == x))
        for s in (r["a"], r["b"]):
            overall[s][r["item"]].append(float(chosen == s))
    by_pair = {f"{x} vs {y}": dict(_interval(v), preferred=x) for (x, y), v in sorted(pairs.items())}
    return by_pair, {s: _interval(v) for s, v in sorted(overall.items())}


def mean_scores(records: list[dict], kind: str) -> dict:
    by_system = defaultdict(lambda: defaultdict(list))
    for r in (r for r in records if r["kind"] == kind):
        by_system[r["system"]][r["item"]].append(float(r["value"]))
    return {s: _interval(v) for s, v in sorted(by_system.items())}


def agreement(records: list[dict], raters: list[str]) -> dict:
    out = {}
    for kind, level in (("voice", "nominal"), ("naturalness", "interval"), ("character", "interval")):
        units = defaultdict(dict)
        for r in (r for r in records if r["kind"] == kind):
            units[r["trial"]][r["rater"]] = r["value"]
        if units:
            rows = [[u.get(rater) for rater in raters] for u in units.values()]
            out[kind] = {"alpha": krippendorff_alpha(rows, level), "level": level,
                         "units_rated_twice": sum(1 for u in units.values() if len(u) >= 2)}
    return out


def judge_correlation(records: list[dict], report: dict) -> dict:
    """Spearman's rho between people and the evaluator on the same (system, item) pairs."""
    from scipy.stats import spearmanr

    judge = {(block["name"], row["id"]): row for block in report.get("systems", []) for row in block["per_item"]}
    people = defaultdict(list)
    for r in records:
        if r["kind"] == "voice":
            chosen = r["a"] if r["value"] == "A" else r["b"]
            for s in (r["a"], r["b"]):
                people[("voice", s, r["item"])].append(float(chosen == s))
        else:
            people[(r["kind"], r["system"], r["item"])].append(float(r["value"]))
    out = {}
    for kind, metric in JUDGE_METRIC.items():
        pairs = [(float(np.mean(v)), judge[(s, item)].get(metric)) for (k, s, item), v in people.items()
                 if k == kind and (s, item) in judge]
        pairs = [(h, j) for h, j in pairs if isinstance(j, (int, float)) and math.isfinite(j)]
        if len(pairs) >= 3 and len({h for h, _ in pairs}) > 1 and len({j for _, j in pairs}) > 1:
            rho, p = spearmanr([h for h, _ in pairs], [j for _, j in pairs])
            out[kind] = {"metric": metric, "rho": float(rho), "p": float(p), "n": len(pairs)}
        elif pairs:
            out[kind] = {"metric": metric, "rho": None, "p": None, "n": len(pairs),
                         "note": "too few pairs, or no spread in one of the two"}
    return out


def summarise(records: list[dict], key: dict, eval_report: dict | None = None) -> dict:
    raters = sorted({r["rater"] for r in records})
    pairs, voice = voice_preferences(records)
    result = {"test": key["test"], "title": key.get("title"), "raters": raters, "answers": len(records),
              "trials": len(key["trials"]), "voice": {"pairs": pairs, "systems": voice},
              "naturalness": mean_scores(records, "naturalness"), "character": mean_scores(records, "character"),
              "agreement": agreement(records, raters)}
    if eval_report is not None:
        result["judge_correlation"] = judge_correlation(records, eval_report)
    return result


def _f(value, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _ci(block: dict) -> str:
    return f"{_f(block['mean'])} [{_f(block['low'])}, {_f(block['high'])}]"


def markdown(result: dict) -> str:
    lines = [f"# Listening test: {result.get('title') or result['test']}", "",
             f"{len(result['raters'])} raters, {result['answers']} answers over {result['trials']} trials. "
             "Brackets: 95 % bootstrap intervals over items.", ""]
    systems = sorted(set(result["naturalness"]) | set(result["character"]) | set(result["voice"]["systems"]))
    lines += ["| System | Naturalness (1–5) | In character (1–5) | Voice preferred |", "|---|---|---|---|"]
    for s in systems:
        cells = [_ci(result[k][s]) if s in result[k] else "–" for k in ("naturalness", "character")]
        voice = result["voice"]["systems"].get(s)
        lines.append(f"| {s} | {cells[0]} | {cells[1]} | {_ci(voice) if voice else '–'} |")
    if result["voice"]["pairs"]:
        lines += ["", "| Voice pair | First preferred | Items | Answers |", "|---|---|---|---|"]
        for pair, block in result["voice"]["pairs"].items():
            lines.append(f"| {pair} | {_ci(block)} | {block['items']} | {block['ratings']} |")
    lines += ["", "| Agreement | Krippendorff's α | Level | Trials rated twice+ |", "|---|---|---|---|"]
    for kind, block in result["agreement"].items():
        lines.append(f"| {kind} | {_f(block['alpha'], 3)} | {block['level']} | {block['units_rated_twice']} |")
    if result.get("judge_correlation"):
        lines += ["", "| People vs evaluator | Metric | Spearman ρ | p | Pairs |", "|---|---|---|---|---|"]
        for kind, block in result["judge_correlation"].items():
            lines.append(f"| {kind} | {block['metric']} | {_f(block['rho'], 3)} | {_f(block['p'], 3)} | {block['n']} |")
    return "\n".join(lines) + "\n"


def flat_metrics(result: dict) -> dict[str, float]:
    flat = {}
    for kind in ("naturalness", "character"):
        for s, block in result[kind].items():
            flat[f"listening/{kind}/{s}"] = block["mean"]
    for s, block in result["voice"]["systems"].items():
        flat[f"listening/voice/{s}"] = block["mean"]
    for kind, block in result["agreement"].items():
        flat[f"listening/alpha/{kind}"] = block["alpha"]
    for kind, block in (result.get("judge_correlation") or {}).items():
        if block["rho"] is not None:
            flat[f"listening/spearman/{kind}"] = block["rho"]
    return {k: float(v) for k, v in flat.items() if isinstance(v, float) and math.isfinite(v)}


def log_wandb(result: dict, out_dir: Path, project: str = "audiorole") -> str | None:
    """Summary metrics and the table on W&B (offline unless WANDB_MODE says otherwise); the run's folder."""
    import os

    import wandb

    run = wandb.init(project=os.environ.get("WANDB_PROJECT", project), job_type="listening_test",
                     dir=str(out_dir), mode=os.environ.get("WANDB_MODE", "offline"),
                     config={"test": result["test"], "raters": len(result["raters"])}, reinit="finish_previous")
    metrics = flat_metrics(result)
    run.summary.update(metrics)
    rows = [[k.split("/")[1], k.split("/", 2)[2], v] for k, v in metrics.items()]
    run.log({"listening/table": wandb.Table(columns=["measure", "system", "value"], data=rows)})
    path = run.dir
    run.finish()
    return path


def collect(files: list[str | Path], key_path: str | Path, eval_path: str | Path | None = None,
            out_dir: str | Path | None = None, wandb_log: bool = True) -> tuple[dict, list[str]]:
    """Write listening.json and listening.md (beside eval.md when ``eval_path`` is given)."""
    from audiorole.utils.atomic import write_json, write_text

    key_path = Path(key_path)
    try:
        key = json.loads(key_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise AudioroleError(f"{key_path}: cannot read the test's key ({type(e).__name__}); pass the key.json "
                             "that `make` wrote beside page/") from None
    report = None
    if eval_path is not None:
        eval_path = Path(eval_path)
        eval_path = eval_path / "eval.json" if eval_path.is_dir() else eval_path
        try:
            report = json.loads(eval_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise AudioroleError(f"{eval_path}: cannot read ({type(e).__name__}); pass an evaluate.py run's "
                                 "eval.json") from None
    records, errors = read_answers(files, key)
    if not records:
        raise AudioroleError(f"no usable answers in {len(files)} file(s): {'; '.join(errors[:3])}")
    result = summarise(records, key, report)
    result["errors"] = errors
    out = Path(out_dir) if out_dir else (eval_path.parent if eval_path is not None else key_path.parent)
    write_json(out / "listening.json", {**result, "records": records})
    write_text(out / "listening.md", markdown(result))
    if wandb_log:
        result["wandb_dir"] = log_wandb(result, out)
    result["out_dir"] = str(out)
    return result, errors

