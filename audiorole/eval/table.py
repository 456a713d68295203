"""ARP-Eval results as rows, a Markdown table in the paper's shape, and a CSV.

Rows are systems, columns the four ARP-Eval scores (AQ, CQ, AP, CP) plus the AP margin
over the nearest other character and the multi-turn consistency (``consistency.py``).
With several characters each system also gets one row per character, with the hours of
audio its decoder trained on beside the scores.
"""

from __future__ import annotations

import csv
import io
import math

from audiorole.utils.atomic import write_text

# (key, column title); ↑ higher is better, ↓ lower is better
SCORE_COLUMNS = (("aq", "AQ ↑"), ("cq", "CQ ↑"), ("ap", "AP ↑"), ("ap_margin", "AP margin ↑"), ("cp", "CP ↑"))
CONSISTENCY_COLUMNS = (("ap_std", "AP std ↓"), ("ap_msd", "AP Δturn ↓"),
                       ("cp_std", "CP std ↓"), ("cp_msd", "CP Δturn ↓"))
CSV_FIELDS = ("system", "character", "train_hours", "items", *(k for k, _ in SCORE_COLUMNS),
              *(k for k, _ in CONSISTENCY_COLUMNS), "consistency_scenes")
ALL = "all"


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _row(system: str, character: str, block: dict, hours) -> dict:
    consistency = block.get("consistency") or {}
    row = {"system": system, "character": character, "train_hours": hours, "items": block.get("items")}
    row.update({k: block.get("metrics", {}).get(k) for k, _ in SCORE_COLUMNS})
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


def _columns_present(rows: list[dict], columns) -> list[tuple[str, str]]:
    return [(k, title) for k, title in columns if any(r.get(k) is not None for r in rows)]


def _markdown_table(rows: list[dict], lead: list[tuple[str, str]], columns: list[tuple[str, str]]) -> list[str]:
    header = [title for _, title in lead + columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [_fmt(row.get(k), 3) if k == "train_hours" else _fmt(row.get(k)) for k, _ in lead + columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(report: dict) -> str:
    rows = result_rows(report)
    several = len(report["characters"]) > 1
    main = [r for r in rows if r["character"] == ALL] if several else rows
    columns = _columns_present(rows, SCORE_COLUMNS) + _columns_present(rows, CONSISTENCY_COLUMNS)
    names = ", ".join(report["characters"])
    lines = [f"# ARP-Eval: {names}", ""]
    lines += _markdown_table(main, [("system", "System"), ("train_hours", "Train h"), ("items", "Items")], columns)
    if several:
        lines += ["", "## Per character", ""]
        per = [r for r in rows if r["character"] != ALL]
        lines += _markdown_table(per, [("system", "System"), ("character", "Character"), ("train_hours", "Train h"),
                                       ("items", "Items")], columns)
    lines += ["", "AQ: predicted MOS (1–5); CQ: content quality; AP: speaker similarity to the character's "
              "enrollment centroid, AP margin: over the nearest other character; CP: character style. "
              "std / Δturn: spread and mean turn-to-turn change of per-reply AP / CP within scenes where the "
              "character has two or more held-out replies (lower is steadier)."]
    backends = report.get("backends") or {}
    if backends:
        lines += ["", "Backends: " + ", ".join(f"{k}={v}" for k, v in sorted(backends.items())) + "."]
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_FIELDS})
    return buffer.getvalue()


def write_markdown(path, report: dict) -> None:
    write_text(path, markdown(report))


def write_csv(path, report: dict) -> None:
    write_text(path, csv_text(result_rows(report)))
