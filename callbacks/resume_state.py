"""Random-number states in every checkpoint, put back on resume: a resumed run draws what an uninterrupted one would.

Lightning's checkpoints restore weights, optimisers and loop counters; the train loader
(``audiorole.data.resumable_loader``) restores its place in the epoch. The random states
of torch, NumPy and Python (CUDA too, on GPUs), taken on this rank when the checkpoint is
written, are saved under ``rng_states`` (plain tensors and lists, so checkpoints still
load with torch's ``weights_only`` unpickler) and set again when training starts after a
resume, so flow-matching noise, dropout and segment draws continue as if never stopped.
"""

import random

import numpy as np
import torch
from lightning.pytorch import Callback

KEY = "rng_states"


def rng_states() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": list(random.getstate()[1]) + [random.getstate()[0], random.getstate()[2]]}


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    *internal, version, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


class ResumeState(Callback):
    def __init__(self):
        self._pending: dict | None = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[KEY] = rng_states()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        self._pending = checkpoint.get(KEY)

    def on_train_start(self, trainer, pl_module) -> None:
        # After the sanity check and the loader's restore: the next draw is the next training step's.
        if self._pending:
            set_rng_states(self._pending)
        self._pending = None
