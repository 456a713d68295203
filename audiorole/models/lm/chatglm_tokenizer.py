"""GLM-4's tiktoken-style tokenizer as a transformers ``PreTrainedTokenizerFast``, without remote code or tiktoken.

The public checkpoint's ``tokenizer.model`` holds BPE ranks, one
``<base64 bytes> <rank>`` per line, read by ``tokenization_chatglm.py`` through
tiktoken with GLM-4's pre-tokenizer regex. Special tokens (``<|endoftext|>``,
``[gMASK]``, ``<sop>``, the role tokens and, in GLM-4-Voice, ``<|begin_of_audio|>``,
``<|end_of_audio|>`` and ``<|audio_0|>`` ... ``<|audio_16383|>``) sit in
``tokenizer_config.json`` under ``added_tokens_decoder`` with their ids.

A rank table is a byte-level BPE whose merges are implied by the ranks: a
token of rank ``r`` is the merge of any two shorter tokens that concatenate to
it, applied in rank order, which is what tiktoken does. transformers'
``TikTokenConverter`` builds exactly this but reads the file with tiktoken,
which we do not depend on; we read the ranks ourselves and reuse the rest.

As in the original tokenizer, ``add_special_tokens=True`` (the default)
prefixes ``[gMASK]<sop>``; encode segments of a longer prompt with
``add_special_tokens=False``. Padding is on the left, as there.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from audiorole.models.lm.glm4voice_layout import TOKENIZER_CONFIG, TOKENIZER_MODEL, CheckpointError, read_json

# GLM-4's pre-tokenizer (tokenization_chatglm.py), the cl100k-style split.
GLM4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
PREFIX = ("[gMASK]", "<sop>")
# Older tokenization_chatglm.py numbered these right after the ranks instead of listing them in the config.
LEGACY_SPECIALS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                   "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
                   "<|begin_of_video|>", "<|end_of_video|>"]


def read_ranks(path: Path) -> dict[bytes, int]:
    """BPE ranks of a tiktoken-format file."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; the checkpoint's tokenizer (BPE ranks) did not download")
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token, validate=True)] = int(rank)
            except (ValueError, binascii.Error):
                raise CheckpointError(f"{path}:{n}: expected '<base64 token> <rank>'; not a tiktoken BPE file") from None
    if not ranks:
        raise CheckpointError(f"{path}: empty; re-download the tokenizer")
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise CheckpointError(f"{path}: ranks are not 0..{len(ranks) - 1} without gaps; not a tiktoken BPE file")
    return ranks


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level vocabulary and the merges the ranks imply, in rank order."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    to_char = bytes_to_unicode()

    def text(b: bytes) -> str:
        return "".join(to_char[x] for x in b)

    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = []
    for token, _ in sorted(ranks.items(), key=lambda kv: kv[1]):
        # Every split into two known tokens is a way to build it; each pair is a merge at this token's rank.
        for i in range(1, len(token)):
            if token[:i] in ranks and token[i:] in ranks:
                merges.append((text(token[:i]), text(token[i:])))
    return vocab, merges


def added_tokens(config: dict, first_id: int) -> list[tuple[int, str, dict]]:
    """``(id, content, flags)`` of the special/added tokens, sorted by id."""
    table = config.get("added_tokens_decoder")
    if not table:
        return [(first_id + i, t, {"special": True}) for i, t in enumerate(LEGACY_SPECIALS)]
    out = []
    for key, entry in table.items():
        entry = entry if isinstance(entry, dict) else {"content": entry}
        out.append((int(key), str(entry["content"]), entry))
    return sorted(out)


def _token_text(value) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def _byte_level_bpe(vocab: dict[str, int], merges: list[tuple[str, str]]):
    """transformers' ``TikTokenConverter`` (pre-tokenizer, byte-level decoder) fed our vocabulary, not tiktoken's."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class Converter(TikTokenConverter):
        def extract_vocab_merges_from_model(self, _):
            return vocab, merges

    return Converter(vocab_file=None, pattern=GLM4_PATTERN, additional_special_tokens=[]).converted()


def chatglm_tokenizer(root: str | Path, model_max_length: int | None = None):
    """The checkpoint's tokenizer as a ``PreTrainedTokenizerFast``."""
    from tokenizers import AddedToken, processors
    from transformers import PreTrainedTokenizerFast

    root = Path(root)
    ranks = read_ranks(root / TOKENIZER_MODEL)
    config = read_json(root / TOKENIZER_CONFIG)
    extra = added_tokens(config, len(ranks))
    vocab, merges = vocab_and_merges(ranks)
    clash = [(i, t) for i, t, _ in extra if t in vocab or i < len(ranks)]
    if clash:
        raise CheckpointError(f"{root / TOKENIZER_CONFIG}: added token {clash[0][1]!r} (id {clash[0][0]}) collides "
                              f"with a BPE token of {TOKENIZER_MODEL}; the tokenizer files do not match")
    ids = {t: i for i, t, _ in extra}
    missing = [t for t in (*PREFIX, "<|endoftext|>") if t not in ids]
    if missing:
        raise CheckpointError(f"{root / TOKENIZER_CONFIG}: no {missing[0]!r} among the added tokens; "
                              "not a GLM-4 tokenizer config")
    # Added tokens also enter the model vocabulary, which pins their ids: add_tokens
    # keeps a token's vocabulary id instead of numbering it from the end.
    backend = _byte_level_bpe({**vocab, **ids}, merges)
    backend.add_tokens([AddedToken(t, lstrip=bool(f.get("lstrip")), rstrip=bool(f.get("rstrip")),
                                   single_word=bool(f.get("single_word")), normalized=False,
                                   special=bool(f.get("special", True))) for _, t, f in extra])
    wrong = next((t for t, i in ids.items() if backend.token_to_id(t) != i), None)
    if wrong is not None:
        raise CheckpointError(f"{root / TOKENIZER_CONFIG}: {wrong!r} did not keep its id {ids[wrong]}; "
                              "two added tokens share an id?")
    backend.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{PREFIX[0]} {PREFIX[1]} $A:0",
                                      pair=f"{PREFIX[0]} {PREFIX[1]} $A:0 $B:1",
                                      special_tokens=[(t, ids[t]) for t in PREFIX]),
    ])
    eos = _token_text(config.get("eos_token")) or "<|endoftext|>"
    pad = _token_text(config.get("pad_token")) or eos
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=eos, pad_token=pad, padding_side=config.get("padding_side", "left"),
        clean_up_tokenization_spaces=False,
        model_max_length=model_max_length or int(config.get("model_max_length") or 8192),
    )
