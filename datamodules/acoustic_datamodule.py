"""The acoustic stage's data: one character's kept replies as (speech tokens, mel) batches.

Training reads the dataset split's ``train`` part, validation (and so checkpoint
selection) its ``dev`` part (``audiorole.data.splits``: whole scenes). Batches are
bucketed by duration with Lhotse's DynamicBucketingSampler; ``max_minutes`` trains
on a subset.
"""

import logging

from torch.utils.data import DataLoader

from audiorole.data.acoustic_batches import AcousticBatches
from audiorole.data.padding import padding_efficiency
from audiorole.data.reply_sampler import reply_sampler
from audiorole.tokenizers.cache import latest_cache
from datamodules.series_datamodule import SeriesDataModule

log = logging.getLogger(__name__)


class AcousticDataModule(SeriesDataModule):
    def __init__(self, data, character: str, tokenizer=None, max_duration: float = 40.0, num_buckets: int = 4,
                 crop_seconds: float | None = 2.0, max_minutes: float | None = None,
                 num_workers: int = 0, seed: int = 0, with_wave: bool = True):
        super().__init__(data, character, tokenizer, token_contexts=False)  # decoders read reply tokens only
        self.max_duration = max_duration
        self.num_buckets = num_buckets
        self.crop_seconds = crop_seconds
        self.max_minutes = max_minutes
        self.num_workers = num_workers
        self.seed = seed
        self.with_wave = with_wave  # the vocoder trains on the waveform behind each mel

    def setup(self, stage: str | None = None) -> None:
        self.read_parts(self.max_minutes, self.seed, needs="the acoustic stage needs more of this character's audio")
        self.token_dir = latest_cache(self.data.out_dir)
        log.info("acoustic data for %s: %d train replies (%.1f min), %d dev replies",
                 self.character, len(self.train_cuts), sum(c.duration for c in self.train_cuts) / 60, len(self.val_cuts))

    def _loader(self, cuts, shuffle: bool, crop: float | None) -> DataLoader:
        sampler = reply_sampler(cuts, self.max_duration, self.num_buckets, shuffle, self.seed)
        dataset = AcousticBatches(str(self.token_dir), crop_seconds=crop, seed=self.seed, with_wave=self.with_wave,
                                  epoch_of=sampler)
        if shuffle:  # training: resumable mid-epoch
            return self.train_loader(dataset, sampler, num_workers=self.num_workers)
        return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        loader = self._loader(self.train_cuts, shuffle=True, crop=self.crop_seconds)
        sampler = loader.sampler
        self.padding_efficiency = padding_efficiency(sampler, self.crop_seconds)
        sampler.set_epoch(0)  # the estimate walked an epoch: start the real one afresh
        log.info("train batches: %.1f%% of each padded batch is real audio (%s)", 100 * self.padding_efficiency,
                 type(sampler).__name__)
        return loader

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_cuts, shuffle=False, crop=None)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_cuts(), shuffle=False, crop=None)
