"""ESPnet's / CosyVoice's ``warmuplr``: linear warm-up to the base rate, then inverse-square-root decay."""

from __future__ import annotations

import torch


class WarmupLR(torch.optim.lr_scheduler.LambdaLR):
    """lr = base · min(step / warmup, sqrt(warmup / step)), stepped per optimiser step (peak at ``warmup_steps``)."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 2500, last_epoch: int = -1):
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps = int(warmup_steps)
        super().__init__(optimizer, self._factor, last_epoch=last_epoch)

    def _factor(self, step: int) -> float:
        step += 1  # ESPnet counts steps from 1
        return min(step / self.warmup_steps, (self.warmup_steps / step) ** 0.5)
