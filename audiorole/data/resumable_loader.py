"""A DataLoader over a Lhotse sampler that a checkpoint can put back in the middle of an epoch.

Lightning saves a train loader's ``state_dict()`` in its checkpoints and hands it back
to ``load_state_dict()`` on resume, before the first batch is drawn. The state is the
sampler's epoch and how many of that epoch's batches were trained on, as the trainer
counts them (``progress``: the loader itself runs ahead, prefetching). On resume the
sampler replays its epoch's order (seeded by seed + epoch) and skips those batches,
walking cut ids only (no audio is read), so training carries on with the very batch an
uninterrupted run would train on next.

Lightning draws a fit's first iterator before it sets the samplers' epoch (its
``FitLoop.setup_data``), and a Lhotse sampler fixes its order when iterated, not when
first read. A run resumed at an epoch boundary (whose loader state Lightning does not
hand back) would then replay epoch 0's order; so each ``iter()`` first sets the epoch
the trainer is about to run (``epoch``).
"""

from collections.abc import Callable

from torch.utils.data import DataLoader


def fast_forward(sampler, epoch: int, batches: int) -> None:
    """Leave a Lhotse sampler to yield ``epoch``'s batches from number ``batches`` on."""
    sampler.set_epoch(epoch)
    iter(sampler)
    for _ in range(batches):
        next(sampler)
    # Lhotse's own restore: its next iter() then carries on from here instead of restarting the epoch.
    sampler.load_state_dict(sampler.state_dict())


class ResumableLoader(DataLoader):
    def __init__(self, *args, progress: Callable[[], tuple[int, bool]], epoch: Callable[[], int | None], **kwargs):
        """``progress()``: (batches of the current epoch trained on, whether that was the epoch's last);
        ``epoch()``: the epoch the trainer runs next (None outside a trainer: the sampler's own)."""
        super().__init__(*args, **kwargs)
        self._progress = progress
        self._epoch = epoch
        self._resume: dict | None = None

    def state_dict(self) -> dict:
        batches, epoch_done = self._progress()
        return {"epoch": int(self.sampler.epoch), "batches": int(batches), "epoch_done": bool(epoch_done)}

    def load_state_dict(self, state: dict) -> None:
        self._resume = dict(state)

    def __iter__(self):
        state, self._resume = self._resume, None
        if state is None:
            epoch = self._epoch()
            if epoch is not None:
                self.sampler.set_epoch(epoch)
        elif state["epoch_done"]:  # saved after the epoch's last batch: the next epoch, from its start
            self.sampler.set_epoch(state["epoch"] + 1)
        else:
            fast_forward(self.sampler, state["epoch"], state["batches"])
        return super().__iter__()
