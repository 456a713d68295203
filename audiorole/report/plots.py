"""The plots that belong to each experiment, drawn from the runs that finished with the metrics they need.

- data_quantity: AP against minutes of the character's training audio, a line per character;
- enhancement: AQ against AP, a point per variant;
- per_character: AP and AQ bars per character;
- any other experiment (or one whose own plot lacks its metrics): the main metric
  against each swept setting.
Each plotter returns the files it wrote and notes on what it could not plot.
"""

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

from audiorole.report.runs import Run
from audiorole.report.table import METRIC_ORDER, is_result, setting_columns, swept_keys
from audiorole.utils.atomic import atomic_path

Plotted = tuple[list[str], list[str]]  # (file names written, notes)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_dir: Path, name: str) -> str:
    with atomic_path(out_dir / name) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _value(run: Run, metric: str) -> float | None:
    return run.metrics.get(metric) if run.status == "ok" else None


def main_metric(runs: list[Run], preferred: str = "val/ap") -> str | None:
    """The metric to plot: ``preferred`` if any run has it, else what the runs optimised, else the first known."""
    names = {k for r in runs for k, v in r.metrics.items() if v is not None}
    if preferred in names:
        return preferred
    for run in runs:
        if run.optimized_metric in names:
            return run.optimized_metric
    ordered = [m for m in METRIC_ORDER if m in names] + sorted(n for n in names if is_result(n))
    return ordered[0] if ordered else None


def _short(key: str) -> str:
    return re.split(r"[./]", key)[-1]


def variant_label(run: Run, keys: list[str]) -> str:
    return ", ".join(f"{_short(k)}={_fmt(run.settings.get(k))}" for k in keys) or Path(run.source).name


def _fmt(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def training_minutes(run: Run) -> float | None:
    """The run's cap on training audio, or the character's kept minutes when uncapped or capped above them.

    The kept minutes include the held-out validation scenes, so the uncapped point sits a little to the right.
    """
    cap, available = run.settings.get("data.max_minutes"), run.character_minutes
    if cap is None:
        return available
    return float(cap) if available is None else min(float(cap), available)


def plot_data_quantity(runs: list[Run], out_dir: Path, name: str) -> Plotted:
    metric = main_metric(runs)
    if metric is None:
        return [], [f"{name}: no run logged a metric; nothing to plot"]
    lines: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    notes = []
    for run in runs:
        y = _value(run, metric)
        if y is None or "data.max_minutes" not in run.settings:
            continue
        x = training_minutes(run)
        if x is None:
            notes.append(f"{name}: {run.source} trained on all audio but its amount is unknown (no stats.json); left out")
            continue
        lines[run.character or "?"].append((x, y, "all" if run.settings["data.max_minutes"] is None else ""))
    if not lines:
        return [], notes + [f"{name}: no finished run has {metric} and data.max_minutes; nothing to plot"]
    hours = max(x for points in lines.values() for x, _, _ in points) >= 120
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for character, points in sorted(lines.items()):
        points.sort()
        xs = [x / 60 if hours else x for x, _, _ in points]
        ax.plot(xs, [y for _, y, _ in points], marker="o", label=character)
        for x, (_, y, label) in zip(xs, points):
            if label:
                ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f"{'hours' if hours else 'minutes'} of the character's training audio (cap; all = kept total)")
    ax.set_ylabel(metric)
    ax.set_title(f"{name}: {metric} vs training audio")
    ax.grid(alpha=0.3)
    ax.legend(title="character")
    return [_save(fig, out_dir, f"{name}_{_slug(metric)}_vs_minutes.png")], notes


def plot_enhancement(runs: list[Run], out_dir: Path, name: str) -> Plotted:
    keys = setting_columns(runs)
    points = [(run.metrics.get("val/ap"), run.metrics.get("val/aq"), variant_label(run, keys))
              for run in runs if _value(run, "val/ap") is not None and _value(run, "val/aq") is not None]
    if not points:
        return [], [f"{name}: no finished run has both val/ap and val/aq; no AQ-vs-AP plot"]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for ap, aq, label in points:
        ax.scatter(ap, aq)
        ax.annotate(label, (ap, aq), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("val/ap (acoustic personalization)")
    ax.set_ylabel("val/aq (acoustic quality)")
    ax.set_title(f"{name}: AQ vs AP per variant")
    ax.grid(alpha=0.3)
    return [_save(fig, out_dir, f"{name}_aq_vs_ap.png")], []


def plot_per_character(runs: list[Run], out_dir: Path, name: str) -> Plotted:
    metrics = [m for m in ("val/ap", "val/aq") if any(_value(r, m) is not None for r in runs)]
    if not metrics:
        return [], [f"{name}: no finished run has val/ap or val/aq; no per-character bars"]
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for metric in metrics:
            if _value(run, metric) is not None:
                values[run.character or "?"][metric].append(run.metrics[metric])
    characters = sorted(values)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        heights = [mean(values[c][metric]) if values[c][metric] else 0.0 for c in characters]
        ax.bar(characters, heights)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{name}: per character (mean over runs)")
    return [_save(fig, out_dir, f"{name}_{'_'.join(_slug(m) for m in metrics)}_per_character.png")], []


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_generic(runs: list[Run], out_dir: Path, name: str) -> Plotted:
    metric = main_metric(runs)
    keys = swept_keys(runs)
    if metric is None or not keys:
        return [], [f"{name}: {'no metric logged' if metric is None else 'no swept setting'}; no metric-vs-setting plot"]
    files = []
    plt = _pyplot()
    for key in keys:
        points = [(run.settings.get(key), _value(run, metric)) for run in runs if key in run.settings]
        points = [(x, y) for x, y in points if y is not None]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [x for x, _ in points]
        if _numeric(xs):
            points.sort(key=lambda p: p[0])
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o", linestyle="-" if len(set(xs)) == len(xs) else "none")
        else:  # categories (group choices, null): one position each, in first-seen order
            labels = list(dict.fromkeys(_fmt(x) for x in xs))
            ax.scatter([labels.index(_fmt(x)) for x in xs], [y for _, y in points])
            ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.set_title(f"{name}: {metric} vs {key}")
        ax.grid(alpha=0.3)
        files.append(_save(fig, out_dir, f"{name}_{_slug(metric)}_vs_{_slug(key)}.png"))
    return files, ([] if files else [f"{name}: no finished run has {metric}; no metric-vs-setting plot"])


PLOTTERS: dict[str, Callable[[list[Run], Path, str], Plotted]] = {
    "data_quantity": plot_data_quantity,
    "enhancement": plot_enhancement,
    "per_character": plot_per_character,
}


def make_plots(runs: list[Run], out_dir: str | Path) -> Plotted:
    """Every experiment's plots; an experiment whose own plot cannot be drawn gets the generic one."""
    out_dir = Path(out_dir)
    files, notes = [], []
    for experiment in sorted({r.experiment or "runs" for r in runs}):
        members = [r for r in runs if (r.experiment or "runs") == experiment]
        own = PLOTTERS.get(experiment)
        written, said = own(members, out_dir, experiment) if own else ([], [])
        if not written:
            generic, more = plot_generic(members, out_dir, experiment)
            written, said = generic, said + (more if not generic else [])
        files += written
        notes += said
    return files, notes
