"""The reference clip's own mel through the vocoder (copy synthesis): the ceiling of any decoder.

A decoder's output is a mel that a vocoder turns into sound; the best a decoder can do is
the reference's exact mel. Scoring that mel through the same vocoder says how much of a
gap to the ground truth (AQ above all, and WER) is the vocoder's, not the decoder's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from audiorole.audio.decode import load_audio
from audiorole.eval.items import EvalItem, Output

from .loading import load_vocoder


class VocodedGroundTruth:
    """``vocoder``: a vocoder artifact dir or public checkpoint; null: the vocoder exported beside ``decoder``
    (a decoder dir, or {character: dir} as the ``decoder`` system takes it), else Griffin-Lim."""

    def __init__(self, vocoder: str | Path | None = None, decoder: str | Path | Mapping | None = None,
                 name: str = "vocoded", device: str = "cpu"):
        self.vocoder_path = None if vocoder is None else str(vocoder)
        self.decoders = {str(k): str(v) for k, v in decoder.items()} if isinstance(decoder, Mapping) else decoder
        self.name, self.device = name, device
        self._loaded: dict[str | None, tuple] = {}

    def _vocoder(self, character: str):
        beside = self.decoders.get(character) if isinstance(self.decoders, dict) else self.decoders
        beside = str(beside) if beside is not None and Path(str(beside)).is_dir() else None
        if beside not in self._loaded:
            self._loaded[beside] = load_vocoder(self.vocoder_path, beside, self.device)
        return self._loaded[beside][0]

    def respond(self, items: list[EvalItem]) -> list[Output]:
        import torch

        from audiorole.audio.mel import SAMPLE_RATE, griffin_lim, mel_of

        outputs = []
        for item in items:
            vocoder = self._vocoder(item.character)
            mel = torch.from_numpy(mel_of(load_audio(item.audio, SAMPLE_RATE)))
            with torch.no_grad():
                wave = griffin_lim(mel) if vocoder is None else vocoder(mel)
            wave = wave.detach().cpu().numpy() if hasattr(wave, "detach") else wave
            outputs.append(Output(wave=wave.reshape(-1).astype("float32"), sample_rate=SAMPLE_RATE, text=None))
        return outputs

    def describe(self) -> dict:
        return {"vocoder": sorted({label for _, label in self._loaded.values()}) or self.vocoder_path or "griffin-lim"}
