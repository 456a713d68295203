"""A character decoder re-synthesising each held-out reply from its speech tokens.

This isolates the acoustic stage: the content (tokens) is the reference's, so AP and AQ
measure the voice and the sound, and CQ/CP measure what survives re-synthesis (the
evaluator transcribes the output). Pointed at another character's decoder it is the
"other character" baseline (row ``decoder:otis→mara``): the voice should then move away
from the target character while the words stay the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem, Output

from .loading import load_decoder, load_vocoder


class AcousticDecoder:
    """``source``: an exported decoder dir or an ``AcousticModule`` .ckpt, used for every item; or a
    mapping character -> source, each item then spoken by its own character's decoder (several
    characters in one run).

    ``vocoder``: a vocoder artifact dir; by default the one exported beside the decoder
    (``<decoder>/vocoder``), else Griffin-Lim. Item ``k`` is generated with noise seed
    ``seed + k``, so systems are compared on the same noise. ``voice``: whose decoder it is,
    when that is not the items' own character (reported, e.g. ``otis`` in ``decoder:otis→mara``).
    """

    def __init__(self, source: str | Path | Mapping | None, vocoder: str | Path | None = None, name: str = "decoder",
                 n_steps: int = 10, guidance: float | None = None, seed: int = 0, device: str = "cpu",
                 voice: str | None = None, shift: int = 0):
        if source is None or (isinstance(source, Mapping) and not source):
            raise AudioroleError(f"system '{name}': no decoder given; pass decoder=<run>/decoder (an exported decoder "
                                 "folder) or decoder=<run>/checkpoints/last.ckpt")
        self.sources = {str(k): str(v) for k, v in source.items()} if isinstance(source, Mapping) else None
        self.source = None if self.sources is not None else str(source)
        self.vocoder_path = None if vocoder is None else str(vocoder)
        self.name, self.voice, self.shift = name, voice, int(shift)
        if self.shift and (self.sources is None or self.shift % len(self.sources) == 0):
            raise AudioroleError(f"system '{self.name}': shift={self.shift} needs decoder={{character: dir, ...}} "
                                 "for at least two characters, and a shift that is not a multiple of their number")
        self.n_steps, self.guidance, self.seed, self.device = int(n_steps), guidance, int(seed), device
        self._loaded: dict[str, tuple] = {}  # source -> (decoder, vocoder, vocoder label)

    def _source_for(self, character: str) -> str:
        if self.sources is None:
            return self.source
        if character not in self.sources:
            raise AudioroleError(f"system '{self.name}': no decoder for character '{character}' "
                                 f"(given for {', '.join(sorted(self.sources))}); add decoder.{character}=<dir>")
        order = sorted(self.sources)
        return self.sources[order[(order.index(character) + self.shift) % len(order)]]

    def _load(self, source: str) -> tuple:
        """(decoder, vocoder or None, vocoder label) for a source, loaded once."""
        if source not in self._loaded:
            decoder = load_decoder(source, self.device)
            beside = source if Path(source).is_dir() else None
            vocoder, label = load_vocoder(self.vocoder_path, beside, self.device)
            self._loaded[source] = (decoder, vocoder, label)
        return self._loaded[source]

    def trained_sources(self) -> list[str]:
        """Every decoder this system speaks with: scoring checks none was trained on the scored items."""
        return list(self.sources.values()) if self.sources is not None else [self.source]

    def respond(self, items: list[EvalItem]) -> list[Output]:
        from audiorole.speak import synthesize

        outputs = []
        for k, item in enumerate(items):
            if item.tokens is None or len(item.tokens) == 0:
                raise AudioroleError(f"item {item.id} has no speech tokens; prepare the dataset with a tokenizer "
                                     "(tokenizer=offline) so the token cache exists")
            decoder, vocoder, _ = self._load(self._source_for(item.character))
            wave = synthesize(item.tokens, decoder, vocoder, n_steps=self.n_steps, guidance=self.guidance,
                              seed=self.seed + k)
            outputs.append(Output(wave=wave, sample_rate=int(decoder.sample_rate), text=None))
        return outputs

    def describe(self) -> dict:
        loaded = {src: label for src, (_, _, label) in self._loaded.items()}
        return {"decoder": self.sources or self.source, "voice": self.voice, "shift": self.shift,
                "vocoder": loaded or self.vocoder_path or "griffin-lim", "n_steps": self.n_steps,
                "guidance": self.guidance, "seed": self.seed}
