"""``ConditionalCFM``: optimal-transport conditional flow matching with classifier-free guidance.

Training regresses the straight path's velocity from noise z to the mel x1; sampling integrates
it with Euler steps over a cosine-warped time grid (denser near t=0, where the path is decided).
Randomness comes only from the ``noise``/``generator`` arguments, so results are reproducible;
by default sampling draws its noise from a generator seeded 42, which is what the authors' code
does through the global seed, so outputs match theirs on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

AUTHORS_NOISE_SEED = 42


class ConditionalCFM(nn.Module):
    def __init__(self, estimator: nn.Module, sigma_min: float = 1e-6, t_scheduler: str = "cosine",
                 training_cfg_rate: float = 0.2, inference_cfg_rate: float = 0.7):
        super().__init__()
        if t_scheduler not in ("cosine", "linear"):
            raise ValueError(f"t_scheduler {t_scheduler!r}: use 'cosine' or 'linear'")
        self.estimator = estimator
        self.sigma_min, self.t_scheduler = sigma_min, t_scheduler
        self.training_cfg_rate, self.inference_cfg_rate = training_cfg_rate, inference_cfg_rate

    def _warp(self, t: torch.Tensor) -> torch.Tensor:
        return 1 - torch.cos(t * 0.5 * math.pi) if self.t_scheduler == "cosine" else t

    @torch.no_grad()
    def forward(self, mu, mask, n_timesteps: int, temperature: float = 1.0, spks=None, cond=None,
                noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
                guidance: float | None = None) -> torch.Tensor:
        """Sample a mel (B, 80, T) for encoder output ``mu`` (B, 80, T) and frame mask (B, 1, T)."""
        if noise is None:
            if generator is None:
                generator = torch.Generator(device=mu.device).manual_seed(AUTHORS_NOISE_SEED)
            noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        guidance = self.inference_cfg_rate if guidance is None else guidance
        t_span = self._warp(torch.linspace(0, 1, n_timesteps + 1, device=mu.device, dtype=mu.dtype))
        return self.solve_euler(noise * temperature, t_span, mu, mask, spks, cond, guidance)

    def solve_euler(self, x, t_span, mu, mask, spks, cond, guidance: float) -> torch.Tensor:
        # t advances by dt and dt is re-measured from the running t, as the authors' solver does
        t, dt = t_span[0], t_span[1] - t_span[0]
        for step in range(1, len(t_span)):
            if guidance > 0:
                # conditional and unconditional fields in one batched pass (VoiceBox-style CFG)
                both = self.estimator(torch.cat([x, x]), torch.cat([mask, mask]), torch.cat([mu, torch.zeros_like(mu)]),
                                      t, _pair(spks), _pair(cond))
                cond_v, uncond_v = both.chunk(2)
                v = (1.0 + guidance) * cond_v - guidance * uncond_v
            else:
                v = self.estimator(x, mask, mu, t, spks, cond)
            x, t = x + dt * v, t + dt
            if step < len(t_span) - 1:
                dt = t_span[step + 1] - t
        return x

    def compute_loss(self, x1, mask, mu, spks=None, cond=None, generator: torch.Generator | None = None):
        """Flow-matching MSE over masked frames; conditions dropped for ``training_cfg_rate`` of the items.

        Draws t, z and the drop mask in the authors' order, so a shared seed gives their loss.
        """
        b = mu.shape[0]
        t = self._warp(torch.rand([b, 1, 1], device=mu.device, dtype=mu.dtype, generator=generator))
        z = torch.randn(x1.shape, device=x1.device, dtype=x1.dtype, generator=generator)
        y = (1 - (1 - self.sigma_min) * t) * z + t * x1
        u = x1 - (1 - self.sigma_min) * z
        if self.training_cfg_rate > 0:
            keep = (torch.rand(b, device=x1.device, generator=generator) > self.training_cfg_rate).to(mu.dtype)
            mu = mu * keep.view(-1, 1, 1)
            spks = None if spks is None else spks * keep.view(-1, 1)
            cond = None if cond is None else cond * keep.view(-1, 1, 1)
        pred = self.estimator(y, mask, mu, t.squeeze(), spks, cond)
        loss = ((pred * mask - u * mask) ** 2).sum() / (mask.sum() * u.shape[1])
        return loss, y


def _pair(x):
    return None if x is None else torch.cat([x, torch.zeros_like(x)])
