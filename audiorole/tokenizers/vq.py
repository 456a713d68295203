"""Vector quantiser with an EMA codebook, as trained inside a supervised speech tokenizer.

The recipe of VQ-VAE-2 / SoundStream-style codebooks, the one WhisperVQ-like tokenizers use:
- the nearest code by L2 distance, gradients passed straight through to the encoder;
- codebook entries follow an exponential moving average of the frames assigned to them
  (no gradient reaches the codebook), the encoder is pulled toward its codes by a
  commitment loss;
- the codebook starts from k-means on encoder outputs (``init``), and an entry no frame
  has used for a while is restarted on a random current frame, so no code stays dead.
Usage and perplexity of the codes are what training logs to show the codebook is alive.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def nearest(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row (L2) for each row of ``x``."""
    distances = x.pow(2).sum(-1, keepdim=True) - 2 * x @ codebook.T + codebook.pow(2).sum(-1)
    return distances.argmin(-1)


@torch.no_grad()
def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability ∝ squared distance to the nearest one."""
    centroids = [x[torch.randint(len(x), (1,), generator=generator)]]
    closest = (x - centroids[0]).pow(2).sum(-1)
    for _ in range(1, k):
        pick = torch.multinomial(closest / closest.sum(), 1, generator=generator) if closest.sum() > 0 else \
            torch.randint(len(x), (1,), generator=generator)
        centroids.append(x[pick])
        closest = torch.minimum(closest, (x - centroids[-1]).pow(2).sum(-1))
    return torch.cat(centroids)


@torch.no_grad()
def kmeans(x: torch.Tensor, k: int, iters: int = 20, generator: torch.Generator | None = None) -> torch.Tensor:
    """Lloyd's k-means on rows of ``x`` from k-means++ seeds (an empty cluster is re-seeded on a random row)."""
    if len(x) < k:
        raise ValueError(f"{len(x)} frames cannot initialise {k} codes; train on more audio or use fewer codes")
    centroids = kmeans_plus_plus(x, k, generator)
    for _ in range(iters):
        assign = nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        reseed = x[torch.randint(len(x), (k,), generator=generator)]
        centroids = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], reseed)
    return centroids


def usage(codes: torch.Tensor, k: int) -> tuple[int, float]:
    """(codes used, perplexity) of a set of code indices: perplexity = exp(entropy), k at best."""
    p = torch.bincount(codes.reshape(-1), minlength=k).double()
    p = p[p > 0] / p.sum()
    return int(len(p)), float(math.exp(-(p * p.log()).sum()))


class VectorQuantizer(nn.Module):
    def __init__(self, codebook_size: int, dim: int, decay: float = 0.99, dead_after: float = 1e-3):
        super().__init__()
        self.codebook_size, self.dim, self.decay, self.dead_after = codebook_size, dim, decay, dead_after
        self.register_buffer("codebook", torch.zeros(codebook_size, dim))
        self.register_buffer("ema_count", torch.ones(codebook_size))
        self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))

    @torch.no_grad()
    def init(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Start the codebook from k-means on ``frames`` (encoder outputs of the training data)."""
        centroids = kmeans(frames, self.codebook_size, generator=generator)
        self.codebook.copy_(centroids)
        self.ema_sum.copy_(centroids)
        self.ema_count.fill_(1.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows of ``x`` (N, dim) → (quantised rows with straight-through gradient, indices, commitment loss)."""
        index = nearest(x.detach(), self.codebook)
        quantised = self.codebook[index]
        if self.training:
            self._update(x.detach(), index)
        commitment = F.mse_loss(x, quantised.detach())
        return x + (quantised - x).detach(), index, commitment

    @torch.no_grad()
    def _update(self, x: torch.Tensor, index: torch.Tensor) -> None:
        counts = torch.bincount(index, minlength=self.codebook_size).to(x.dtype)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, index, x)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (total + self.codebook_size * 1e-5) * total  # Laplace smoothing
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        dead = self.ema_count < self.dead_after
        if dead.any():
            restart = x[torch.randint(len(x), (int(dead.sum()),), device=x.device)]
            self.codebook[dead] = restart
            self.ema_sum[dead] = restart
            self.ema_count[dead] = 1.0
