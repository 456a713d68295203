"""What a step sees while it processes one episode."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiorole.data.series import Episode, SeriesFolder


@dataclass
class EpisodeContext:
    series: SeriesFolder
    episode: Episode
    work_dir: Path
    # Results of the steps already run for this episode, by step name.
    results: dict[str, dict] = field(default_factory=dict)
    # Series-level inputs shared by every episode (e.g. character voiceprints).
    shared: dict[str, Any] = field(default_factory=dict)
