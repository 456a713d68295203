"""FlowDecoder: speech tokens -> 80-bin log-mel, trained from scratch per character.

encoder (tokens -> mu at the mel rate) + conditional flow matching whose estimator sees
[x_t, mu, prefix mel]. No speaker embedding: the voice lives in the weights (docs/design.md §3).
Both the flow loss and an L1 "prior" loss of mu against the target are returned, so the
flow's value over the encoder's direct prediction is measured, not assumed (docs/design.md §10).

The exported artifact is a directory with ``config.json`` and ``model.safetensors``;
``FlowDecoder.load`` needs only torch and this package.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from audiorole.models.flow.cfm import ConditionalFlowMatching
from audiorole.models.flow.encoder import TokenEncoder, frames_for_tokens, regulate
from audiorole.models.flow.estimator import Estimator
from audiorole.models.flow.layers import lengths_to_mask

ARTIFACT_FORMAT = "audiorole-flow-decoder"
ARTIFACT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
SILENCE = math.log(1e-5)  # the log-mel floor: what padding frames are filled with


class FlowDecoder(nn.Module):
    def __init__(self, codebook_size: int = 16384, d_model: int = 192, encoder_layers: int = 3, heads: int = 4,
                 estimator_channels=(192,), estimator_attn: int = 1, estimator_mid_blocks: int = 2,
                 estimator_heads: int = 4, estimator_head_dim: int = 48, ff_mult: int = 4, dropout: float = 0.1,
                 conv_kernel: int = 0, n_mels: int = 80, sample_rate: int = 22050, hop_length: int = 256,
                 token_rate: float = 12.5, sigma_min: float = 1e-6, cfg_rate: float = 0.2, guidance: float = 0.7,
                 prefix_prob: float = 0.5, prefix_max: float = 0.8, t_scheduler: str = "cosine",
                 prior_weight: float = 1.0, mel_mean: float = -5.5, mel_std: float = 2.2):
        super().__init__()
        if isinstance(estimator_channels, int):
            estimator_channels = [estimator_channels]
        estimator_channels = [int(c) for c in estimator_channels]  # also turns an OmegaConf list into a plain one
        self._config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.encoder = TokenEncoder(codebook_size, d_model, encoder_layers, heads, ff_mult, dropout, conv_kernel, n_mels)
        estimator = Estimator(n_mels, estimator_channels, estimator_attn, estimator_mid_blocks, estimator_heads,
                              estimator_head_dim, ff_mult, dropout=0.0)
        self.cfm = ConditionalFlowMatching(estimator, sigma_min, cfg_rate, t_scheduler)
        self.n_mels, self.guidance = n_mels, guidance
        self.prefix_prob, self.prefix_max, self.prior_weight = prefix_prob, prefix_max, prior_weight
        self.sample_rate, self.hop_length, self.token_rate = sample_rate, hop_length, token_rate
        # log-mel spans about [-11.5, 2]: standardise so it sits on the same scale as the N(0, 1) noise
        self.mel_mean, self.mel_std = mel_mean, mel_std

    # ---- config / artifact -------------------------------------------------------------
    @property
    def config(self) -> dict:
        return dict(self._config, estimator_channels=list(self._config["estimator_channels"]))

    @classmethod
    def from_config(cls, config: dict) -> "FlowDecoder":
        """Build from a plain or OmegaConf mapping; a Hydra ``_target_`` key is ignored."""
        if not isinstance(config, dict):
            from omegaconf import OmegaConf  # only for OmegaConf input

            config = OmegaConf.to_container(config, resolve=True)
        return cls(**{k: v for k, v in config.items() if not k.startswith("_")})

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save(self, path: str | Path) -> Path:
        """Write the artifact directory (config.json + model.safetensors); returns it."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": ARTIFACT_FORMAT, "version": ARTIFACT_VERSION, "config": self.config}
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(path / WEIGHTS_FILE))
        (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "FlowDecoder":
        """Load an artifact written by ``save`` (in eval mode)."""
        from safetensors.torch import load_file

        path = Path(path)
        meta = json.loads((path / CONFIG_FILE).read_text())
        if meta.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"{path}: not a flow-decoder artifact (format {meta.get('format')!r})")
        if meta.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"{path}: artifact version {meta.get('version')}, this code reads {ARTIFACT_VERSION}")
        model = cls.from_config(meta["config"])
        model.load_state_dict(load_file(str(path / WEIGHTS_FILE), device=str(device)))
        return model.to(device).eval()

    # ---- helpers ----------------------------------------------------------------------
    def frames_for_tokens(self, num_tokens):
        return frames_for_tokens(num_tokens, self.sample_rate, self.hop_length, self.token_rate)

    def normalize(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mel_mean) / self.mel_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mel_std + self.mel_mean

    def make_condition(self, x1: torch.Tensor, mel_lens: torch.Tensor, generator: torch.Generator | None = None):
        """Training prefix: with ``prefix_prob`` per item, reveal a random prefix of at most ``prefix_max``
        of its frames. Returns (cond (B, n_mels, T), loss_mask (B, T) bool: valid frames after the prefix)."""
        b, _, t = x1.shape
        dev = x1.device
        use = torch.rand(b, device=dev, generator=generator) < self.prefix_prob
        limit = torch.floor(mel_lens.float() * self.prefix_max)
        prefix = torch.floor(torch.rand(b, device=dev, generator=generator) * (limit + 1)).long() * use
        frames = torch.arange(t, device=dev)[None, :]
        in_prefix = frames < prefix[:, None]
        cond = x1 * in_prefix.unsqueeze(1).to(x1.dtype)
        loss_mask = (frames < mel_lens[:, None]) & ~in_prefix
        return cond, loss_mask

    # ---- training ---------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor, token_lens: torch.Tensor, mel: torch.Tensor, mel_lens: torch.Tensor,
                generator: torch.Generator | None = None) -> dict:
        """tokens (B, N) with token_lens (B,); log-mel (B, n_mels, T) with mel_lens (B,) -> losses.

        The encoder is stretched to each target's own ``mel_lens``. Prefix conditioning and CFG
        dropout apply only in training mode; in eval mode the flow loss is over all valid frames.
        """
        t = mel.shape[-1]
        mask = lengths_to_mask(mel_lens, t)
        keep = mask.unsqueeze(1).to(mel.dtype)
        x1 = self.normalize(mel) * keep
        mu = self.encoder(tokens, token_lens, mel_lens, max_frames=t)
        if self.training and self.prefix_prob > 0:
            cond, loss_mask = self.make_condition(x1, mel_lens, generator)
        else:
            cond, loss_mask = torch.zeros_like(x1), mask
        flow_loss = self.cfm.loss(x1, mask, mu, cond, loss_mask, generator)
        prior_loss = ((mu - x1).abs() * keep).sum() / (keep.sum().clamp(min=1.0) * self.n_mels)
        return {"loss": flow_loss + self.prior_weight * prior_loss, "flow_loss": flow_loss, "prior_loss": prior_loss}

    # ---- inference --------------------------------------------------------------------
    def _batch(self, tokens, token_lens):
        tokens = torch.as_tensor(tokens, device=self._device()).long()
        single = tokens.dim() == 1
        if single:
            tokens = tokens[None]
        if token_lens is None:
            token_lens = torch.full((tokens.shape[0],), tokens.shape[1], device=tokens.device)
        return tokens, torch.as_tensor(token_lens, device=tokens.device).long(), single

    def _device(self):
        return next(self.parameters()).device

    def _finish(self, x: torch.Tensor, lens: torch.Tensor, single: bool) -> torch.Tensor:
        mel = self.denormalize(x).masked_fill(~lengths_to_mask(lens, x.shape[-1]).unsqueeze(1), SILENCE)
        return mel[0] if single else mel

    @torch.no_grad()
    def prior_mel(self, tokens, token_lens=None) -> torch.Tensor:
        """The encoder's direct mel prediction mu (no flow): (n_mels, T) or (B, n_mels, T) log-mel."""
        tokens, token_lens, single = self._batch(tokens, token_lens)
        mel_lens = self.frames_for_tokens(token_lens)
        return self._finish(self.encoder(tokens, token_lens, mel_lens), mel_lens, single)

    @torch.no_grad()
    def generate(self, tokens, n_steps: int = 10, guidance: float | None = None, prompt_mel=None,
                 seed: int | None = None, token_lens=None, prompt_tokens=None, temperature: float = 1.0) -> torch.Tensor:
        """Tokens (N,) or (B, N) -> log-mel (n_mels, T) or (B, n_mels, T), T = round(N × sr / hop / token_rate).

        Padding frames (beyond each item's length) hold the log floor (silence).
        ``guidance``: CFG scale (default the config's, 0.7); 0 runs the conditional field only.
        ``prompt_mel`` (n_mels, P) or (B, n_mels, P) conditions on known mel, two ways:
          * with ``prompt_tokens`` (the prompt's own tokens): CosyVoice-style continuation — the
            prompt is encoded with ``tokens`` for context and only the new frames are returned;
          * without: ``prompt_mel`` is the known prefix of ``tokens``' own mel (inpainting) —
            the full length is returned with the prefix frames copied from the prompt.
        ``seed`` makes the noise, hence the output, deterministic.
        ``n_steps=0`` skips the flow and returns the encoder's own prediction mu (``prior_mel``):
        on small data it can match the voice better than an under-trained flow's samples.
        """
        if n_steps < 0:
            raise ValueError(f"n_steps must be >= 0 (0: the encoder's mel, no flow), got {n_steps}")
        guidance = self.guidance if guidance is None else guidance
        tokens, token_lens, single = self._batch(tokens, token_lens)
        dev = tokens.device
        gen = torch.Generator(device=dev).manual_seed(int(seed)) if seed is not None else None
        b = tokens.shape[0]
        new_lens = self.frames_for_tokens(token_lens)
        p_frames = 0
        if prompt_mel is not None:
            pm = torch.as_tensor(prompt_mel, dtype=torch.float32, device=dev)
            pm = self.normalize(pm if pm.dim() == 3 else pm[None]).expand(b, -1, -1)
            p_frames = pm.shape[-1]
        if prompt_tokens is not None:
            if prompt_mel is None:
                raise ValueError("prompt_tokens needs prompt_mel (the prompt's mel)")
            pt = torch.as_tensor(prompt_tokens, device=dev).long()
            pt = (pt if pt.dim() == 2 else pt[None]).expand(b, -1)
            n_p = pt.shape[1]
            h = self.encoder.encode(torch.cat([pt, tokens], dim=1), token_lens + n_p)
            # regulate prompt and new tokens separately so the prompt fills exactly its own frames
            hp = regulate(h[:, :n_p], torch.full_like(token_lens, n_p), torch.full_like(token_lens, p_frames))
            hn = regulate(h[:, n_p:], token_lens, new_lens)
            mel_lens = new_lens + p_frames
            mu = self.encoder.to_mel_rate(torch.cat([hp, hn], dim=1), mel_lens)
        else:
            mel_lens = new_lens
            mu = self.encoder(tokens, token_lens, mel_lens)
        mask = lengths_to_mask(mel_lens, mu.shape[-1])
        cond = torch.zeros_like(mu)
        if p_frames:
            n = min(p_frames, mu.shape[-1])
            cond[:, :, :n] = pm[:, :, :n] * mask[:, None, :n]
        x = mu if n_steps == 0 else self.cfm.sample(mu, mask, cond, n_steps, guidance, gen, temperature)
        if prompt_tokens is not None:
            return self._finish(x[:, :, p_frames:], new_lens, single)
        if p_frames:
            known = (torch.arange(x.shape[-1], device=dev) < p_frames)[None, None] & mask[:, None]
            x = torch.where(known, cond, x)  # keep the given prefix exactly
        return self._finish(x, new_lens, single)
