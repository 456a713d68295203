"""``FlowDecoder``: GLM-4-Voice's flow as the acoustic stage uses it.

The same module (same state dict) as ``MaskedDiffWithXvec``, plus what a framework needs around it:
build from a Hydra config or from a decoder folder (``source``: the public ``glm-4-voice-decoder``
or one we exported), export to that same public layout (``config.yaml`` + ``flow.pt``, so the
authors' code loads our characters' decoders too), a loss on our batch layout, and batched
generation from token ids. Mels are natural-log mels, channels first: (B, 80, T).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from audiorole.models import hyperpyyaml
from audiorole.models.flow.config import TRAINING_KEYS, authors_layout, flow_modules, merge_config, merged_config
from audiorole.models.flow.flow import MaskedDiffWithXvec
from audiorole.models.flow.load import (CONFIG_FILE, HUB_ID, WEIGHTS_FILE, architecture_config, load_state,
                                        read_flow_config, read_weights, resolve_source, weights_file)
from audiorole.utils.atomic import atomic_path, write_text
from audiorole.utils.weights import user_pinned

SILENCE = math.log(1e-5)  # the log-mel floor: what padding frames of a batch are filled with
TRAINING_SECTION = "audiorole"  # config.yaml key for our training-only settings, beside the authors' `flow:`


class FlowDecoder(MaskedDiffWithXvec):
    """``FlowDecoder(**config)``: the nested config of ``config.DEFAULT_CONFIG`` (partial is fine).

    ``source``: a decoder folder or hub id to start from; its ``config.yaml`` fixes the
    architecture (the weights must fit it) and its ``flow.pt`` is loaded strictly. ``sha256``:
    the pin of that ``flow.pt`` (a different file is refused; with none its digest is logged).
    ``architecture``: a decoder folder or hub id whose ``config.yaml`` fixes the architecture while the
    weights start random (training from scratch in the public decoder's shape; only that file is fetched).
    ``mel_init_level`` (from scratch only): start the layers that emit mel-scale values (mu and the
    velocity) at this log-mel level instead of 0. Log-mel sits around -5.5, and a short run (the
    demo's ~30 steps) would otherwise spend itself moving biases there.
    """

    def __init__(self, source: str | Path | None = None, sha256: str | None = None,
                 architecture: str | Path | None = None, **config):
        config = {k: v for k, v in merged_config(config).items()
                  if k not in ("_target_", "source", "sha256", "architecture")}
        if architecture and not source:  # a source's own config.yaml fixes the shapes
            config = merged_config(merge_config(config, architecture_config(architecture)))
        weights = None
        if source:
            folder = resolve_source(source)
            config = merged_config(merge_config(config, folder_config(folder)))
            weights = user_pinned(weights_file(folder), sha256, "model.decoder.sha256")
        super().__init__(**flow_modules(config))
        self._config = config
        if config.get("mel_init_level") is not None:
            with torch.no_grad():
                self.length_regulator.model[-1].bias.fill_(float(config["mel_init_level"]))
                self.decoder.estimator.final_proj.bias.fill_(float(config["mel_init_level"]))
        if weights is not None:
            load_state(self, read_weights(weights), str(weights))

    # ---- config and artifact ------------------------------------------------------------
    @property
    def config(self) -> dict:
        """The full nested config (architecture + training settings); ``FlowDecoder(**config)`` rebuilds it."""
        return merged_config(self._config)

    @classmethod
    def from_config(cls, config) -> "FlowDecoder":
        """A randomly initialised decoder of a config's architecture (plain or OmegaConf; ``_target_`` and
        ``source`` ignored: the architecture is the config's own, or its ``architecture`` folder's)."""
        return cls(**{k: v for k, v in merged_config(config).items() if k not in ("_target_", "source", "sha256")})

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "FlowDecoder":
        """A decoder folder (ours or the public one) in eval mode."""
        return cls(source=path).to(device).eval()

    def save(self, path: str | Path) -> Path:
        """Write the public layout: ``config.yaml`` (HyperPyYAML, the authors' tags) and ``flow.pt``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        conf = self.config
        doc = {"flow": authors_layout(conf), TRAINING_SECTION: {k: conf[k] for k in TRAINING_KEYS if k in conf}}
        with atomic_path(path / WEIGHTS_FILE) as tmp:
            torch.save({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, tmp)
        write_text(path / CONFIG_FILE, hyperpyyaml.dump(
            doc, "GLM-4-Voice flow decoder (MaskedDiffWithXvec), written by audiorole; loads with the authors' code."))
        return path

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def sample_rate(self) -> int:
        return int(self.mel_feat_conf["sampling_rate"])

    @property
    def hop_length(self) -> int:
        return int(self.mel_feat_conf["hop_size"])

    def _device(self) -> torch.device:
        return self.input_embedding.weight.device

    # ---- training -----------------------------------------------------------------------
    def loss(self, tokens, token_lens, mel, mel_lens, generator: torch.Generator | None = None) -> dict:
        """Our batch (tokens (B, N), log-mel (B, 80, T)) through the authors' training forward, zero speaker input."""
        batch = {"speech_token": tokens, "speech_token_len": token_lens, "speech_feat": mel.transpose(1, 2),
                 "speech_feat_len": mel_lens,
                 "embedding": mel.new_zeros(tokens.shape[0], self.spk_embed_affine_layer.in_features)}
        return self(batch, generator=generator)

    @torch.no_grad()
    def heldout_loss(self, tokens, token_lens, mel, mel_lens, draws: int = 8, seed: int = 0) -> float:
        """The training loss on held-out replies, averaged over ``draws`` seeded draws of t, noise, prompt
        prefix and condition drop. One draw swings by about +-1 from draw to draw, so a single one cannot
        tell two checkpoints apart; the same seeds for both make the comparison paired."""
        total = 0.0
        for k in range(draws):
            gen = torch.Generator(device=mel.device).manual_seed(seed + 1000 * k)
            total += float(self.loss(tokens, token_lens, mel, mel_lens, generator=gen)["loss"])
        return total / draws

    # ---- inference ----------------------------------------------------------------------
    def frames_for_tokens(self, num_tokens):
        return self.frames_for(torch.as_tensor(num_tokens))

    @torch.no_grad()
    def generate(self, tokens, n_steps: int = 10, guidance: float | None = None, seed: int | None = None,
                 token_lens=None, prompt_tokens=None, prompt_mel=None, temperature: float = 1.0) -> torch.Tensor:
        """Tokens (N,) or (B, N) -> log-mel (80, T) or (B, 80, T); padding frames hold the log floor.

        Each item runs the authors' ``inference`` (one utterance at a time, as they decode).
        ``prompt_tokens`` (P,) with ``prompt_mel`` (80, P_frames): speech already spoken, continued
        in its voice (only the new frames are returned). ``n_steps=0``: the encoder's own mel mu.
        ``seed``: the noise seed (None: the authors' fixed seed); ``guidance``: CFG scale (None: 0.7).
        """
        dev = self._device()
        tokens = torch.as_tensor(tokens, device=dev).long()
        single = tokens.dim() == 1
        tokens = tokens[None] if single else tokens
        lens = [tokens.shape[1]] * tokens.shape[0] if token_lens is None else [int(n) for n in token_lens]
        if prompt_tokens is None:
            p_tok, p_mel = tokens.new_zeros(1, 0), torch.zeros(1, 0, self.output_size, device=dev)
        else:
            if prompt_mel is None:
                raise ValueError("prompt_tokens needs prompt_mel (the prompt's own mel)")
            p_tok = torch.as_tensor(prompt_tokens, device=dev).long().reshape(1, -1)
            p_mel = torch.as_tensor(prompt_mel, dtype=torch.float32, device=dev).reshape(1, self.output_size, -1)
            p_mel = p_mel.transpose(1, 2)
        zeros = torch.zeros(1, self.spk_embed_affine_layer.in_features, device=dev)
        mels = []
        for i, n in enumerate(lens):
            gen = None if seed is None else torch.Generator(device=dev).manual_seed(int(seed))
            mels.append(self.inference(tokens[i:i + 1, :n], _len(n, dev), p_tok, _len(p_tok.shape[1], dev), p_mel,
                                       _len(p_mel.shape[1], dev), zeros, n_timesteps=n_steps,
                                       temperature=temperature, generator=gen, guidance=guidance)[0])
        width = max(m.shape[-1] for m in mels)
        out = torch.full((len(mels), self.output_size, width), SILENCE, device=dev)
        for i, m in enumerate(mels):
            out[i, :, : m.shape[-1]] = m
        return out[0] if single else out

    def prior_mel(self, tokens, token_lens=None) -> torch.Tensor:
        """The encoder's mel mu (no flow): what the optional prior loss trains."""
        return self.generate(tokens, n_steps=0, token_lens=token_lens)


def _len(n: int, device) -> torch.Tensor:
    return torch.tensor([int(n)], dtype=torch.int32, device=device)


def folder_config(folder: str | Path) -> dict:
    """What a decoder folder's ``config.yaml`` says: the ``flow:`` section plus our training settings."""
    folder = Path(folder)
    config = read_flow_config(folder)
    if (folder / CONFIG_FILE).is_file():
        section = hyperpyyaml.load((folder / CONFIG_FILE).read_text()).get(TRAINING_SECTION) or {}
        config.update({k: section[k] for k in TRAINING_KEYS if k in section})
    return config


def load_flow(source: str | Path = HUB_ID, device: str | torch.device = "cpu", **config) -> FlowDecoder:
    """The flow of a GLM-4-Voice-style decoder folder or hub id, loaded strictly, in eval mode.

    ``config``: training settings to add (e.g. ``prior_loss_weight=1.0`` to fine-tune with the prior loss).
    """
    return FlowDecoder(source=source, **config).to(device).eval()
