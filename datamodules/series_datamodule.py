"""The datamodule every stage builds on: ``prepare_data`` runs the dataset pipeline.

``prepare_data`` runs once per node on rank 0 and is idempotent (every step is
cached), so calling it again costs only the cache checks. ``read_parts`` gives a
stage the dataset split's train part (training) and dev part (validation and so
selection); ``test_cuts`` the test part, for ``trainer.test`` after fit.
``train_loader`` makes training batches that a checkpoint can resume mid-epoch.
"""

import logging

import lightning as L
from omegaconf import DictConfig

from audiorole.data.resumable_loader import ResumableLoader
from audiorole.data.splits import character_cuts_for, load_splits, train_and_dev
from audiorole.prep.run import prepare_dataset

log = logging.getLogger(__name__)


class SeriesDataModule(L.LightningDataModule):
    def __init__(self, data: DictConfig, character: str, tokenizer: DictConfig | None = None,
                 token_contexts: bool = True):
        super().__init__()
        self.data = data
        self.character = character
        self.tokenizer = tokenizer
        self.token_contexts = token_contexts  # tokenize context turns too (the semantic stage reads them)
        self.prepared = None
        self.splits = None
        self.train_cuts = self.val_cuts = None

    def prepare_data(self) -> None:
        self.prepared = prepare_dataset(self.data, self.character, self.tokenizer, self.token_contexts)
        stats = self.prepared.stats
        log.info("dataset at %s: %s replies kept, %d failures (failures.jsonl)",
                 self.data.out_dir, stats.get("replies_kept", "?"), len(self.prepared.failures))

    def read_parts(self, max_minutes: float | None, seed: int, needs: str) -> None:
        self.train_cuts, self.val_cuts = train_and_dev(self.data.out_dir, self.character, self.data.get("splits"),
                                                       max_minutes, seed, needs=needs)
        self.splits = load_splits(self.data.out_dir)

    def test_cuts(self):
        return character_cuts_for(self.data.out_dir, self.character, "test")

    def train_loader(self, dataset, sampler, **kwargs) -> ResumableLoader:
        return ResumableLoader(dataset, sampler=sampler, batch_size=None, progress=self._train_progress,
                               epoch=self._train_epoch, **kwargs)

    def _train_progress(self) -> tuple[int, bool]:
        progress = self.trainer.fit_loop.epoch_loop.batch_progress
        return progress.current.processed, progress.is_last_batch

    def _train_epoch(self) -> int | None:
        # The number Lightning hands the samplers' set_epoch (after its first iter(), hence asked here too).
        return None if self.trainer is None else self.trainer.fit_loop.epoch_progress.current.processed
