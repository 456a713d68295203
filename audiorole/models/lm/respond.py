"""An LM answering held-out scenes as a character: the reply's text, and its speech when a decoder is given.

One implementation for every place that asks the semantic model for replies: the
semantic module (previews and ARP-Eval at validation and test) and ``evaluate.py``'s
LM systems (``audiorole.eval.systems.lm_replies``, a trained adapter or the untrained LM).
"""

from __future__ import annotations

import numpy as np

from audiorole.eval.items import EvalItem, Output
from audiorole.models.lm.generate import GenerationSettings, generate_reply, speak
from audiorole.text.dialogues import Dialogue, from_eval_item
from audiorole.text.template import ChatFormat

SILENT_RATE = 16000  # the rate a text-only answer's zero-length wave carries


def reply(model, tokenizer, chat: ChatFormat, dialogue: Dialogue, settings: GenerationSettings, decoder=None):
    """(text, split parts) of the model's reply to a dialogue's context."""
    prompt = chat.prompt(dialogue.system, dialogue.context, dialogue.context_codes)
    # Codes the decoder has no embedding for are never generated.
    limit = int(decoder.vocab_size) if decoder is not None else None
    _, parts = generate_reply(model, chat.vocab, prompt, settings, audio_limit=limit)
    return tokenizer.decode(parts.text_ids, skip_special_tokens=True).strip(), parts


def respond(model, tokenizer, chat: ChatFormat, items: list[EvalItem], settings: GenerationSettings,
            systems: dict[str, str], decoder=None, decoder_steps: int = 10, tokens=None, vocoder=None) -> list[Output]:
    """ARP-Eval's ``System.respond``: text always; speech when a decoder is given (else a zero-length wave).

    ``systems``: each character's system prompt; ``tokens``: the dataset's token cache, read for the
    context turns' speech codes when the chat format takes the scene as speech (``user_mode=speech``);
    ``vocoder``: mel -> wave (None: Griffin-Lim).
    """
    outputs = []
    for item in items:
        dialogue = from_eval_item(item, systems.get(item.character, ""), tokens if chat.user_mode == "speech" else None)
        text, parts = reply(model, tokenizer, chat, dialogue, settings, decoder)
        wave = speak(parts.codes, decoder, vocoder, n_steps=decoder_steps)
        rate = decoder.sample_rate if decoder is not None else SILENT_RATE
        outputs.append(Output(wave=np.asarray(wave, np.float32), sample_rate=rate, text=text))
    return outputs
