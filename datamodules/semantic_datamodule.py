"""The semantic stage's data: one character's replies with their scene context, as dialogues.

The dataset split's ``train`` part trains, its ``dev`` part validates (the same
whole-scene split as the acoustic stage, ``audiorole.data.splits``), so ARP-Eval's
dev and test items were never trained on. Batches are bucketed by reply duration
with Lhotse's DynamicBucketingSampler (speech tokens, 12.5 per second, are most
of a sample's length). Batches hold ``Dialogue`` records; the semantic module
encodes them with its LM's tokenizer.

``cast`` trains one adapter on several characters at once (``all``: every character
with kept replies), each reply under its own character's persona (the system prompt):
a small LM sees three times the lines of one character, and the persona is what tells
the characters apart when it answers. Validation then covers the same characters'
dev parts; the test part stays out of it as always.
"""

import logging

from torch.utils.data import DataLoader

from audiorole.data.reply_sampler import reply_sampler
from audiorole.text.dialogues import DialogueBatches, system_prompts
from audiorole.tokenizers.cache import latest_cache
from datamodules.series_datamodule import SeriesDataModule

log = logging.getLogger(__name__)


def _as_is(batch):
    return batch


class SemanticDataModule(SeriesDataModule):
    def __init__(self, data, character: str, tokenizer=None, max_duration: float = 60.0, num_buckets: int = 4,
                 max_minutes: float | None = None, num_workers: int = 0, seed: int = 0,
                 cast: list[str] | str | None = None):
        super().__init__(data, character, tokenizer)
        self.cast = cast
        self.max_duration = max_duration
        self.num_buckets = num_buckets
        self.max_minutes = max_minutes
        self.num_workers = num_workers
        self.seed = seed

    def setup(self, stage: str | None = None) -> None:
        needs = "the semantic stage needs more of this character's lines"
        self.read_parts(self.max_minutes, self.seed, needs=needs)
        trained = [self.character]
        if self.cast:
            from audiorole.data.splits import train_and_dev
            from audiorole.eval.run import resolve_characters

            for other in resolve_characters(self.cast, self.data.out_dir):
                if other not in trained:
                    train, dev = train_and_dev(self.data.out_dir, other, self.data.get("splits"), self.max_minutes,
                                               self.seed, needs=needs)
                    self.train_cuts, self.val_cuts = self.train_cuts + train, self.val_cuts + dev
                    trained.append(other)
        self.token_dir = latest_cache(self.data.out_dir)
        self.systems = system_prompts(self.data.series_dir)
        log.info("semantic data for %s: %d train replies, %d dev replies", ", ".join(trained),
                 len(self.train_cuts), len(self.val_cuts))

    def _loader(self, cuts, shuffle: bool) -> DataLoader:
        sampler = reply_sampler(cuts, self.max_duration, self.num_buckets, shuffle, self.seed)
        dataset = DialogueBatches(str(self.token_dir), self.systems)
        if shuffle:  # training: resumable mid-epoch
            return self.train_loader(dataset, sampler, collate_fn=_as_is, num_workers=self.num_workers)
        return DataLoader(dataset, sampler=sampler, batch_size=None, collate_fn=_as_is, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_cuts, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_cuts, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_cuts(), shuffle=False)
