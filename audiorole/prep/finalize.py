"""Collect every episode's results into the dataset folder.

    <out_dir>/
      audio/<character>/<id>.flac      kept replies (enhanced, at the output rate)
      rttm/<episode>.rttm              diarization
      recordings|supervisions|cuts|episodes.jsonl.gz   Lhotse manifests
      kept.jsonl, dropped.jsonl        every reply with its fate (and drop reason)
      failures.jsonl                   one line per file that failed or warned
      stats.json, report.md, *.png     statistics
"""

import json
import os
from pathlib import Path

from audiorole.prep.manifests import copy_atomic, write_manifests
from audiorole.prep.stats import compute_stats, write_report
from audiorole.utils.atomic import write_jsonl


def _link(src: Path, dst: Path) -> None:
    """Hard-link a cached clip into the dataset (no copy); copy across filesystems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".tmp-{dst.name}")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(src, tmp)
        os.replace(tmp, dst)
    except OSError:
        copy_atomic(src, dst)


def finalize(series, result, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    kept, dropped, episodes, input_seconds = [], [], {}, 0.0
    for episode_id, steps in sorted(result.results.items()):
        input_seconds += steps["standardise"]["duration"]
        episodes[episode_id] = steps["standardise"]["audio"]
        if "diarize" in steps:
            copy_atomic(steps["diarize"]["rttm"], out_dir / "rttm" / f"{episode_id}.rttm")
        if "postprocess" not in steps:
            continue
        for sample in json.loads(Path(steps["postprocess"]["kept"]).read_text()):
            dst = out_dir / "audio" / sample["character"] / f"{sample['id']}.flac"
            _link(Path(sample["audio"]), dst)
            kept.append({**sample, "audio": str(dst)})
        dropped += json.loads(Path(steps["postprocess"]["dropped"]).read_text())
    failures = result.failures + result.warnings
    write_jsonl(out_dir / "failures.jsonl", failures)
    write_jsonl(out_dir / "kept.jsonl", kept)
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    if kept or episodes:
        write_manifests(kept, episodes, out_dir)
    stats = compute_stats(kept, dropped, result.failures, input_seconds, result.episodes)
    stats["seconds_by_step"] = {k: round(v, 2) for k, v in result.timings.items()}
    write_report(stats, out_dir, series.title)
    return stats
