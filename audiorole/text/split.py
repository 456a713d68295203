"""Generated ids -> (text ids, speech codes), with malformed pieces dropped and counted.

A decoder must only ever see codes it has embeddings for: ids that are not
audio tokens never become codes, and codes at or above the decoder's codebook
size (an LM with more audio tokens than the decoder) are dropped too. Role and
marker tokens inside a reply are dropped from the text. Everything after the
first stop token is ignored.
"""

from dataclasses import dataclass, field

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.text.vocab import ChatVocab


@dataclass
class ReplyParts:
    text_ids: list[int]
    codes: np.ndarray                     # int64 speech codes, in order
    stopped: bool                         # ended with a stop token (not max length)
    dropped: list[int] = field(default_factory=list)  # ids removed as malformed

    @property
    def well_formed(self) -> bool:
        return not self.dropped


def split_reply(ids, vocab: ChatVocab, codebook_size: int | None = None, strict: bool = False) -> ReplyParts:
    """Split a generated reply (the ids after the prompt); ``strict`` raises on anything malformed."""
    limit = vocab.n_audio if codebook_size is None else min(vocab.n_audio, int(codebook_size))
    text, codes, dropped, stopped = [], [], [], False
    for index in (int(i) for i in ids):
        if index in vocab.stop:
            stopped = True
            break
        if vocab.is_audio(index) and index - vocab.audio_offset < limit:
            codes.append(index - vocab.audio_offset)
        elif vocab.is_text(index):
            text.append(index)
        else:
            dropped.append(index)
    if strict and dropped:
        raise AudioroleError(f"malformed reply: ids {dropped[:5]} are neither text nor audio codes below {limit}")
    return ReplyParts(text, np.asarray(codes, dtype=np.int64), stopped, dropped)
