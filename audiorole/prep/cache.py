"""Per-episode, per-step results cached under a key of their inputs and config.

A step's result for one episode lives in ``<work_dir>/<step>/<episode>/<key>/``.
The key hashes the step's name, its config and the keys of what it read (the
episode file's identity, upstream steps' keys, and the series inputs the step
declares in ``reads``: registry, enrollment clips, subtitles), so a changed
config or input reprocesses exactly the steps it affects and everything
downstream of them.
``done.json`` is written last and atomically: a folder without it (a run killed
mid-step) is redone from scratch on the next run.
"""

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiorole.utils.atomic import write_json

DONE = "done.json"


def digest(*parts: Any) -> str:
    """A stable short hash of JSON-able parts (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_identity(path: Path) -> dict:
    """Name, size and mtime: cheap, and changes whenever the file is replaced."""
    stat = Path(path).stat()
    return {"name": Path(path).name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


SERIES_INPUTS = ("registry", "enrollment", "subtitles")


def series_inputs(series, episode) -> dict[str, Any]:
    """Identities of the series-level files a step may read for ``episode``, by ``SERIES_INPUTS`` name."""
    registry = Path(series.root) / "characters.yaml"
    return {
        # By content: the registry is small, and touching it without a change must not redo attribution.
        "registry": hashlib.sha256(registry.read_bytes()).hexdigest() if registry.is_file() else None,
        "enrollment": {name: [file_identity(p) for p in c.enrollment] for name, c in sorted(series.registry.characters.items())},
        "subtitles": file_identity(episode.subtitles) if episode.subtitles else None,
    }


@dataclass(frozen=True)
class StepDir:
    """Where one step's result for one episode lives."""

    path: Path
    key: str

    @property
    def done(self) -> bool:
        return (self.path / DONE).is_file()

    def result(self) -> dict:
        return json.loads((self.path / DONE).read_text())

    def begin(self) -> Path:
        """Start (or restart) the step: clear leftovers of an interrupted attempt."""
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        return self.path

    def finish(self, result: dict) -> dict:
        write_json(self.path / DONE, result)
        return result


def step_dir(work_dir: Path, step: str, episode: str, key: str) -> StepDir:
    return StepDir(Path(work_dir) / step / episode / key, key)
