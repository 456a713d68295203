"""GLM-4-Voice's chat layout, and training samples whose labels cover only the reply.

    <|system|>\\n{system}<|user|>\\n{input}<|assistant|>streaming_transcription\\n{reply}<|user|>

``{input}`` is the scene so far: as text, one "speaker: line" per previous turn,
or as speech, each previous turn's codes wrapped in ``<|begin_of_audio|>`` ...
``<|end_of_audio|>`` (how GLM-4-Voice's demo passes spoken input). ``{reply}`` is
the character's line, 13 text tokens then 26 audio tokens, repeated
(``interleave``). The closing ``<|user|>`` is learned: it is how the model stops.
Text between special tokens is encoded segment by segment, which is what a
tokenizer does to a whole prompt string anyway (special tokens split it first).
"""

from collections.abc import Sequence

from audiorole.errors import ConfigError
from audiorole.text.interleave import AUDIO_BLOCK, TEXT_BLOCK, interleave
from audiorole.text.vocab import ChatVocab

IGNORE = -100  # label of a position the loss skips (torch's cross_entropy default)
STREAMING = "streaming_transcription\n"
USER_MODES = ("text", "speech")


def _speaker(turn) -> str:
    return turn["speaker"] if isinstance(turn, dict) else turn.speaker


def _text(turn) -> str:
    return turn["text"] if isinstance(turn, dict) else turn.text


class ChatFormat:
    """Turns (system, context, reply) into ids for one tokenizer; built from config (``model.chat``)."""

    def __init__(self, tokenizer, user_mode: str = "text", max_context_turns: int | None = 4,
                 prefix: Sequence[str] = (), text_block: int = TEXT_BLOCK, audio_block: int = AUDIO_BLOCK):
        if user_mode not in USER_MODES:
            raise ConfigError(f"model.chat.user_mode={user_mode!r}: use one of {', '.join(USER_MODES)}")
        self.tokenizer = tokenizer
        self.vocab = ChatVocab.from_tokenizer(tokenizer, tuple(prefix))
        self.user_mode = user_mode
        self.max_context_turns = max_context_turns
        self.text_block, self.audio_block = text_block, audio_block

    def encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False)) if text else []

    def _recent(self, turns: Sequence) -> list:
        turns = list(turns)
        return turns[-self.max_context_turns:] if self.max_context_turns else turns

    def user_ids(self, context: Sequence, context_codes: Sequence | None = None) -> list[int]:
        if self.user_mode == "text":
            return self.encode_text("\n" + "\n".join(f"{_speaker(t)}: {_text(t)}" for t in self._recent(context)))
        if context_codes is None or len(context_codes) != len(context):
            raise ConfigError("model.chat.user_mode=speech needs the speech codes of every context turn "
                              "(a token cache built with tokenizer=...); or set model.chat.user_mode=text")
        ids = self.encode_text("\n")
        v = self.vocab
        for codes in self._recent(context_codes):
            ids += [v.begin_audio, *v.audio_ids(codes), v.end_audio]
        return ids

    def prompt(self, system: str, context: Sequence = (), context_codes: Sequence | None = None) -> list[int]:
        v = self.vocab
        return [*v.prefix, v.system, *self.encode_text("\n" + system), v.user, *self.user_ids(context, context_codes),
                v.assistant, *self.encode_text(STREAMING)]

    def reply(self, text: str, codes) -> list[int]:
        """The interleaved reply and the stop token that ends it."""
        body = interleave(self.encode_text(text), self.vocab.audio_ids(codes), self.text_block, self.audio_block)
        return body + [self.vocab.user]

    def sample(self, system: str, context: Sequence, reply_text: str, reply_codes, context_codes=None) -> dict:
        prompt = self.prompt(system, context, context_codes)
        reply = self.reply(reply_text, reply_codes)
        return {"input_ids": prompt + reply, "labels": [IGNORE] * len(prompt) + reply}


def build_sample(tokenizer, system: str, context: Sequence, reply_text: str, reply_audio_codes,
                 user_mode: str = "text", context_codes: Sequence | None = None, **format_options) -> dict:
    """One training sample ``{input_ids, labels}``; labels are ``IGNORE`` outside the assistant's reply."""
    return ChatFormat(tokenizer, user_mode, **format_options).sample(system, context, reply_text, reply_audio_codes,
                                                                     context_codes)
