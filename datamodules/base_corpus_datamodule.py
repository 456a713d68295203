"""The acoustic stage over a multi-speaker corpus: the base decoder's data (``experiment=base_decoder``).

Reads a corpus written by ``python -m audiorole.demo.base_corpus`` (Lhotse
recordings + supervisions whose ``custom.split`` holds out whole voices):
training on every train voice's clips, validation on the dev voices, test on
the test voices. Tokens go into the corpus folder's token cache (one file per
voice, keyed by the tokenizer's fingerprint); batches are the acoustic stage's
own (``AcousticDataModule``). ARP-Eval scores re-synthesised held-out clips
through ``eval_items`` and ``eval_references`` (AP against each held-out
voice's own enrollment clips, which are never scored).
"""

import logging
from pathlib import Path

from audiorole.tokenizers.cache import TokenCache, build_corpus_token_cache
from datamodules.acoustic_datamodule import AcousticDataModule

log = logging.getLogger(__name__)

ENROLLMENT_CLIPS = 4  # per held-out voice: the AP reference, kept out of the scored items


class BaseCorpusDataModule(AcousticDataModule):
    def __init__(self, data, character: str = "base", tokenizer=None, **kwargs):
        super().__init__(data, character, tokenizer, **kwargs)
        self._cuts = None

    @property
    def corpus_dir(self) -> Path:
        return Path(self.data.out_dir)

    def cuts(self):
        """Every clip as a Lhotse cut; the token cache files clips by voice, which it reads as the "episode"."""
        if self._cuts is None:
            from audiorole.demo.base_corpus import read_cuts

            cuts = read_cuts(self.corpus_dir)
            for cut in cuts:
                cut.supervisions[0].custom["episode"] = cut.supervisions[0].speaker
            self._cuts = cuts
        return self._cuts

    def part(self, split: str):
        return self.cuts().filter(lambda c: c.supervisions[0].custom["split"] == split).to_eager()

    def prepare_data(self) -> None:
        from audiorole.tokenizers.build import build_tokenizer

        def train_clips():  # only a tokenizer fitted on the corpus (tokenizer=offline_fit) reads them
            from audiorole.audio.decode import load_audio
            from audiorole.tokenizers.packing import pack
            from audiorole.tokenizers.whisper_encoder import SAMPLES_PER_TOKEN, WINDOW_SAMPLES

            waves = [load_audio(c.recording.sources[0].source, 16000) for c in self.part("train")]
            return pack(waves, WINDOW_SAMPLES, SAMPLES_PER_TOKEN)[0]  # full windows: one encoder pass each

        tok = build_tokenizer(self.tokenizer, train_clips, fit_on=f"train voices of {self.corpus_dir}")
        build_corpus_token_cache(self.corpus_dir, self.cuts(), tok)

    def setup(self, stage: str | None = None) -> None:
        from audiorole.data.replies import cap_minutes
        from audiorole.tokenizers.cache import latest_cache

        self.train_cuts = cap_minutes(self.part("train"), self.max_minutes, self.seed)
        self.val_cuts = self._scored("dev")
        self.token_dir = latest_cache(self.corpus_dir)
        log.info("base corpus %s: %d train clips (%.1f min, %d voices), %d dev clips", self.corpus_dir,
                 len(self.train_cuts), sum(c.duration for c in self.train_cuts) / 60,
                 len({c.supervisions[0].speaker for c in self.train_cuts}), len(self.val_cuts))

    def test_cuts(self):
        return self._scored("test")

    def _scored(self, split: str):
        """The part's clips minus each voice's enrollment clips (its last few)."""
        enrolled = {c.id for clips in self._enrollment(split).values() for c in clips}
        return self.part(split).filter(lambda c: c.id not in enrolled).to_eager()

    def _enrollment(self, split: str) -> dict[str, list]:
        by_voice: dict[str, list] = {}
        for cut in self.part(split):
            by_voice.setdefault(cut.supervisions[0].speaker, []).append(cut)
        # At most half of a voice's clips, so a small corpus still has some to score.
        return {voice: clips[len(clips) - min(ENROLLMENT_CLIPS, len(clips) // 2):]
                for voice, clips in sorted(by_voice.items())}

    # ---- ARP-Eval over held-out voices (callbacks.arp_eval asks for these) ---------------
    def eval_items(self, part: str, limit: int | None = None) -> list:
        """Up to ``limit`` scored clips of the ``part`` voices ("dev" or "test"), voices interleaved."""
        from audiorole.eval.items import EvalItem
        from audiorole.tokenizers.cache import latest_cache

        tokens = TokenCache(latest_cache(self.corpus_dir))
        cuts = sorted(self._scored(part), key=lambda c: c.id)
        items = [EvalItem(id=c.supervisions[0].id, character=c.supervisions[0].speaker, episode=c.supervisions[0].speaker,
                          scene=c.supervisions[0].speaker, turn=i, text=c.supervisions[0].text or "",
                          audio=Path(c.recording.sources[0].source),
                          tokens=tokens.reply(c.supervisions[0].speaker, c.supervisions[0].id))
                 for i, c in enumerate(cuts)]
        return items[:limit] if limit else items

    def eval_references(self):
        from audiorole.eval.run import References

        enrollment = {voice: [Path(c.recording.sources[0].source) for c in clips]
                      for split in ("dev", "test") for voice, clips in self._enrollment(split).items() if clips}
        return References(enrollment=enrollment, training_lines={}, personas={})
