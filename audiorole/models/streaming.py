"""Blockwise streaming synthesis: speech tokens arrive in blocks, audio leaves in chunks (GLM-4-Voice's way).

Each block of new tokens goes through the flow with everything before it as
the prompt (all earlier tokens, and the mel already produced for them), so
the flow continues the utterance instead of starting over; the flow returns
only the new frames. Three things hide the seams:

- **mel overlap**: the last ``token_overlap`` tokens' worth of frames of a
  block are held back; the next block regenerates them (it starts where the
  emitted mel ends) and the two versions are crossfaded with a Hamming window;
- **vocoder cache**: the last emitted mel frame is vocoded again at the front
  of the next block, so the vocoder sees context across the seam; its audio is
  emitted only once (dropped from the earlier block);
- **source cache** (HiFT): the earlier block's last excitation samples
  overwrite the start of the next block's, so the sine source keeps its phase.

The flow is anything with the authors' ``MaskedDiffWithXvec.inference``
signature (``token, token_len, prompt_token, prompt_token_len, prompt_feat,
prompt_feat_len, embedding`` -> mel ``(1, n_mels, T_new)``) and an
``input_frame_rate`` (our ``FlowDecoder`` is one; ``flow_options`` such as
``n_timesteps`` go to its ``inference``). The vocoder
is a ``Vocoder`` (its ``inference`` returns the HiFT source) or any module
mapping mel to wave.

One difference from the upstream ``flow_inference.py``: upstream passes the
concatenation of the mels it returned as the next prompt, and those include
the re-vocoded cache frame, so from the third block on the prompt is one
frame longer per block than the audio it stands for (the next block starts a
frame late and the utterance loses a frame per block). Here the prompt is the
mel actually emitted; ``upstream_prompt=True`` reproduces upstream exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

TOKEN_OVERLAP = 5              # tokens of mel held back and crossfaded at each seam
MEL_CACHE_FRAMES = 1           # mel frames vocoded again at the front of the next block
BLOCK_SIZES = (25, 50, 100, 150, 200)  # tokens per block: small first (latency), growing (efficiency)
EMBEDDING_DIM = 192            # the flow's x-vector input; GLM-4-Voice feeds zeros


def crossfade(new: torch.Tensor, held: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Fade ``held`` (…, n) out over the first n frames of ``new`` while fading ``new`` in; ``window`` has 2n points."""
    n = held.shape[-1]
    out = new.clone()
    mixed = new[..., :n].double() * window[:n] + held.double() * window[n:]
    out[..., :n] = mixed.to(new.dtype)
    return out


class Token2Wav:
    """A flow and a vocoder, and the streaming settings; ``stream()`` opens one utterance."""

    def __init__(self, flow, vocoder, sample_rate: int = 22050, hop_length: int = 256, n_mels: int = 80,
                 token_overlap: int = TOKEN_OVERLAP, mel_cache_frames: int = MEL_CACHE_FRAMES,
                 upstream_prompt: bool = False, flow_options: dict | None = None):
        self.flow, self.vocoder = flow, vocoder
        self.flow_options = dict(flow_options or {})
        self.sample_rate, self.hop_length, self.n_mels = sample_rate, hop_length, n_mels
        self.mel_overlap = int(token_overlap / flow.input_frame_rate * sample_rate / hop_length)
        self.window = torch.from_numpy(np.hamming(2 * self.mel_overlap))
        self.mel_cache_frames = mel_cache_frames
        self.source_cache_samples = mel_cache_frames * hop_length
        self.upstream_prompt = upstream_prompt

    def stream(self) -> "Token2WavStream":
        return Token2WavStream(self)

    def vocode(self, mel: torch.Tensor, cache_source: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """mel (1, n_mels, T) -> (wave (1, T * hop), excitation (1, 1, T * hop) or None)."""
        if hasattr(self.vocoder, "inference"):
            return self.vocoder.inference(mel, cache_source=cache_source)
        return self.vocoder(mel).reshape(1, -1), None

    def one_shot(self, tokens) -> torch.Tensor:
        """All tokens in one block: the whole utterance's wave (n,)."""
        stream = self.stream()
        return stream.push(tokens, finalize=True)

    def blocks(self, tokens: Iterable[int], block_sizes: tuple[int, ...] = BLOCK_SIZES) -> Iterator[torch.Tensor]:
        """Tokens as they arrive (an iterator) -> audio chunks (n,), each as soon as its block is complete."""
        feeder = BlockFeeder(self, block_sizes)
        for token in tokens:
            chunk = feeder.add(token)
            if chunk is not None:
                yield chunk
        tail = feeder.close()
        if tail.numel():
            yield tail


class BlockFeeder:
    """Push tokens one at a time (e.g. from a language model's streamer); a chunk of audio comes back whenever a
    block of ``block_sizes[i]`` tokens is complete (the last size repeats), and the rest at ``close()``."""

    def __init__(self, t2w: Token2Wav, block_sizes: tuple[int, ...] = BLOCK_SIZES):
        if not block_sizes:
            raise ValueError("block_sizes is empty; give at least one block size")
        self.stream, self.pending, self.sizes = t2w.stream(), [], list(block_sizes)

    def add(self, token: int) -> torch.Tensor | None:
        self.pending.append(int(token))
        if len(self.pending) < self.sizes[0]:
            return None
        chunk = self.stream.push(self.pending, finalize=False)
        self.pending = []
        if len(self.sizes) > 1:
            self.sizes.pop(0)
        return chunk

    def close(self) -> torch.Tensor:
        return self.stream.finish(self.pending)


class Token2WavStream:
    """The state of one utterance being synthesised: prompt tokens and mel, held-back overlap, vocoder cache."""

    def __init__(self, t2w: Token2Wav):
        self.t2w = t2w
        device = _device(t2w.flow)
        self.prompt_token = torch.zeros(1, 0, dtype=torch.long, device=device)
        self.prompt_feat = torch.zeros(1, 0, t2w.n_mels, device=device)
        self.held_mel: torch.Tensor | None = None       # (1, n_mels, mel_overlap) awaiting the crossfade
        self.cache_mel: torch.Tensor | None = None      # (1, n_mels, mel_cache_frames) to vocode again
        self.cache_source: torch.Tensor | None = None   # (1, 1, source_cache_samples) HiFT excitation
        self.finished = False

    @torch.inference_mode()
    def push(self, tokens, finalize: bool = False) -> torch.Tensor:
        """The next block of tokens -> the audio (n,) that is final so far; ``finalize`` closes the utterance."""
        if self.finished:
            raise RuntimeError("this utterance is finalised; open a new one with Token2Wav.stream()")
        t2w = self.t2w
        token = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=self.prompt_token.device).reshape(1, -1)
        lens = lambda n: torch.tensor([n], dtype=torch.int32, device=token.device)  # noqa: E731
        mel = t2w.flow.inference(token=token, token_len=lens(token.shape[1]), prompt_token=self.prompt_token,
                                 prompt_token_len=lens(self.prompt_token.shape[1]), prompt_feat=self.prompt_feat,
                                 prompt_feat_len=lens(self.prompt_feat.shape[1]),
                                 embedding=torch.zeros(1, EMBEDDING_DIM, device=token.device), **t2w.flow_options)
        if self.held_mel is not None:
            mel = crossfade(mel, self.held_mel, t2w.window.to(mel.device))
        emitted = mel
        if self.cache_mel is not None:
            mel = torch.cat([self.cache_mel, mel], dim=2)
        if finalize:
            wave, _ = t2w.vocode(mel, self.cache_source)
            self.finished = True
        else:
            if mel.shape[-1] <= t2w.mel_overlap + t2w.mel_cache_frames:
                raise ValueError(f"a block of {token.shape[1]} tokens is too short to stream; "
                                 f"give blocks longer than the {t2w.mel_overlap}-frame overlap")
            self.held_mel = mel[..., -t2w.mel_overlap:]
            mel = mel[..., :-t2w.mel_overlap]
            emitted = emitted[..., :emitted.shape[-1] - t2w.mel_overlap]
            wave, source = t2w.vocode(mel, self.cache_source)
            self.cache_mel = mel[..., -t2w.mel_cache_frames:]
            self.cache_source = None if source is None else source[..., -t2w.source_cache_samples:]
            wave = wave[..., :-t2w.source_cache_samples]  # its audio comes with the next block
        prompt_mel = mel if t2w.upstream_prompt else emitted
        self.prompt_feat = torch.cat([self.prompt_feat, prompt_mel.transpose(1, 2)], dim=1)
        self.prompt_token = torch.cat([self.prompt_token, token], dim=1)
        return wave.reshape(-1)

    @torch.inference_mode()
    def finish(self, tokens=()) -> torch.Tensor:
        """Close the utterance: the last tokens if any, else the held-back overlap and cache, vocoded."""
        if len(tokens) or self.held_mel is None:
            return self.push(tokens, finalize=True) if len(tokens) else torch.zeros(0)
        mel = self.held_mel if self.cache_mel is None else torch.cat([self.cache_mel, self.held_mel], dim=2)
        wave, _ = self.t2w.vocode(mel, self.cache_source)
        self.finished = True
        return wave.reshape(-1)


def _device(module) -> torch.device:
    try:
        return next(module.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")
