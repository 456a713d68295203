"""Prompt layout, label masks and splitting, on a word-level tokenizer whose ids are checked by hand."""

import numpy as np
import pytest

from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.items import ContextTurn
from audiorole.text.split import split_reply
from audiorole.text.template import IGNORE, ChatFormat, build_sample
from audiorole.text.vocab import ROLE_TOKENS, ChatVocab, audio_token

SYS, USR, AST, BOA, EOA, EOT = range(6)      # ROLE_TOKENS order
AUDIO0 = 6                                   # <|audio_0|> .. <|audio_7|> = 6..13
WORDS = ["be", "brief", "mara:", "cast", "off", "streaming_transcription"] + [f"w{i}" for i in range(20)]
W = {w: 14 + i for i, w in enumerate(WORDS)}


def word_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [*ROLE_TOKENS, *(audio_token(k) for k in range(8))]
    vocab = {t: i for i, t in enumerate(specials + WORDS + ["[UNK]"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(specials)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   unk_token="[UNK]")


CONTEXT = (ContextTurn(speaker="mara", text="cast off", episode="ep1", start=1.0, end=2.0),)
PROMPT = [SYS, W["be"], W["brief"], USR, W["mara:"], W["cast"], W["off"], AST, W["streaming_transcription"]]


def test_vocab_reads_roles_and_contiguous_audio_ids():
    v = ChatVocab.from_tokenizer(word_tokenizer())
    assert (v.system, v.user, v.assistant, v.begin_audio, v.end_audio, v.end_of_text) == (0, 1, 2, 3, 4, 5)
    assert v.audio_offset == AUDIO0 and v.n_audio == 8 and v.stop == (USR, EOT)
    assert v.is_audio(13) and not v.is_audio(14) and v.is_text(14) and not v.is_text(USR)


def test_sample_layout_interleaves_13_26_and_learns_only_the_reply():
    reply_words = " ".join(f"w{i}" for i in range(15))
    codes = [i % 8 for i in range(32)]
    sample = build_sample(word_tokenizer(), "be brief", CONTEXT, reply_words, codes)
    text_ids = [W[f"w{i}"] for i in range(15)]
    audio_ids = [AUDIO0 + c for c in codes]
    reply = text_ids[:13] + audio_ids[:26] + text_ids[13:] + audio_ids[26:] + [USR]
    assert sample["input_ids"] == PROMPT + reply
    assert sample["labels"] == [IGNORE] * len(PROMPT) + reply


def test_speech_user_turn_wraps_each_turn_in_audio_markers_and_keeps_the_last_turns():
    turns = CONTEXT * 3
    fmt = ChatFormat(word_tokenizer(), user_mode="speech", max_context_turns=2)
    prompt = fmt.prompt("be brief", turns, context_codes=[np.array([7]), np.array([1, 2]), np.array([3])])
    assert prompt == [SYS, W["be"], W["brief"], USR, BOA, AUDIO0 + 1, AUDIO0 + 2, EOA, BOA, AUDIO0 + 3, EOA,
                      AST, W["streaming_transcription"]]
    with pytest.raises(ConfigError, match="user_mode=speech"):
        fmt.prompt("be brief", turns)


def test_prefix_tokens_start_the_prompt_and_bad_codes_are_refused():
    fmt = ChatFormat(word_tokenizer(), prefix=["<|endoftext|>"])
    assert fmt.prompt("be brief", CONTEXT) == [EOT] + PROMPT
    with pytest.raises(AudioroleError, match="outside the LM's 8 audio tokens"):
        fmt.reply("w1", [8])
    with pytest.raises(AudioroleError, match="no <\\|system\\|> token"):
        ChatFormat(_without_system())
    with pytest.raises(AudioroleError, match="no \\[gMASK\\] token"):
        ChatFormat(word_tokenizer(), prefix=["[gMASK]"])


def _without_system():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")


def test_split_returns_text_and_codes_and_drops_what_a_decoder_must_not_see():
    v = ChatVocab.from_tokenizer(word_tokenizer())
    ids = [W["w1"], AUDIO0 + 2, BOA, AUDIO0 + 7, SYS, W["w2"], 999, USR, AUDIO0 + 1]
    parts = split_reply(ids, v)
    assert parts.text_ids == [W["w1"], W["w2"]] and parts.codes.tolist() == [2, 7]
    assert parts.stopped and parts.dropped == [BOA, SYS, 999] and not parts.well_formed
    small = split_reply(ids, v, codebook_size=4)           # a decoder with 4 codes never gets code 7
    assert small.codes.tolist() == [2] and AUDIO0 + 7 in small.dropped
    with pytest.raises(AudioroleError, match="malformed reply"):
        split_reply(ids, v, strict=True)
    clean = split_reply([W["w1"], AUDIO0], v)
    assert clean.well_formed and not clean.stopped
