"""Run the dataset pipeline over a series folder, resumably.

Steps so far: load and check the series folder (layout, registry, subtitles),
record every per-file problem in ``failures.jsonl`` and write an inventory.
Each later step (standardise, diarize, attribute, scenes, filter, transcribe,
enhance, write manifests) reads the previous step's output and writes its own
under ``out_dir``.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from audiorole.data.series import SeriesFolder
from audiorole.data.subtitles import read_srt
from audiorole.errors import SeriesError
from audiorole.utils.atomic import write_json, write_jsonl

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareResult:
    out_dir: Path
    episodes: int
    failures: int
    steps_done: tuple[str, ...]


def shard_of(items: list, index: int, count: int) -> list:
    """Every ``count``-th item starting at ``index``: shards of similar size, stable under reruns."""
    if count < 1 or not 0 <= index < count:
        raise SeriesError(f"bad shard: index {index} of count {count}; need 0 <= shard.index < shard.count")
    return items[index::count]


def prepare(series_dir: str | Path, out_dir: str | Path, character: str | None = None,
            shard_index: int = 0, shard_count: int = 1) -> PrepareResult:
    series = SeriesFolder.load(series_dir)
    if character is not None:
        series.registry.get(character, series.root / "characters.yaml")
    out_dir = Path(out_dir)
    episodes = shard_of(series.episodes, shard_index, shard_count)
    failures = [{"file": str(p.file), "step": "series", "error": p.message} for p in series.problems]
    for episode in episodes:
        if episode.subtitles is None:
            continue
        try:
            read_srt(episode.subtitles)
        except SeriesError as exc:
            failures.append({"file": str(episode.subtitles), "step": "series", "error": str(exc)})
    for failure in failures:
        log.warning("%s: %s", failure["file"], failure["error"])
    write_jsonl(out_dir / "failures.jsonl", failures)
    write_json(out_dir / "series.json", {
        "title": series.title,
        "root": str(series.root),
        "language": series.registry.language,
        "episodes": [{"id": e.id, "audio": str(e.audio), "subtitles": str(e.subtitles) if e.subtitles else None} for e in episodes],
        "characters": {c.name: {"display_name": c.display_name, "enrollment": [str(p) for p in c.enrollment]}
                       for c in series.registry.characters.values()},
    })
    return PrepareResult(out_dir, len(episodes), len(failures), ("series",))
