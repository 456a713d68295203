"""A prepared dataset's replies as dialogues: who speaks, the scene so far, the reply's text and codes.

``DialogueBatches`` is a map-style dataset whose index is a Lhotse CutSet batch
from a sampler (duration-bucketed), like the acoustic stage's batches. It does
not tokenize text: the LM's tokenizer belongs to the model, which is built after
the dataset is prepared, so the semantic module encodes dialogues itself.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from audiorole.eval.items import ContextTurn, EvalItem


@dataclass
class Dialogue:
    id: str
    character: str
    context: tuple[ContextTurn, ...]
    reply_text: str
    reply_codes: np.ndarray | None = None              # None: not known (generation)
    context_codes: tuple[np.ndarray, ...] | None = None  # per context turn, when the cache has them
    system: str = ""


def system_prompts(series_dir: str | Path) -> dict[str, str]:
    """Each character's system prompt: who they are and their persona (``characters.yaml``)."""
    from audiorole.data.series import SeriesFolder

    registry = SeriesFolder.load(series_dir).registry
    return {name: f"You are {c.display_name}. {c.persona}".strip() for name, c in registry.characters.items()}


def context_codes(tokens, context) -> tuple[np.ndarray, ...] | None:
    """The cached speech codes of each context turn (None if any is missing)."""
    try:
        return tuple(tokens.context(t.episode, t.start, t.end) for t in context)
    except (KeyError, FileNotFoundError):
        return None


def from_eval_item(item: EvalItem, system: str, tokens=None) -> Dialogue:
    return Dialogue(id=item.id, character=item.character, context=item.context, reply_text=item.text,
                    reply_codes=item.tokens, context_codes=context_codes(tokens, item.context) if tokens else None,
                    system=system)


def from_cut(cut, tokens, systems: dict[str, str]) -> Dialogue:
    sup = cut.supervisions[0]
    custom = sup.custom
    context = tuple(ContextTurn(speaker=c["speaker"], text=c["text"], episode=c["audio"]["episode"],
                                start=float(c["audio"]["start"]), end=float(c["audio"]["end"]))
                    for c in custom.get("context") or [])
    return Dialogue(id=sup.id, character=sup.speaker, context=context, reply_text=sup.text or "",
                    reply_codes=tokens.reply(custom["episode"], sup.id), context_codes=context_codes(tokens, context),
                    system=systems.get(sup.speaker, ""))


class DialogueBatches(torch.utils.data.Dataset):
    def __init__(self, token_dir: str, systems: dict[str, str]):
        from audiorole.tokenizers.cache import TokenCache

        self.tokens = TokenCache(token_dir)
        self.systems = systems

    def __getitem__(self, cuts) -> dict:
        return {"dialogues": [from_cut(c, self.tokens, self.systems) for c in cuts]}
