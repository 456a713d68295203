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


# A character whose share of its diarized speech that becomes kept replies is under this fraction of
# the cast's median share (or whose recall of truth turns is under this fraction of the mean) is flagged.
COLLAPSE_FRACTION = 0.5


def attributed_seconds(transcript_dirs) -> dict[str, float]:
    """Seconds of diarized speech attributed to each character, from ``transcripts/<episode>.jsonl`` files."""
    import json

    seconds: dict[str, float] = defaultdict(float)
    for folder in transcript_dirs:
        for path in sorted(Path(folder).glob("*.jsonl")):
            for line in path.read_text().splitlines():
                turn = json.loads(line) if line.strip() else {}
                if turn.get("character"):
                    seconds[turn["character"]] += turn["end"] - turn["start"]
    return dict(seconds)


def character_health(kept: list[dict], attributed: dict[str, float] | None, characters,
                     scripts: dict[str, list[dict]] | None = None) -> dict[str, dict]:
    """Per character: diarized speech attributed, kept, their ratio, and (with truth scripts) recall and
    precision; ``flag`` says when its kept audio collapsed against its screen time or the cast's recall."""
    from audiorole.prep.truth_spans import covers, truth_speaker

    rows: dict[str, dict] = {}
    for name in sorted(set(characters) | {r["character"] for r in kept}):
        mine = [r for r in kept if r["character"] == name]
        row = {"attributed_seconds": round((attributed or {}).get(name, 0.0), 2),
               "kept_seconds": round(sum(r["end"] - r["start"] for r in mine), 2)}
        row["kept_share"] = row["kept_seconds"] / row["attributed_seconds"] if row["attributed_seconds"] else None
        if scripts is not None:
            turns = [(ep, u) for ep, utts in scripts.items() for u in utts if u["speaker"] == name]
            row["truth_turns"] = len(turns)
            row["recall"] = (sum(any(covers(r, u) for r in mine if r["episode"] == ep) for ep, u in turns) / len(turns)
                             if turns else None)
            scored = [r for r in mine if r["episode"] in scripts]
            row["precision"] = (sum(truth_speaker(r, scripts[r["episode"]]) == name for r in scored) / len(scored)
                                if scored else None)
        rows[name] = row
    shares = sorted(r["kept_share"] for r in rows.values() if r["kept_share"] is not None)
    median_share = shares[len(shares) // 2] if shares else None
    recalls = [r["recall"] for r in rows.values() if r.get("recall") is not None and r["truth_turns"]]
    mean_recall = sum(recalls) / len(recalls) if recalls else None
    for name, row in rows.items():
        flags = []
        if attributed is not None and name in characters and not row["attributed_seconds"]:
            flags.append("no speech attributed")
        elif median_share and row["kept_share"] is not None and row["kept_share"] < COLLAPSE_FRACTION * median_share:
            flags.append(f"kept {100 * row['kept_share']:.0f} % of its attributed speech (cast median "
                         f"{100 * median_share:.0f} %)")
        if mean_recall and row.get("recall") is not None and row["truth_turns"] and row["recall"] < COLLAPSE_FRACTION * mean_recall:
            flags.append(f"recall {100 * row['recall']:.0f} % (cast mean {100 * mean_recall:.0f} %)")
        row["flag"] = "; ".join(flags) or None
    return rows


def compute_stats(kept: list[dict], dropped: list[dict], failures: list[dict], input_seconds: float,
                  episodes: int, truth_turns: dict[str, int] | None = None, health: dict | None = None) -> dict:
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
        "character_health": health or {},
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
    health = stats.get("character_health") or {}
    if health:
        with_truth = any("recall" in h for h in health.values())
        lines += ["", "Per character: minutes of diarized speech attributed to it (its screen time as the pipeline "
                  "heard it) and minutes kept" + (", recall of its truth turns and precision of its kept replies"
                                                 if with_truth else "") + ". A flag marks a character whose kept audio "
                  "collapsed against its screen time or whose recall is under half the cast's.", "",
                  "| character | attributed min | kept min | kept share |" + (" recall % | precision % |" if with_truth else "")
                  + " flag |", "|---|---:|---:|---:|" + ("---:|---:|" if with_truth else "") + "---|"]
        pct = lambda x: "-" if x is None else f"{100 * x:.0f}"  # noqa: E731
        for name, h in health.items():
            lines.append(f"| {name} | {h['attributed_seconds'] / 60:.2f} | {h['kept_seconds'] / 60:.2f} | "
                         f"{pct(h['kept_share'])} % |" + (f" {pct(h.get('recall'))} | {pct(h.get('precision'))} |"
                                                          if with_truth else "")
                         + f" {'**' + h['flag'] + '**' if h['flag'] else ''} |")
        flagged = {n: h["flag"] for n, h in health.items() if h["flag"]}
        if flagged:
            lines += ["", "**Characters whose audio collapsed:**", ""] + [f"- {n}: {why}" for n, why in flagged.items()]
    empty = stats.get("episodes_without_replies") or {}
    if empty:
        lines += ["", "**Episodes that gave no reply:**", ""] + [f"- {ep}: {why}" for ep, why in empty.items()]
    lines += ["", "![minutes per character](hours_per_character.png)", "![durations](durations.png)",
              "![drops](drops_by_reason.png)", ""]
    write_text(out_dir / "report.md", "\n".join(lines))
