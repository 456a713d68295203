"""F0 tracks at the mel frame rate: HiFT's F0 predictor learns from these.

The recipe is CosyVoice's (its ``compute_f0``): WORLD's Harvest at a frame
period of one mel hop, DIO when Harvest finds almost no voicing, StoneMask
refinement, then linear interpolation to exactly the mel's frame count.
Unvoiced frames are 0 Hz. WORLD comes from ``pyworld``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from audiorole.errors import AudioroleError

MIN_VOICED_FRAMES = 5  # fewer voiced frames than this: Harvest failed, try DIO


def _pyworld():
    try:
        import pyworld
    except ImportError as e:  # compiled extension: a user without a build toolchain may lack it
        raise AudioroleError("F0 targets need pyworld: pip install pyworld==0.3.5 (pinned in pyproject.toml)") from e
    return pyworld


def f0_track(wave: np.ndarray, sample_rate: int, hop_length: int, frames: int) -> np.ndarray:
    """Mono wave (T,) -> F0 in Hz, (frames,) float32."""
    pw = _pyworld()
    x = np.ascontiguousarray(wave, dtype=np.float64)
    period = hop_length * 1000 / sample_rate
    f0, t = pw.harvest(x, sample_rate, frame_period=period)
    if (f0 != 0).sum() < MIN_VOICED_FRAMES:
        f0, t = pw.dio(x, sample_rate, frame_period=period)
    f0 = pw.stonemask(x, f0, t, sample_rate)
    track = F.interpolate(torch.from_numpy(f0).float().view(1, 1, -1), size=frames, mode="linear")
    return track.view(-1).numpy()


def f0_batch(wave: torch.Tensor, sample_rate: int, hop_length: int, frames: int) -> torch.Tensor:
    """(B, T) waves -> (B, frames) F0 in Hz, on the waves' device."""
    rows = [f0_track(w.detach().float().cpu().numpy(), sample_rate, hop_length, frames) for w in wave]
    return torch.from_numpy(np.stack(rows)).to(wave.device)
