"""Dataset statistics (``stats.json``) and a short readable report with plots."""

from collections import Counter, defaultdict
from pathlib import Path

from audiorole.utils.atomic import atomic_path, write_json, write_text


def reply_funnel(kept: list[dict], dropped: list[dict], truth_turns: dict[str, int] | None = None) -> dict:
    """Per character: truth turns (when the series has ground truth) -> attributed replies -> kept,
    and why the others were dropped."""
    funnel: dict[str, dict] = defaultdict(lambda: {"attributed": 0, "kept": 0, "dropped": Counter()})
    for sample in kept:
        funnel[sample["character"]]["kept"] += 1
    for sample in dropped:
        funnel[sample["character"]]["dropped"][sample["reason"]] += 1
    for name in truth_turns or {}:
        _ = funnel[name]  # a character with truth turns and no reply at all still gets a row
    for name, entry in funnel.items():
        entry["attributed"] = entry["kept"] + sum(entry["dropped"].values())
        entry["dropped"] = dict(entry["dropped"].most_common())
        entry["truth_turns"] = truth_turns.get(name, 0) if truth_turns is not None else None
    return dict(sorted(funnel.items()))


def compute_stats(kept: list[dict], dropped: list[dict], failures: list[dict], input_seconds: float,
                  episodes: int, truth_turns: dict[str, int] | None = None) -> dict:
    per_character: dict[str, dict] = defaultdict(lambda: {"replies": 0, "seconds": 0.0})
    for sample in kept:
        entry = per_character[sample["character"]]
        entry["replies"] += 1
        entry["seconds"] += sample["duration"]
    for entry in per_character.values():
        entry["hours"] = round(entry["seconds"] / 3600, 4)
        entry["seconds"] = round(entry["seconds"], 2)
    return {
        "episodes": episodes,
        "input_hours": round(input_seconds / 3600, 4),
        "replies_kept": len(kept),
        "replies_dropped": len(dropped),
        "kept_hours": round(sum(s["duration"] for s in kept) / 3600, 4),
        "per_character": dict(sorted(per_character.items())),
        "drops_by_reason": dict(Counter(d["reason"] for d in dropped).most_common()),
        "funnel": reply_funnel(kept, dropped, truth_turns),
        "failures": len(failures),
        "durations": sorted(round(s["duration"], 2) for s in kept),
    }


def _plot(path: Path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    draw(ax)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def write_report(stats: dict, out_dir: Path, title: str) -> None:
    """``stats.json``, ``report.md`` and three plots."""
    write_json(out_dir / "stats.json", stats)
    chars = stats["per_character"]
    reasons = stats["drops_by_reason"]
    _plot(out_dir / "hours_per_character.png",
          lambda ax: (ax.bar(list(chars), [c["seconds"] / 60 for c in chars.values()]), ax.set_ylabel("minutes kept")))
    _plot(out_dir / "durations.png",
          lambda ax: (ax.hist(stats["durations"] or [0], bins=20), ax.set_xlabel("reply duration (s)"), ax.set_ylabel("replies")))
    _plot(out_dir / "drops_by_reason.png",
          lambda ax: (ax.barh(list(reasons) or ["none"], list(reasons.values()) or [0]), ax.set_xlabel("replies dropped")))
    lines = [f"# Dataset report: {title}", "",
             f"- episodes: {stats['episodes']}, input {stats['input_hours'] * 60:.1f} min, failures: {stats['failures']}",
             f"- replies kept: {stats['replies_kept']} ({stats['kept_hours'] * 60:.1f} min), dropped: {stats['replies_dropped']}",
             "", "| character | replies | minutes |", "|---|---:|---:|"]
    lines += [f"| {name} | {c['replies']} | {c['seconds'] / 60:.2f} |" for name, c in chars.items()]
    lines += ["", "| drop reason | replies |", "|---|---:|"] + [f"| {r} | {n} |" for r, n in reasons.items()]
    lines += ["", "Per character: truth turns (when the series has ground truth) -> attributed replies -> kept.", "",
              "| character | truth turns | attributed | kept | dropped by reason |", "|---|---:|---:|---:|---|"]
    lines += [f"| {name} | {'-' if f['truth_turns'] is None else f['truth_turns']} | {f['attributed']} | {f['kept']} | "
              f"{', '.join(f'{r} {n}' for r, n in f['dropped'].items()) or '-'} |" for name, f in stats.get("funnel", {}).items()]
    empty = stats.get("episodes_without_replies") or {}
    if empty:
        lines += ["", "**Episodes that gave no reply:**", ""] + [f"- {ep}: {why}" for ep, why in empty.items()]
    lines += ["", "![minutes per character](hours_per_character.png)", "![durations](durations.png)",
              "![drops](drops_by_reason.png)", ""]
    write_text(out_dir / "report.md", "\n".join(lines))
