"""The datamodule every stage builds on: ``prepare_data`` runs the dataset pipeline.

``prepare_data`` runs once per node on rank 0 and is idempotent, so calling it
again (Lightning does, inside ``fit``) costs only the cache checks.
"""

import logging
from pathlib import Path

import lightning as L

from audiorole.prep.pipeline import PrepareResult, prepare

log = logging.getLogger(__name__)


class SeriesDataModule(L.LightningDataModule):
    def __init__(self, series_dir: str, out_dir: str, character: str, shard_index: int = 0, shard_count: int = 1):
        super().__init__()
        self.series_dir = Path(series_dir)
        self.out_dir = Path(out_dir)
        self.character = character
        self.shard = (shard_index, shard_count)
        self.prepared: PrepareResult | None = None

    def prepare_data(self) -> None:
        self.prepared = prepare(self.series_dir, self.out_dir, self.character, *self.shard)
        log.info("dataset steps done: %s -> %s (%d episodes, %d failures in failures.jsonl)",
                 ", ".join(self.prepared.steps_done), self.out_dir, self.prepared.episodes, self.prepared.failures)
