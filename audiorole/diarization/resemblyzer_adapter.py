"""Resemblyzer as the embedding step of pyannote's diarization pipeline.

pyannote asks its embedder for ``sample_rate``, ``dimension``, ``metric``,
``min_num_samples``, ``to(device)`` and ``__call__(waveforms (B,1,T), masks
(B,F)) -> (B,D)`` with NaN rows where a speaker is too briefly active; this
object provides exactly that around ``ResemblyzerEmbedder``, embedding only the
samples the segmentation mask marks as that local speaker's.
"""

import numpy as np

from audiorole.speakers.resemblyzer_embedder import SILENCE_RMS, ResemblyzerEmbedder


class ResemblyzerPyannoteEmbedding:
    metric = "cosine"

    def __init__(self, device: str = "cpu", min_speech_seconds: float = 0.5):
        self.embedder = ResemblyzerEmbedder(device=device, min_seconds=min_speech_seconds)
        self.sample_rate = self.embedder.sample_rate
        self.dimension = self.embedder.dimension
        self.min_num_samples = int(round(min_speech_seconds * self.sample_rate))

    def to(self, device):
        # Resemblyzer is tiny and fastest on one CPU thread: it stays on CPU.
        return self

    def __call__(self, waveforms, masks=None) -> np.ndarray:
        waves = waveforms.detach().cpu().numpy()[:, 0].astype(np.float32)
        batch, num_samples = waves.shape
        out = np.full((batch, self.dimension), np.nan, dtype=np.float32)
        clips, rows = [], []
        for b in range(batch):
            wave = waves[b]
            if masks is not None:
                mask = masks[b].detach().cpu().numpy()
                # frame index of every sample: frames tile the chunk evenly
                frame = np.minimum(np.arange(num_samples) * len(mask) // num_samples, len(mask) - 1)
                wave = wave[mask[frame] > 0.5]
            if wave.size < self.min_num_samples or np.sqrt(np.mean(np.square(wave, dtype=np.float64))) < SILENCE_RMS:
                continue
            clips.append(wave)
            rows.append(b)
        if clips:
            out[rows] = self.embedder.embed_many(clips)
        return out
