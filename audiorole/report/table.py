"""One comparison table over runs: identity, the swept settings, status, metrics.

Setting columns are the keys a sweep varied (``sweep_params``) plus any override
whose value differs between runs of the same experiment; a value every run
shares is not a comparison, so it is left out. Metric columns are the results
(validation, test, evaluate.py's ``<system>/<metric>``), ARP-Eval's first;
training traces are left out.
"""

import csv
import io
import os
from typing import Any

from audiorole.report.runs import Run
from audiorole.utils.atomic import write_text

# ARP-Eval first, then the acoustic stage's own; any other val/ or test/ metric follows, sorted.
METRIC_ORDER = ["val/ap", "val/ap_margin", "val/aq", "val/cq", "val/cp", "val/mel_l1", "val/prior_l1", "val/loss"]
IDENTITY = ["run", "experiment", "character", "status"]


def swept_keys(runs: list[Run]) -> list[str]:
    """Settings the runs were compared on: each experiment's sweep params and the overrides that differ within it."""
    columns: set[str] = set()
    for experiment in {r.experiment for r in runs}:
        members = [r for r in runs if r.experiment == experiment]
        for run in members:
            columns |= {k for k in run.sweep_params if k in run.settings or k == "character"}
        keys = {k for r in members for k in r.settings}
        columns |= {k for k in keys if len({repr(r.settings.get(k)) for r in members}) > 1}
    return sorted(columns)


def setting_columns(runs: list[Run]) -> list[str]:
    return [k for k in swept_keys(runs) if k != "character"]  # character is an identity column


def is_result(name: str) -> bool:
    """A result to compare (val/ap, test/cq, evaluate.py's decoder/ap), not a training trace (train/loss, lr-Adam)."""
    return "/" in name and not name.startswith(("train/", "lr-", "trainer/"))


def metric_columns(runs: list[Run]) -> list[str]:
    names = {k for r in runs for k in r.metrics}
    wanted = {k for k in names if is_result(k)}
    wanted |= {r.optimized_metric for r in runs if r.optimized_metric in names}
    return [m for m in METRIC_ORDER if m in wanted] + sorted(wanted - set(METRIC_ORDER))


def _sort_key(run: Run) -> tuple:
    return (run.experiment or "", run.source.rsplit("/", 1)[0], run.job_num if run.job_num is not None else -1, run.source)


def build_table(runs: list[Run], metrics: list[str] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows): one row per run, sorted by experiment, sweep and job number."""
    settings = setting_columns(runs)
    metrics = metric_columns(runs) if metrics is None else metrics
    columns = IDENTITY + settings + metrics + ["wall_min", "error"]
    rows = []
    for run in sorted(runs, key=_sort_key):
        row = {"run": run.source, "experiment": run.experiment or "", "character": run.character or "", "status": run.status}
        # An explicit null (data.max_minutes=null: no cap) reads "null"; a setting the run lacks stays blank.
        row.update({k: "null" if k in run.settings and run.settings[k] is None else run.settings.get(k, "") for k in settings})
        row.update({k: run.metrics.get(k) for k in metrics})
        row["wall_min"] = None if run.wall_seconds is None else run.wall_seconds / 60
        row["error"] = run.error or ""
        rows.append(row)
    return columns, rows


def format_cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def short_source(source: str, common: str) -> str:
    """A run's place relative to what all runs share (a sweep's job number, say)."""
    if not common:
        return source
    return source[len(common):].lstrip("/") or source.rsplit("/", 1)[-1]


def _common_prefix(sources: list[str]) -> str:
    if len(sources) < 2:
        return sources[0].rsplit("/", 1)[0] if sources and "/" in sources[0] else ""
    try:
        return os.path.commonpath(sources)
    except ValueError:  # absolute and relative mixed, or W&B ids
        return os.path.commonprefix(sources)


def to_markdown(columns: list[str], rows: list[dict[str, Any]]) -> str:
    common = _common_prefix([r["run"] for r in rows])

    def cell(column: str, row: dict) -> str:
        text = short_source(row["run"], common) if column == "run" else format_cell(row[column])
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c, r) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
    return buffer.getvalue()


def write_tables(columns: list[str], rows: list[dict[str, Any]], out_dir, plots: list[str], notes: list[str] = ()) -> None:
    """``runs.md`` (the table, then the plots and notes) and ``runs.csv``, each written atomically."""
    markdown = "# Runs\n\n" + to_markdown(columns, rows)
    if plots:
        markdown += "\n## Plots\n\n" + "".join(f"![{name}]({name})\n\n" for name in plots)
    if notes:
        markdown += "\n## Notes\n\n" + "".join(f"- {note}\n" for note in notes)
    write_text(f"{out_dir}/runs.md", markdown)
    write_text(f"{out_dir}/runs.csv", to_csv(columns, rows))


def print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    """The table on the console (rich), the error column last and wrapped."""
    from rich.console import Console
    from rich.table import Table

    common = _common_prefix([r["run"] for r in rows])
    table = Table(title=f"{len(rows)} runs" + (f" under {common}" if common else ""))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        style = "red" if row["status"] == "failed" else None
        table.add_row(*[short_source(row["run"], common) if c == "run" else format_cell(row[c]) for c in columns], style=style)
    Console().print(table)
