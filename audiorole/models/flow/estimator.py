"""The flow-matching estimator: CosyVoice's ``ConditionalDecoder``, a 1-D U-Net of ResNet and transformer blocks.

Input is [x_t, mu, speaker, prefix-mel] stacked on channels (4 × 80 = 320 for GLM-4-Voice).
With channels (256, 256) there is one ×2 down/up step in time; the mid blocks run at half rate.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorole.models.flow.transformer_block import BasicTransformerBlock
from audiorole.models.flow.unet_blocks import (Block1D, Downsample1D, ResnetBlock1D, SinusoidalPosEmb,
                                                         TimestepEmbedding, Upsample1D)


def _transformers(dim, n_blocks, heads, head_dim, dropout, act_fn) -> nn.ModuleList:
    return nn.ModuleList(BasicTransformerBlock(dim, heads, head_dim, dropout, act_fn) for _ in range(n_blocks))


def _attend(blocks: nn.ModuleList, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run transformer blocks over (B, C, T) with the 0/1 outer-product mask as score bias (see transformer_block)."""
    x = x.transpose(1, 2)
    bias = torch.matmul(mask.transpose(1, 2), mask)
    for block in blocks:
        x = block(x, bias)
    return x.transpose(1, 2)


class ConditionalDecoder(nn.Module):
    def __init__(self, in_channels: int = 320, out_channels: int = 80, channels=(256, 256), dropout: float = 0.0,
                 attention_head_dim: int = 64, n_blocks: int = 4, num_mid_blocks: int = 12, num_heads: int = 8,
                 act_fn: str = "gelu"):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        time_dim = channels[0] * 4
        self.time_embeddings = SinusoidalPosEmb(in_channels)
        self.time_mlp = TimestepEmbedding(in_channels, time_dim)
        block = dict(n_blocks=n_blocks, heads=num_heads, head_dim=attention_head_dim, dropout=dropout, act_fn=act_fn)

        self.down_blocks = nn.ModuleList()
        dim = in_channels
        for i, out in enumerate(channels):
            last = i == len(channels) - 1
            down = nn.Conv1d(out, out, 3, padding=1) if last else Downsample1D(out)
            self.down_blocks.append(nn.ModuleList([ResnetBlock1D(dim, out, time_dim), _transformers(out, **block), down]))
            dim = out
        self.mid_blocks = nn.ModuleList(
            nn.ModuleList([ResnetBlock1D(dim, dim, time_dim), _transformers(dim, **block)])
            for _ in range(num_mid_blocks))
        ups = channels[::-1] + (channels[0],)
        self.up_blocks = nn.ModuleList()
        for i in range(len(ups) - 1):
            last = i == len(ups) - 2
            out = ups[i + 1]
            up = nn.Conv1d(out, out, 3, padding=1) if last else Upsample1D(out)
            # input: the previous level's output concatenated with the skip of the same level
            self.up_blocks.append(nn.ModuleList([ResnetBlock1D(ups[i] * 2, out, time_dim), _transformers(out, **block), up]))
        self.final_block = Block1D(ups[-1], ups[-1])
        self.final_proj = nn.Conv1d(ups[-1], out_channels, 1)
        self._init_weights()

    def _init_weights(self):
        # the authors' initialisation (matters only when training from scratch; nothing to fill on the meta device)
        if self.final_proj.weight.is_meta:
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x, mask, mu, t, spks=None, cond=None):
        """x, mu, cond (B, 80, T); mask (B, 1, T) float; t scalar or (B,); spks (B, 80) -> velocity (B, 80, T)."""
        t = self.time_mlp(self.time_embeddings(t))
        parts = [x, mu]
        if spks is not None:
            parts.append(spks.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        if cond is not None:
            parts.append(cond)
        x = torch.cat(parts, dim=1)

        skips, masks = [], [mask]
        for resnet, transformers, down in self.down_blocks:
            m = masks[-1]
            x = _attend(transformers, resnet(x, m, t), m)
            skips.append(x)
            x = down(x * m)
            masks.append(m[:, :, ::2])
        masks.pop()  # the rate below the last level is never used
        m = masks[-1]
        for resnet, transformers in self.mid_blocks:
            x = _attend(transformers, resnet(x, m, t), m)
        for resnet, transformers, up in self.up_blocks:
            m, skip = masks.pop(), skips.pop()
            x = resnet(torch.cat([x[:, :, : skip.shape[-1]], skip], dim=1), m, t)
            x = up(_attend(transformers, x, m) * m)
        x = self.final_block(x, m)
        return self.final_proj(x * m) * mask
