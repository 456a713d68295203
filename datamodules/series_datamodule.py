"""The datamodule every stage builds on: ``prepare_data`` runs the dataset pipeline.

``prepare_data`` runs once per node on rank 0 and is idempotent (every step is
cached), so calling it again costs only the cache checks.
"""

import logging

import lightning as L
from omegaconf import DictConfig

from audiorole.prep.run import prepare_dataset

log = logging.getLogger(__name__)


class SeriesDataModule(L.LightningDataModule):
    def __init__(self, data: DictConfig, character: str, tokenizer: DictConfig | None = None):
        super().__init__()
        self.data = data
        self.character = character
        self.tokenizer = tokenizer
        self.prepared = None

    def prepare_data(self) -> None:
        self.prepared = prepare_dataset(self.data, self.character, self.tokenizer)
        stats = self.prepared.stats
        log.info("dataset at %s: %s replies kept, %d failures (failures.jsonl)",
                 self.data.out_dir, stats.get("replies_kept", "?"), len(self.prepared.failures))
