"""``MaskedDiffWithXvec``: GLM-4-Voice's token -> mel flow (CosyVoice's), with the authors' module tree.

tokens -> ``input_embedding`` -> block-causal conformer ``encoder`` -> ``encoder_proj`` (to 80) ->
``length_regulator`` (to the mel rate) = mu; ``decoder`` (ConditionalCFM over the U-Net
``estimator``) turns noise into mel conditioned on mu, a speaker vector and a known mel prefix.
GLM-4-Voice feeds a zero speaker vector: its voice lives in the weights.

``forward`` (training) and ``inference`` keep the authors' signatures and semantics so their
checkpoints, recipes and streaming wrapper apply unchanged; the extra keyword arguments only
make randomness explicit (for reproducible tests) or add our optional prior loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiorole.models.flow.masks import lengths_to_mask

MEL_FEAT_CONF = {"n_fft": 1024, "num_mels": 80, "sampling_rate": 22050, "hop_size": 256, "win_size": 1024,
                 "fmin": 0, "fmax": 8000}


class MaskedDiffWithXvec(nn.Module):
    def __init__(self, input_size: int = 512, output_size: int = 80, spk_embed_dim: int = 192,
                 output_type: str = "mel", vocab_size: int = 16384, input_frame_rate: float = 12.5,
                 only_mask_loss: bool = True, encoder: nn.Module | None = None,
                 length_regulator: nn.Module | None = None, decoder: nn.Module | None = None,
                 mel_feat_conf: dict | None = None, prior_loss_weight: float = 0.0,
                 prefix_prob: float = 0.5, prefix_max: float = 0.8):
        super().__init__()
        self.input_size, self.output_size, self.vocab_size = input_size, output_size, vocab_size
        self.output_type, self.input_frame_rate, self.only_mask_loss = output_type, input_frame_rate, only_mask_loss
        self.mel_feat_conf = dict(MEL_FEAT_CONF, **(mel_feat_conf or {}))
        self.input_embedding = nn.Embedding(vocab_size, input_size)
        self.spk_embed_affine_layer = nn.Linear(spk_embed_dim, output_size)
        self.encoder = encoder
        self.encoder_proj = nn.Linear(encoder.output_size(), output_size)
        self.decoder = decoder
        self.length_regulator = length_regulator
        # 0 is the authors' recipe; > 0 adds Matcha's L1 "prior" loss of mu against the mel, which
        # makes mu a usable mel on its own (n_timesteps=0) when data is too small for the flow
        self.prior_loss_weight = prior_loss_weight
        # the authors' prefix conditioning: for half the items, reveal a random prefix of <= 80 %
        self.prefix_prob, self.prefix_max = prefix_prob, prefix_max

    # ---- shared pieces ------------------------------------------------------------------
    def _speaker(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.spk_embed_affine_layer(F.normalize(embedding, dim=1))

    def encode(self, token: torch.Tensor, token_len: torch.Tensor, feat_len: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N) -> mu (B, max(feat_len), 80) at the mel rate, zero beyond each feat_len."""
        mask = lengths_to_mask(token_len, token.shape[1]).unsqueeze(-1).to(self.input_embedding.weight.dtype)
        x = self.input_embedding(torch.clamp(token, min=0)) * mask
        h, _ = self.encoder(x, token_len)
        h, _ = self.length_regulator(self.encoder_proj(h), feat_len)
        return h

    def frames_for(self, token_len: torch.Tensor) -> torch.Tensor:
        """Mel frames for a token count, truncated as the authors do (float32 arithmetic, then int)."""
        conf = self.mel_feat_conf
        return (token_len / self.input_frame_rate * conf["sampling_rate"] / conf["hop_size"]).int()

    def _prefix_lens(self, feat_len: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        use = torch.rand(feat_len.shape, generator=generator, device=feat_len.device) >= 1 - self.prefix_prob
        top = torch.floor(feat_len.float() * self.prefix_max) + 1
        drawn = torch.floor(torch.rand(feat_len.shape, generator=generator, device=feat_len.device) * top).long()
        return drawn * use

    # ---- training -----------------------------------------------------------------------
    def forward(self, batch: dict, device: torch.device | None = None, generator: torch.Generator | None = None,
                prefix_lens: torch.Tensor | None = None) -> dict:
        """batch: speech_token (B, N), speech_token_len, speech_feat (B, T, 80), speech_feat_len, embedding (B, 192).

        Returns {'loss', 'flow_loss', 'prior_loss'}. ``prefix_lens`` (B,) fixes the revealed prefixes
        (else drawn from ``generator``); ``generator`` also drives the flow's t, noise and CFG drop.
        """
        device = device or self.input_embedding.weight.device
        token, token_len = batch["speech_token"].to(device), batch["speech_token_len"].to(device)
        feat, feat_len = batch["speech_feat"].to(device), batch["speech_feat_len"].to(device)
        spks = self._speaker(batch["embedding"].to(device))
        h = self.encode(token, token_len, feat_len)

        if prefix_lens is None:
            prefix_lens = self._prefix_lens(feat_len, generator)
        frames = torch.arange(feat.shape[1], device=device)[None, :]
        conds = (feat * (frames < prefix_lens.to(device)[:, None]).unsqueeze(-1)).transpose(1, 2)

        mask = lengths_to_mask(feat_len, h.shape[1]).to(h.dtype).unsqueeze(1)
        feat = F.interpolate(feat.unsqueeze(1), size=h.shape[1:], mode="nearest").squeeze(1)
        target, mu = feat.transpose(1, 2).contiguous(), h.transpose(1, 2).contiguous()
        flow_loss, _ = self.decoder.compute_loss(target, mask, mu, spks, cond=conds, generator=generator)
        prior_loss = ((mu - target).abs() * mask).sum() / (mask.sum() * self.output_size)
        loss = flow_loss + self.prior_loss_weight * prior_loss if self.prior_loss_weight else flow_loss
        return {"loss": loss, "flow_loss": flow_loss, "prior_loss": prior_loss.detach()}

    # ---- inference ----------------------------------------------------------------------
    @torch.no_grad()
    def inference(self, token, token_len, prompt_token, prompt_token_len, prompt_feat, prompt_feat_len, embedding,
                  n_timesteps: int = 10, temperature: float = 1.0, noise: torch.Tensor | None = None,
                  generator: torch.Generator | None = None, guidance: float | None = None) -> torch.Tensor:
        """The authors' inference: mel (1, 80, T) for ``token`` (1, N) continuing a prompt.

        prompt_token (1, P) and prompt_feat (1, P_frames, 80) are the already-spoken context (empty
        tensors for none); the returned mel covers only the new tokens. ``n_timesteps=0`` returns
        mu itself (the encoder's own mel). ``noise`` (1, 80, P_frames + T) or ``generator`` fix
        the sampling noise; by default it is the authors' (seed 42).
        """
        assert token.shape[0] == 1, "inference decodes one utterance at a time, as the authors' does"
        spks = self._speaker(embedding)
        token, token_len = torch.cat([prompt_token, token], dim=1), prompt_token_len + token_len
        feat_len = self.frames_for(token_len)
        mu = self.encode(token, token_len, feat_len).transpose(1, 2).contiguous()

        conds = torch.zeros_like(mu)
        if prompt_feat.shape[1] != 0:
            conds[:, :, : int(prompt_feat_len[0])] = prompt_feat[0].transpose(0, 1)
        mask = lengths_to_mask(feat_len, mu.shape[-1]).to(mu.dtype).unsqueeze(1)
        if n_timesteps == 0:
            feat = mu
        else:
            feat = self.decoder(mu, mask, n_timesteps, temperature, spks=spks, cond=conds, noise=noise,
                                generator=generator, guidance=guidance)
        return feat[:, :, prompt_feat.shape[1]:]
