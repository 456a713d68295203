"""The vocoder's view of the acoustic stage's log-mel.

The definition itself lives in ``audiorole.audio.mel`` (HiFi-GAN / CosyVoice
recipe, docs/design.md §3), shared with the decoder so the two can never drift.
``MelConfig`` is that definition's parameters as a value, so an artifact can
record which mel its vocoder inverts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from audiorole.audio import mel as _mel


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = _mel.SAMPLE_RATE
    n_fft: int = _mel.N_FFT
    hop_length: int = _mel.HOP_LENGTH
    win_length: int = _mel.N_FFT
    n_mels: int = _mel.N_MELS
    fmin: float = _mel.FMIN
    fmax: float = _mel.FMAX

    def __post_init__(self):
        # JSON round trips turn 8000.0 into 8000; compare equal either way.
        object.__setattr__(self, "fmin", float(self.fmin))
        object.__setattr__(self, "fmax", float(self.fmax))

    def to_dict(self) -> dict:
        return asdict(self)


class LogMel(_mel.MelSpectrogram):
    """``audiorole.audio.mel.MelSpectrogram`` from a ``MelConfig``: ``(..., T)`` -> ``(..., n_mels, T // hop)``."""

    def __init__(self, config: MelConfig | None = None, **overrides):
        cfg = config or MelConfig()
        if overrides:
            cfg = MelConfig(**{**cfg.to_dict(), **overrides})
        super().__init__(
            sample_rate=cfg.sample_rate,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            n_mels=cfg.n_mels,
            fmin=cfg.fmin,
            fmax=cfg.fmax,
            win_length=cfg.win_length,
        )
        self.config = cfg
