"""Conditional flow matching (optimal-transport path) with classifier-free guidance and Euler sampling.

Path x_t = (1 - (1 - sigma_min) t) z + t x1 with target velocity u = x1 - (1 - sigma_min) z
(Lipman et al.; CosyVoice's ``ConditionalCFM``). The conditioning (mu and the prefix mel)
is dropped per item with ``cfg_rate`` at training so the same network also learns the
unconditional field; sampling mixes them as (1 + w) v_cond - w v_uncond.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def time_schedule(t: torch.Tensor, kind: str) -> torch.Tensor:
    """Map uniform t in [0, 1] to the schedule: 'cosine' spends more steps near noise (t = 0)."""
    if kind == "cosine":
        return 1.0 - torch.cos(t * 0.5 * math.pi)
    if kind == "linear":
        return t
    raise ValueError(f"unknown time schedule {kind!r}; use 'cosine' or 'linear'")


class ConditionalFlowMatching(nn.Module):
    def __init__(self, estimator: nn.Module, sigma_min: float = 1e-6, cfg_rate: float = 0.2,
                 t_scheduler: str = "cosine"):
        super().__init__()
        time_schedule(torch.zeros(1), t_scheduler)  # fail at construction on a bad name
        self.estimator = estimator
        self.sigma_min, self.cfg_rate, self.t_scheduler = sigma_min, cfg_rate, t_scheduler

    def loss(self, x1: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor, cond: torch.Tensor,
             loss_mask: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """MSE between predicted and target velocity on ``loss_mask`` frames (default: ``mask``).

        x1, mu, cond (B, n_mels, T); mask, loss_mask (B, T) bool. Frames outside ``loss_mask``
        (padding, and the given prefix) contribute nothing, not even to the normaliser.
        """
        b = x1.shape[0]
        t = time_schedule(torch.rand(b, device=x1.device, generator=generator), self.t_scheduler)
        z = torch.randn(x1.shape, device=x1.device, generator=generator)
        tt = t[:, None, None]
        x_t = (1 - (1 - self.sigma_min) * tt) * z + tt * x1
        u = x1 - (1 - self.sigma_min) * z
        if self.training and self.cfg_rate > 0:
            keep = (torch.rand(b, device=x1.device, generator=generator) >= self.cfg_rate).to(x1.dtype)[:, None, None]
            mu, cond = mu * keep, cond * keep
        pred = self.estimator(x_t, mask, mu, t, cond)
        lm = (mask if loss_mask is None else loss_mask & mask).unsqueeze(1).to(x1.dtype)
        denom = lm.sum().clamp(min=1.0) * x1.shape[1]
        return ((pred - u) ** 2 * lm).sum() / denom

    @torch.no_grad()
    def sample(self, mu: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor, n_steps: int = 10,
               guidance: float = 0.7, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Euler-integrate from noise at t=0 to data at t=1 in ``n_steps`` steps -> (B, n_mels, T)."""
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        keep = mask.unsqueeze(1).to(mu.dtype)
        x = torch.randn(mu.shape, device=mu.device, generator=generator) * temperature * keep
        ts = time_schedule(torch.linspace(0, 1, n_steps + 1, device=mu.device), self.t_scheduler)
        b = mu.shape[0]
        for i in range(n_steps):
            t, dt = ts[i], ts[i + 1] - ts[i]
            if guidance:
                # one batched call for the conditional and the unconditional field
                v = self.estimator(torch.cat([x, x]), torch.cat([mask, mask]),
                                   torch.cat([mu, torch.zeros_like(mu)]), t.expand(2 * b),
                                   torch.cat([cond, torch.zeros_like(cond)]))
                v = (1 + guidance) * v[:b] - guidance * v[b:]
            else:
                v = self.estimator(x, mask, mu, t.expand(b), cond)
            x = (x + dt * v) * keep
        return x
