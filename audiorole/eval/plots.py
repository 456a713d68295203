"""One bar chart per ARP-Eval metric: systems along x, one bar per character, whiskers for the 95 % interval."""

from __future__ import annotations

import math
from pathlib import Path

from audiorole.eval.table import ALL, column_title, score_keys
from audiorole.utils.atomic import atomic_path


def _value(row: dict, key: str) -> float:
    v = row.get(key)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else math.nan


def bar_charts(rows: list[dict], out_dir: str | Path) -> list[Path]:
    """Write ``<out_dir>/<metric>.png`` for every score column some row has; returns the paths."""
    # The object API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    systems = list(dict.fromkeys(r["system"] for r in rows))
    characters = [c for c in dict.fromkeys(r["character"] for r in rows) if c != ALL]
    by_key = {(r["system"], r["character"]): r for r in rows}
    width = 0.8 / max(1, len(characters))
    written = []
    for key in score_keys(rows):
        fig = Figure(figsize=(max(4.0, 1.3 * len(systems) + 1.5), 3.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for j, character in enumerate(characters):
            xs = [i - 0.4 + width * (j + 0.5) for i in range(len(systems))]
            cells = [by_key.get((s, character), {}) for s in systems]
            ys = [_value(c, key) for c in cells]
            low = [y - _value(c, f"{key}_ci_low") for y, c in zip(ys, cells)]
            high = [_value(c, f"{key}_ci_high") - y for y, c in zip(ys, cells)]
            whiskers = [[0.0 if math.isnan(v) else v for v in low], [0.0 if math.isnan(v) else v for v in high]]
            bars = ax.bar(xs, ys, width=width * 0.95, label=character, yerr=whiskers, capsize=2,
                          error_kw={"linewidth": 0.8})
            ax.bar_label(bars, labels=["" if math.isnan(y) else f"{y:.2f}" for y in ys], fontsize=7)
        ax.set_xticks(range(len(systems)), systems, rotation=15 if len(systems) > 3 else 0, fontsize=8)
        ax.set_title(column_title(key, {}).rstrip(" ↑↓") + " (95 % interval)")
        ax.axhline(0.0, color="black", linewidth=0.6)
        if len(characters) > 1:
            ax.legend(fontsize=7, title="character", title_fontsize=7)
        path = out_dir / f"{key}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        written.append(path)
    return written
