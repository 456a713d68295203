"""Random aligned (mel, wave) segments: what a HiFi-GAN vocoder trains on.

Vocoders train on short windows (HiFi-GAN: 8192 samples = 32 frames at hop
256) cut at random from each clip; mel frame ``j`` covers samples
``[j * hop, (j + 1) * hop)``, so a window of frames maps to a window of samples.
"""

import torch


def random_segments(mel: torch.Tensor, wave: torch.Tensor, mel_lens: torch.Tensor, frames: int, hop_length: int,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n_mels, T), (B, T * hop), (B,) -> (B, n_mels, F), (B, F * hop) with F = min(frames, shortest clip)."""
    frames = max(1, min(int(frames), int(mel_lens.min())))
    mels, waves = [], []
    for i in range(mel.shape[0]):
        room = int(mel_lens[i]) - frames + 1
        start = int(torch.randint(0, max(1, room), (1,), generator=generator))
        mels.append(mel[i, :, start:start + frames])
        waves.append(wave[i, start * hop_length:(start + frames) * hop_length])
    return torch.stack(mels), torch.stack(waves)
