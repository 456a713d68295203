"""The semantic stage's LM answering each held-out scene: a trained LoRA adapter, or the untrained LM.

The LM writes the reply itself from the scene's context and the character's persona, so
CQ (closeness to the real reply) and CP (sounding like the character) measure the semantic
stage; with ``decoder`` the reply is spoken too and the acoustic measures apply. The
untrained row is the same base (with its added chat and speech-token rows), the same
prompt format and the same decoding, without the adapter: what LoRA adds is the
difference (``evaluate.py``'s ``comparisons``, ``[lm, untrained_lm]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem, Output

ALL = "*"  # one adapter for every character


def _plain(node) -> dict:
    from omegaconf import DictConfig, OmegaConf

    if node is None:
        return {}
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


class LMReplies:
    """``adapter``: a semantic run's ``lm/adapter`` folder (its base is rebuilt from its ``base.yaml``,
    its prompt format read from its ``chat.json``), or a mapping character -> folder (each item then
    answered by its own character's adapter). Without one, ``base`` (a callable returning
    ``(model, tokenizer)``, e.g. the stage's ``model.lm`` partial) answers untrained, with ``chat``.
    ``generation``: ``GenerationSettings`` fields; ``series_dir``: where the personas are;
    ``prepared_dir``: the token cache, read when the prompt takes the scene as speech.
    ``decoder``: an exported acoustic decoder (or a mapping character -> decoder) that speaks the
    replies, with the vocoder exported beside it (else Griffin-Lim); then WER scores whether the
    speech says the reply's own text.
    """

    def __init__(self, name: str = "lm", adapter: str | Path | Mapping | None = None, base: Callable | None = None,
                 chat: Mapping | None = None, generation: Mapping | None = None, series_dir: str | None = None,
                 prepared_dir: str | None = None, decoder: str | Path | Mapping | None = None,
                 decoder_steps: int = 10):
        if isinstance(adapter, Mapping):
            self.adapters = {str(k): str(v) for k, v in adapter.items()} or None
        else:
            self.adapters = None if adapter is None else {ALL: str(adapter)}
        if self.adapters is None and base is None:
            raise AudioroleError(f"system '{name}': no LM given; pass adapter=<run>/lm/adapter (a semantic run's export), "
                                 "or run with stage=semantic so the untrained LM's loader (model.lm) is known")
        for folder in (self.adapters or {}).values():
            if not (Path(folder) / "adapter_config.json").is_file():
                raise AudioroleError(f"system '{name}': {folder} is not a LoRA adapter folder (no adapter_config.json); "
                                     "pass adapter=<semantic run>/lm/adapter")
        self.name = name
        self.base, self.chat_options = base, _plain(chat)
        self.generation = _plain(generation)
        self.series_dir, self.prepared_dir = series_dir, prepared_dir
        self.decoders = ({str(k): str(v) for k, v in decoder.items()} if isinstance(decoder, Mapping)
                         else None if decoder is None else {ALL: str(decoder)})
        self.decoder_steps = int(decoder_steps)
        self._loaded: dict[str | None, tuple] = {}  # adapter folder (None: the untrained base) -> loaded LM
        self._voices: dict[str, tuple] = {}  # decoder folder -> (decoder, vocoder or None)

    def trained_sources(self) -> list[str]:
        """What was trained on the dataset (checked against the split before scoring)."""
        return [*(self.adapters or {}).values(), *(self.decoders or {}).values()]

    def _adapter_for(self, character: str) -> str | None:
        if self.adapters is None:
            return None
        if ALL in self.adapters:
            return self.adapters[ALL]
        if character not in self.adapters:
            raise AudioroleError(f"system '{self.name}': no adapter for character '{character}' (given for "
                                 f"{', '.join(sorted(self.adapters))}); add adapter.{character}=<run>/lm/adapter")
        return self.adapters[character]

    def _load(self, adapter: str | None):
        if adapter not in self._loaded:
            from audiorole.models.lm.generate import GenerationSettings
            from audiorole.models.lm.lora import load_adapter, read_chat, read_generation
            from audiorole.text.dialogues import system_prompts
            from audiorole.text.template import ChatFormat

            generation = dict(self.generation)
            if adapter:
                model, tokenizer = load_adapter(adapter, merge=True)
                chat = read_chat(adapter) or self.chat_options
                generation = {**read_generation(adapter), **generation}  # what config says wins
            else:
                (model, tokenizer), chat = self.base(), self.chat_options
            model.eval()
            fmt = ChatFormat(tokenizer, **chat)
            tokens = None
            if fmt.user_mode == "speech" and self.prepared_dir:
                from audiorole.tokenizers.cache import TokenCache, latest_cache

                tokens = TokenCache(latest_cache(self.prepared_dir))
            systems = system_prompts(self.series_dir) if self.series_dir else {}
            self._loaded[adapter] = (model, tokenizer, fmt, GenerationSettings(**generation), systems, tokens)
        return self._loaded[adapter]

    def _voice(self, character: str) -> tuple:
        """(decoder, vocoder) speaking for ``character``; (None, None): text only."""
        if self.decoders is None:
            return None, None
        source = self.decoders.get(ALL) or self.decoders.get(character)
        if source is None:
            raise AudioroleError(f"system '{self.name}': no decoder for character '{character}' (given for "
                                 f"{', '.join(sorted(self.decoders))}); add systems.{self.name}.decoder.{character}=<dir>")
        if source not in self._voices:
            from audiorole.eval.systems.loading import load_decoder, load_vocoder

            self._voices[source] = (load_decoder(source), load_vocoder(None, source)[0])
        return self._voices[source]

    def respond(self, items: list[EvalItem]) -> list[Output]:
        from audiorole.models.lm.respond import respond

        outputs = []
        for item in items:
            model, tokenizer, fmt, settings, systems, tokens = self._load(self._adapter_for(item.character))
            decoder, vocoder = self._voice(item.character)
            outputs += respond(model, tokenizer, fmt, [item], settings, systems, decoder, self.decoder_steps, tokens,
                               vocoder)
        return outputs

    def describe(self) -> dict:
        adapters = self.adapters and (self.adapters.get(ALL) or self.adapters)
        return {"adapter": adapters or "none (untrained)", "generation": self.generation,
                "decoder": self.decoders and (self.decoders.get(ALL) or self.decoders)}
