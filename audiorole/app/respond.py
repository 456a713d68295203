"""A character's reply to a scene, as the app plays it: text, and speech in the character's voice.

With a semantic-stage adapter the trained LM writes the reply (``audiorole.reply.answer``)
and the character's decoder speaks its speech tokens. Without one (``python train.py``
trains only the voice) the reply is *retrieved*: the character's own training reply whose
scene reads most like the one typed (MiniLM cosine over the previous lines), spoken by the
decoder from that reply's speech tokens. The page says which of the two answered.
Models load once per character and stay loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiorole.app.catalog import Character
from audiorole.errors import AudioroleError

CONTEXT_TURNS = 3  # how many previous lines a retrieved scene is matched on


@dataclass
class Reply:
    text: str
    wave: np.ndarray | None            # float32 mono at ``sample_rate``; None when there is no decoder
    sample_rate: int
    how: str                           # one line: what wrote and what spoke this reply

    @property
    def seconds(self) -> float:
        return 0.0 if self.wave is None else len(self.wave) / self.sample_rate


def scene_text(turns) -> str:
    """The last previous lines as one string, the form retrieval compares."""
    return "\n".join(f"{t.speaker}: {t.text}" for t in tuple(turns)[-CONTEXT_TURNS:])


class Responder:
    """Answers as one character; ``mode`` says whether an LM writes the replies or retrieval finds them."""

    def __init__(self, character: Character, generation: dict | None = None):
        self.character = character
        # GenerationSettings fields overriding the adapter's own generation.json (the decoding its run validated)
        self.generation = dict(generation or {})
        self._voice = self._lm = self._lines = None

    @property
    def mode(self) -> str:
        return "lm" if self.character.adapter is not None else "retrieval"

    def describe(self) -> str:
        """One line for the page: where the voice and the words come from."""
        c = self.character
        voice = f"voice: `{c.decoder}`" if c.decoder else "no acoustic-stage decoder, so text only"
        if self.mode == "lm":
            return f"**{c.name}**: words from the trained LM (`{c.adapter}`), {voice}."
        return (f"**{c.name}**: {voice}. No semantic-stage adapter was found, so each reply is the {c.name} line "
                f"from the training scenes whose scene reads most like yours, spoken by the decoder; "
                f"`python train.py stage=semantic character={c.name}` trains one.")

    # ---- the voice -------------------------------------------------------------------------
    def voice(self):
        """(decoder, vocoder or None) of the character, loaded once."""
        if self._voice is None:
            if self.character.decoder is None:
                raise AudioroleError(f"{self.character.name}: no acoustic-stage decoder export; "
                                     f"python train.py stage=acoustic character={self.character.name} trains one")
            from audiorole.eval.systems.loading import load_decoder, load_vocoder

            decoder = load_decoder(self.character.decoder)  # a bad folder: one line naming it
            vocoder, _ = load_vocoder(None, self.character.decoder)  # the one its run exported, else Griffin-Lim
            self._voice = (decoder, vocoder)
        return self._voice

    def _speak(self, codes) -> tuple[np.ndarray | None, int]:
        if self.character.decoder is None:
            return None, 22050
        from audiorole.models.lm.generate import speak

        decoder, vocoder = self.voice()
        return speak(np.asarray(codes), decoder, vocoder, n_steps=self.character.n_steps), decoder.sample_rate

    # ---- the words -------------------------------------------------------------------------
    def reply(self, turns) -> Reply:
        turns = tuple(turns)
        if not turns:
            raise AudioroleError("type the scene's previous lines first (one 'speaker: line' per line), or record one")
        return self._generated(turns) if self.mode == "lm" else self._retrieved(turns)

    def _generated(self, turns) -> Reply:
        from audiorole.models.lm.generate import GenerationSettings
        from audiorole.models.lm.lora import load_adapter, read_chat, read_generation
        from audiorole.reply import answer
        from audiorole.text.dialogues import system_prompts

        if self._lm is None:
            model, tokenizer = load_adapter(self.character.adapter, merge=True)
            series = self.character.series
            personas = system_prompts(series) if series is not None and (series / "characters.yaml").is_file() else {}
            system = personas.get(self.character.name, f"You are {self.character.name}.")
            settings = GenerationSettings(**{**read_generation(self.character.adapter), **self.generation})
            self._lm = (model, tokenizer, read_chat(self.character.adapter), system, settings)
        model, tokenizer, chat, system, settings = self._lm
        decoder, vocoder = self.voice() if self.character.decoder is not None else (None, None)
        text, _, wave = answer(model, tokenizer, chat, system, turns, settings=settings, decoder=decoder,
                               vocoder=vocoder, n_steps=self.character.n_steps)
        rate = decoder.sample_rate if decoder is not None else 22050
        return Reply(text=text, wave=wave, sample_rate=rate, how="written by the trained LM")

    def training_lines(self):
        """The character's train-part replies (text, speech tokens, scene) and their scene vectors, loaded once."""
        if self._lines is None:
            from audiorole.eval.backends.text_minilm import MiniLMEmbedder
            from audiorole.eval.eval_set import held_out_items

            if self.character.prepared is None or not self.character.prepared.is_dir():
                raise AudioroleError(f"{self.character.name}: the prepared dataset its run names "
                                     f"({self.character.prepared}) is gone; prepare it again with the run's data=...")
            items = [i for i in held_out_items(self.character.prepared, self.character.name, part="train")
                     if i.tokens is not None and len(i.tokens)]
            if not items:
                raise AudioroleError(f"{self.character.prepared}: no train replies with speech tokens for "
                                     f"'{self.character.name}'")
            embedder = MiniLMEmbedder()
            scenes = embedder.embed([scene_text(i.context) or i.text for i in items])
            self._lines = (items, scenes, embedder)
        return self._lines

    def _retrieved(self, turns) -> Reply:
        items, scenes, embedder = self.training_lines()
        query = embedder.embed([scene_text(turns)])[0]
        best = int(np.argmax(scenes @ query))
        wave, rate = self._speak(items[best].tokens)
        return Reply(text=items[best].text, wave=wave, sample_rate=rate,
                     how=f"retrieved: training reply {items[best].id} (scene similarity {float(scenes[best] @ query):.2f})")
