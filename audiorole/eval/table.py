"""ARP-Eval results as rows, a Markdown table in the paper's shape, and a CSV.

Rows are systems, columns the ARP-Eval scores (AQ per quality backend, CQ, AP, the AP margin
over the nearest other character, CP) and intelligibility (WER, CER), each mean with its 95 %
bootstrap interval. The multi-turn consistency (``consistency.py``) sits right beside the mean it
is about: a steady spread only means something at a good mean (constant output has none). With
several characters each system also gets one row per character, with the hours of audio its
decoder trained on. Below: how many items each mean stands on (n / asked, unscoreable ones
scored at the scale's minimum) and the comparisons with their paired intervals.
"""

from __future__ import annotations

import csv
import io
import math

from audiorole.eval.metrics import STATS
from audiorole.eval.result import is_metric_key
from audiorole.utils.atomic import write_text

# (key, column title); ↑ higher is better, ↓ lower is better. aq_<backend> columns follow aq.
SCORE_COLUMNS = (("aq", "AQ ↑"), ("cq", "CQ ↑"), ("ap", "AP ↑"), ("ap_margin", "AP margin ↑"), ("cp", "CP ↑"),
                 ("wer", "WER ↓"), ("cer", "CER ↓"))
CONSISTENCY_COLUMNS = (("ap_std", "AP std"), ("ap_msd", "AP Δturn"), ("cp_std", "CP std"), ("cp_msd", "CP Δturn"))
BESIDE = {"ap": ("ap_std", "ap_msd"), "cp": ("cp_std", "cp_msd")}  # consistency next to its mean
ALL = "all"


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def score_keys(rows: list[dict]) -> list[str]:
    """The score keys some row has, in column order (``aq_<backend>`` right after ``aq``)."""
    extra = sorted({k for r in rows for k in r if is_metric_key(k) and k.startswith("aq_")})
    order = []
    for key, _ in SCORE_COLUMNS:
        order.append(key)
        if key == "aq":
            order += extra
    return [k for k in order if any(r.get(k) is not None for r in rows)]


def column_title(key: str, backends: dict) -> str:
    titles = dict(SCORE_COLUMNS)
    if key.startswith("aq"):
        return f"AQ ({backends.get(key) or key.removeprefix('aq_')}) ↑"
    return titles.get(key) or dict(CONSISTENCY_COLUMNS)[key]


def _row(system: str, character: str, block: dict, hours) -> dict:
    consistency = block.get("consistency") or {}
    row = {"system": system, "character": character, "train_hours": hours, "items": block.get("items")}
    row.update(block.get("metrics", {}))
    row.update({k: consistency.get(k) for k, _ in CONSISTENCY_COLUMNS})
    row["consistency_scenes"] = consistency.get("scenes")
    return row


def result_rows(report: dict) -> list[dict]:
    """One row per system over all its items (character ``all`` when several), then one per (system, character)."""
    characters = report["characters"]
    rows = []
    for system in report["systems"]:
        per_character = system["per_character"]
        if len(per_character) > 1:
            rows.append(_row(system["name"], ALL, system, sum(c["train_hours"] or 0.0 for c in characters.values())))
        for name, block in per_character.items():
            rows.append(_row(system["name"], name, block, characters[name]["train_hours"]))
    return rows


def _mean_cell(row: dict, key: str) -> str:
    mean = row.get(key)
    if key not in dict(SCORE_COLUMNS) and not key.startswith("aq_"):
        return _fmt(mean)  # a consistency column
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    if _fmt(low) == "–":
        return _fmt(mean)
    return f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]"


def _coverage_cell(row: dict, key: str) -> str:
    n, coverage, floored = row.get(f"{key}_n"), row.get(f"{key}_coverage"), row.get(f"{key}_unscoreable")
    if n is None or coverage is None or not math.isfinite(coverage) or coverage == 0:
        return "–"
    cell = f"{int(n)}/{round(n / coverage)}"
    return cell + (f" ({int(floored)} at min)" if floored else "")


def _columns(rows: list[dict]) -> list[str]:
    out = []
    for key in score_keys(rows):
        out.append(key)
        out += [k for k in BESIDE.get(key, ()) if any(r.get(k) is not None for r in rows)]
    return out


def _markdown_table(rows: list[dict], lead: list[tuple[str, str]], columns: list[str], backends: dict,
                    cell=_mean_cell) -> list[str]:
    header = [title for _, title in lead] + [column_title(k, backends) for k in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [_fmt(row.get(k), 3) if k == "train_hours" else _fmt(row.get(k)) for k, _ in lead]
        cells += [cell(row, k) for k in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _comparison_lines(report: dict) -> list[str]:
    rows = report.get("comparisons") or []
    if not rows:
        return []
    lines = ["", "## Comparisons", "",
             "Mean per-item difference A − B over the items both were scored on, with a 95 % paired bootstrap "
             "interval; an interval that excludes 0 is a difference on these items (for WER/CER, lower is better).",
             "", "| A | B | Character | Metric | A − B | 95 % CI | n |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['a']} | {r['b']} | {r['character']} | {r['metric']} | {_fmt(r['diff'])} | "
                     f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] | {r['n']} |")
    return lines


def _variety_lines(report: dict) -> list[str]:
    rows = [(block["name"], character, sub["variety"]) for block in report["systems"]
            for character, sub in block.get("per_character", {}).items() if sub.get("variety")]
    if not rows:
        return []
    lines = ["", "## Reply variety", "",
             "Systems that write their replies: distinct replies over replies (normalised text), and the share that "
             "repeats one of the character's training replies verbatim (95 % interval).", "",
             "| System | Character | Distinct | Copied from training | n |", "|---|---|---|---|---|"]
    for name, character, v in rows:
        lines.append(f"| {name} | {character} | {_fmt(v['distinct'], 2)} | {_fmt(v['copied'], 2)} "
                     f"[{_fmt(v['copied_ci_low'], 2)}, {_fmt(v['copied_ci_high'], 2)}] | {v['n']} |")
    return lines


def markdown(report: dict) -> str:
    rows = result_rows(report)
    backends = report.get("backends") or {}
    several = len(report["characters"]) > 1
    main = [r for r in rows if r["character"] == ALL] if several else rows
    columns = _columns(rows)
    names = ", ".join(report["characters"])
    lead = [("system", "System"), ("train_hours", "Train h"), ("items", "Items")]
    lines = [f"# ARP-Eval: {names}", ""]
    lines += _markdown_table(main, lead, columns, backends)
    if several:
        lines += ["", "## Per character", ""]
        per = [r for r in rows if r["character"] != ALL]
        lines += _markdown_table(per, lead[:1] + [("character", "Character")] + lead[1:], columns, backends)
    lines += ["", "Each mean with its 95 % percentile bootstrap interval over items. AQ: predicted MOS (1–5) by the "
              "named backend; CQ: content quality; AP: speaker similarity to the character's enrollment centroid, "
              "AP margin: over the nearest other character; CP: character style; WER / CER: the speech's ASR "
              "transcript against the text it should say. AP / CP std and Δturn (beside their means): spread and "
              "mean turn-to-turn change within scenes where the character has two or more held-out replies; read "
              "them with the mean (a constant output has none)."]
    lines += ["", "## Coverage", "", "Items each mean stands on: scored / asked; unscoreable outputs (no audio, "
              "silent, too short, no words) hold the scale's minimum and count in the mean.", ""]
    lines += _markdown_table(main if not several else rows, [("system", "System"), ("character", "Character")],
                             score_keys(rows), backends, cell=_coverage_cell)
    lines += _comparison_lines(report)
    lines += _variety_lines(report)
    if backends:
        lines += ["", "Backends: " + ", ".join(f"{k}={v}" for k, v in sorted(backends.items())) + "."]
    return "\n".join(lines) + "\n"


def csv_fields(rows: list[dict]) -> list[str]:
    scores = [f for k in score_keys(rows) for f in (k, *(f"{k}_{s}" for s in STATS))]
    return ["system", "character", "train_hours", "items", *scores, *(k for k, _ in CONSISTENCY_COLUMNS),
            "consistency_scenes"]


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=csv_fields(rows), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in writer.fieldnames})
    return buffer.getvalue()


def write_markdown(path, report: dict) -> None:
    write_text(path, markdown(report))


def write_csv(path, report: dict) -> None:
    write_text(path, csv_text(result_rows(report)))
