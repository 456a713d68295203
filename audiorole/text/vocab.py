"""The ids a GLM-4-Voice-style chat needs, read once from a tokenizer.

GLM-4-Voice's vocabulary holds text tokens, role tokens (``<|system|>``,
``<|user|>``, ``<|assistant|>``), ``<|begin_of_audio|>``/``<|end_of_audio|>`` and
one token per speech code, ``<|audio_0|>`` ... ``<|audio_{N-1|>``, with contiguous
ids (its web demo maps a code to ``id - id(<|audio_0|>)``). The demo's SmolLM2
(``audiorole.models.lm.smollm2``) gets the same tokens added, with N = the offline
speech tokenizer's codebook size.
"""

import re
from dataclasses import dataclass

from audiorole.errors import AudioroleError

SYSTEM, USER, ASSISTANT = "<|system|>", "<|user|>", "<|assistant|>"
BEGIN_AUDIO, END_AUDIO = "<|begin_of_audio|>", "<|end_of_audio|>"
END_OF_TEXT = "<|endoftext|>"
ROLE_TOKENS = (SYSTEM, USER, ASSISTANT, BEGIN_AUDIO, END_AUDIO, END_OF_TEXT)
_AUDIO = re.compile(r"^<\|audio_(\d+)\|>$")


def audio_token(code: int) -> str:
    return f"<|audio_{code}|>"


def count_audio_tokens(tokenizer) -> int:
    """How many ``<|audio_k|>`` tokens the tokenizer has (k = 0 .. N-1)."""
    return sum(1 for token in tokenizer.get_vocab() if _AUDIO.match(token))


@dataclass(frozen=True)
class ChatVocab:
    system: int
    user: int
    assistant: int
    begin_audio: int
    end_audio: int
    end_of_text: int
    audio_offset: int        # id of <|audio_0|>
    n_audio: int             # audio tokens: codes 0 .. n_audio-1
    size: int                # ids 0 .. size-1 exist in the tokenizer
    prefix: tuple[int, ...] = ()   # tokens every prompt starts with (GLM-4: [gMASK]<sop>)
    special: frozenset = frozenset()  # every id that is neither text nor audio

    @classmethod
    def from_tokenizer(cls, tokenizer, prefix: tuple[str, ...] | list[str] = ()) -> "ChatVocab":
        ids = {}
        for token in (*ROLE_TOKENS, *prefix):
            index = tokenizer.convert_tokens_to_ids(token)
            if index is None or index == tokenizer.unk_token_id or tokenizer.convert_ids_to_tokens(index) != token:
                raise AudioroleError(f"the LM tokenizer has no {token} token; use a GLM-4-Voice tokenizer "
                                     "(audiorole.models.lm.load) or the demo's (audiorole.models.lm.smollm2)")
            ids[token] = index
        n_audio = count_audio_tokens(tokenizer)
        if n_audio == 0:
            raise AudioroleError("the LM tokenizer has no <|audio_k|> tokens; it cannot speak")
        offset = tokenizer.convert_tokens_to_ids(audio_token(0))
        last = tokenizer.convert_tokens_to_ids(audio_token(n_audio - 1))
        if last - offset != n_audio - 1:
            raise AudioroleError(f"the LM tokenizer's {n_audio} audio tokens are not contiguous ids "
                                 f"({audio_token(0)}={offset}, {audio_token(n_audio - 1)}={last})")
        special = set(ids.values()) | set(getattr(tokenizer, "all_special_ids", []))
        for index, added in getattr(tokenizer, "added_tokens_decoder", {}).items():
            if getattr(added, "special", False):
                special.add(int(index))
        special -= set(range(offset, offset + n_audio))
        return cls(system=ids[SYSTEM], user=ids[USER], assistant=ids[ASSISTANT], begin_audio=ids[BEGIN_AUDIO],
                   end_audio=ids[END_AUDIO], end_of_text=ids[END_OF_TEXT], audio_offset=offset, n_audio=n_audio,
                   size=len(tokenizer), prefix=tuple(ids[t] for t in prefix), special=frozenset(special))

    @property
    def stop(self) -> tuple[int, int]:
        """What ends a reply: the next user turn (GLM-4-Voice), or end of text."""
        return (self.user, self.end_of_text)

    def is_audio(self, index: int) -> bool:
        return self.audio_offset <= index < self.audio_offset + self.n_audio

    def is_text(self, index: int) -> bool:
        return 0 <= index < self.size and not self.is_audio(index) and index not in self.special

    def audio_ids(self, codes) -> list[int]:
        codes = [int(c) for c in codes]
        bad = [c for c in codes if not 0 <= c < self.n_audio]
        if bad:
            raise AudioroleError(f"speech code {bad[0]} is outside the LM's {self.n_audio} audio tokens; "
                                 "the token cache and the LM tokenizer disagree (tokenizer= and model= must match)")
        return [self.audio_offset + c for c in codes]
