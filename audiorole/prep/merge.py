"""Join the shards of a sharded prepare run into one dataset.

    python -m audiorole.prep.merge data/prepared/NAME

Manifests are concatenated (reply ids carry the episode, so they never clash);
stats and the report are recomputed from the merged files.
"""

import json
import sys
from pathlib import Path

from audiorole.errors import SeriesError
from audiorole.prep.manifests import write_manifests
from audiorole.prep.stats import attributed_seconds, character_health, compute_stats, write_report
from audiorole.utils.atomic import write_jsonl


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def merge_shards(out_dir: str | Path) -> dict:
    out_dir = Path(out_dir)
    shards = sorted(p for p in (out_dir / "shards").glob("*-of-*") if p.is_dir())
    if not shards:
        raise SeriesError(f"no shards under {out_dir / 'shards'}; run prepare with data.shard.count > 1 first")
    counts = {p.name.split("-of-")[1] for p in shards}
    if len(counts) != 1 or len(shards) != int(counts.pop()):
        raise SeriesError(f"{out_dir / 'shards'}: shards are missing or from different counts ({[p.name for p in shards]}); rerun the missing ones")
    kept, dropped, failures, episodes, input_seconds, n_episodes = [], [], [], {}, 0.0, 0
    for shard in shards:
        stats_path = shard / "stats.json"
        if not stats_path.is_file():
            raise SeriesError(f"{shard}: unfinished shard (no stats.json); rerun it")
        shard_stats = json.loads(stats_path.read_text())
        input_seconds += shard_stats["input_hours"] * 3600
        n_episodes += shard_stats["episodes"]
        kept += _read_jsonl(shard / "kept.jsonl")
        dropped += _read_jsonl(shard / "dropped.jsonl")
        failures += _read_jsonl(shard / "failures.jsonl")
        episodes.update({r["id"]: r["sources"][0]["source"] for r in _read_jsonl_gz(shard / "episodes.jsonl.gz")})
    write_jsonl(out_dir / "kept.jsonl", kept)
    write_jsonl(out_dir / "dropped.jsonl", dropped)
    write_jsonl(out_dir / "failures.jsonl", failures)
    write_manifests(kept, episodes, out_dir)
    characters = {c for shard in shards for c in json.loads((shard / "stats.json").read_text()).get("character_health", {})}
    health = character_health(kept, attributed_seconds([shard / "transcripts" for shard in shards]), characters)
    stats = compute_stats(kept, dropped, [f for f in failures if "error" in f], input_seconds, n_episodes, health=health)
    write_report(stats, out_dir, out_dir.name)
    return stats


def _read_jsonl_gz(path: Path) -> list[dict]:
    import gzip

    if not path.is_file():
        return []
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m audiorole.prep.merge <prepared dataset dir>")
    try:
        result = merge_shards(sys.argv[1])
    except SeriesError as exc:
        sys.exit(f"error: {exc}")
    print(f"merged: {result['replies_kept']} replies kept, {result['replies_dropped']} dropped")
