"""Batches for the acoustic stage: speech tokens in, the reply's mel out.

Tokens come from the token cache; mels are computed from the kept clip at the
decoder's rate. With ``crop_seconds`` a random aligned window of each reply is
used (token ``i`` covers mel frames ``[i * r, (i + 1) * r)``, r = mel rate /
token rate), which is how small decoders train well on CPU. The window is drawn
from (seed, epoch, reply id) alone, so a run resumed mid-epoch crops exactly as
an uninterrupted one (``epoch_of``: the sampler, whose ``epoch`` the trainer sets). With ``with_wave``
the batch also holds the waveform behind the mel (frame ``j`` covers samples
``[j * hop, (j + 1) * hop)``), which the vocoder trains on.
"""

import zlib

import numpy as np
import soxr
import torch

from audiorole.audio.mel import HOP_LENGTH, SAMPLE_RATE, MelSpectrogram
from audiorole.tokenizers.cache import TokenCache


class AcousticBatches(torch.utils.data.Dataset):
    """A map-style dataset whose "index" is a Lhotse CutSet batch from a sampler."""

    def __init__(self, token_dir: str, crop_seconds: float | None = None, seed: int = 0,
                 sample_rate: int = SAMPLE_RATE, hop_length: int = HOP_LENGTH, with_wave: bool = False, epoch_of=None):
        self.tokens = TokenCache(token_dir)
        self.frame_rate = float(self.tokens.index["frame_rate"])
        self.mel = MelSpectrogram(sample_rate=sample_rate, hop_length=hop_length)
        self.sample_rate = sample_rate
        self.frames_per_token = sample_rate / hop_length / self.frame_rate
        self.crop_seconds = crop_seconds
        self.seed = seed
        self.epoch_of = epoch_of
        self.hop_length = hop_length
        self.with_wave = with_wave

    def item(self, cut) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sup = cut.supervisions[0]
        tokens = torch.from_numpy(self.tokens.reply(sup.custom["episode"], sup.id))
        audio = cut.load_audio()[0]
        if cut.sampling_rate != self.sample_rate:
            audio = soxr.resample(audio, cut.sampling_rate, self.sample_rate)
        wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
        with torch.no_grad():
            mel = self.mel(wave)
        frames = min(mel.shape[-1], round(len(tokens) * self.frames_per_token))
        mel = mel[..., :frames]
        lo = 0
        if self.crop_seconds:
            span = max(1, int(self.crop_seconds * self.frame_rate))
            if len(tokens) > span:
                start = int(self._rng(cut.id).integers(0, len(tokens) - span + 1))
                tokens = tokens[start:start + span]
                lo, hi = round(start * self.frames_per_token), round((start + span) * self.frames_per_token)
                mel = mel[..., lo:min(hi, frames)]
        wave = wave[lo * self.hop_length:(lo + mel.shape[-1]) * self.hop_length]
        return tokens, mel, wave

    def _rng(self, cut_id: str) -> np.random.Generator:
        epoch = int(getattr(self.epoch_of, "epoch", 0))
        return np.random.default_rng([self.seed, epoch, zlib.crc32(cut_id.encode())])

    def __getitem__(self, cuts) -> dict:
        items = [self.item(c) for c in cuts]
        token_lens = torch.tensor([len(t) for t, _, _ in items])
        mel_lens = torch.tensor([m.shape[-1] for _, m, _ in items])
        tokens = torch.zeros(len(items), int(token_lens.max()), dtype=torch.long)
        mels = torch.zeros(len(items), items[0][1].shape[0], int(mel_lens.max()))
        for i, (t, m, _) in enumerate(items):
            tokens[i, :len(t)] = t
            mels[i, :, :m.shape[-1]] = m
        batch = {"tokens": tokens, "token_lens": token_lens, "mel": mels, "mel_lens": mel_lens, "ids": [c.id for c in cuts]}
        if self.with_wave:
            waves = torch.zeros(len(items), int(mel_lens.max()) * self.hop_length)
            for i, (_, _, w) in enumerate(items):
                waves[i, :len(w)] = w
            batch["wave"] = waves
        return batch
