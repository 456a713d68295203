"""Collect every episode's results into the dataset folder.

    <out_dir>/
      audio/<character>/<id>.flac      kept replies (enhanced, at the output rate)
      rttm/<episode>.rttm              diarization
      transcripts/<episode>.jsonl      every transcribed turn (any speaker): start, end, character, text
      recordings|supervisions|cuts|episodes.jsonl.gz   Lhotse manifests
      kept.jsonl, dropped.jsonl        every reply with its fate (and drop reason)
      failures.jsonl                   one line per file that failed or warned
      stats.json, report.md, *.png     statistics
"""

import json
from collections import Counter
from pathlib import Path

from audiorole.prep.manifests import copy_atomic, write_manifests
from audiorole.prep.stats import attributed_seconds, character_health, compute_stats, write_report
from audiorole.prep.truth_eval import read_script
from audiorole.utils.atomic import link_atomic, write_jsonl


def truth_scripts(series, episodes) -> dict[str, list[dict]] | None:
    """The series' ground truth per episode (``truth/<episode>.script.jsonl``), if every episode has one."""
    paths = {ep: series.root / "truth" / f"{ep}.script.jsonl" for ep in episodes}
    if not paths or not all(p.is_file() for p in paths.values()):
        return None
    return {ep: read_script(p) for ep, p in paths.items()}


def truth_turns(series, scripts: dict[str, list[dict]] | None) -> dict[str, int] | None:
    """Cast turns per character in the ground truth."""
    if scripts is None:
        return None
    counts = Counter(u["speaker"] for utts in scripts.values() for u in utts)
    return {name: counts.get(name, 0) for name in series.registry.characters}


def no_reply_warning(steps: dict) -> str | None:
    """Why an episode gave no reply at all, or ``None`` if it gave some."""
    post = steps.get("postprocess")
    if post is None or post["n_kept"]:
        return None
    if not post["n_dropped"]:
        return "no turn was attributed to a character; check characters.yaml and the enrollment clips"
    reasons = Counter(d["reason"] for d in json.loads(Path(post["dropped"]).read_text()))
    return (f"all {post['n_dropped']} attributed replies dropped ("
            + ", ".join(f"{r} {n}" for r, n in reasons.most_common()) + "); see dropped.jsonl")


def prune(folder: Path, keep: set[Path]) -> None:
    """Remove clips of earlier runs that are no longer kept, and temporaries a killed run left."""
    for path in folder.rglob("*") if folder.is_dir() else ():
        if path.is_file() and path not in keep:
            path.unlink()


def finalize(series, result, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    kept, dropped, episodes, input_seconds = [], [], {}, 0.0
    for episode_id, steps in sorted(result.results.items()):
        input_seconds += steps["standardise"]["duration"]
        episodes[episode_id] = steps["standardise"]["audio"]
        if "diarize" in steps:
            copy_atomic(steps["diarize"]["rttm"], out_dir / "rttm" / f"{episode_id}.rttm")
        if "transcribe" in steps:
            turns = json.loads(Path(steps["transcribe"]["turns"]).read_text())
            write_jsonl(out_dir / "transcripts" / f"{episode_id}.jsonl",
                        [{k: t[k] for k in ("start", "end", "character", "text")} for t in turns])
        if "postprocess" not in steps:
            continue
        for sample in json.loads(Path(steps["postprocess"]["kept"]).read_text()):
            dst = out_dir / "audio" / sample["character"] / f"{sample['id']}.flac"
            link_atomic(sample["audio"], dst)  # hard link of the cached clip: no copy
            kept.append({**sample, "audio": str(dst)})
        dropped += json.loads(Path(steps["postprocess"]["dropped"]).read_text())
    prune(out_dir / "audio", {Path(s["audio"]) for s in kept})
    sources = {ep.id: ep.audio for ep in series.episodes}
    empty = {ep: why for ep, steps in sorted(result.results.items()) if (why := no_reply_warning(steps))}
    result.warnings += [{"file": str(sources.get(ep, ep)), "step": "postprocess", "warning": f"no replies: {why}"}
                        for ep, why in empty.items()]
    failures = result.failures + result.warnings
    write_jsonl(out_dir / "failures.jsonl", failures)
    write_jsonl(out_dir / "kept.jsonl", kept)
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    if kept or episodes:
        write_manifests(kept, episodes, out_dir)
    scripts = truth_scripts(series, sorted(result.results))
    health = character_health(kept, attributed_seconds([out_dir / "transcripts"]), series.registry.characters, scripts)
    stats = compute_stats(kept, dropped, result.failures, input_seconds, result.episodes,
                          truth_turns=truth_turns(series, scripts), health=health)
    stats["episodes_without_replies"] = empty
    stats["seconds_by_step"] = {k: round(v, 2) for k, v in result.timings.items()}
    write_report(stats, out_dir, series.title)
    return stats
