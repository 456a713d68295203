"""Generation: stops at stop tokens; only text, valid audio codes and stops ever come out, in the 13:26 pattern.

The model is a GLM whose next-token scores depend only on the current token (a
Markov chain we write by hand): one-hot embeddings, zeroed attention and MLP
outputs, and an lm_head holding the transition scores.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from tiny_lm import tiny_glm
from audiorole.models.lm.generate import GenerationSettings, generate_reply, speak
from audiorole.text.template import ChatFormat
from test_text_template import AUDIO0, BOA, EOT, SYS, USR, W, word_tokenizer

GREEDY = GenerationSettings(max_new_tokens=60, do_sample=False)


def markov_lm(size: int, scores: dict[int, dict[int, float]], default: dict[int, float]):
    hidden = 48
    model = tiny_glm(size, special_id=EOT, hidden_size=hidden, layers=1, heads=4, kv_heads=2, intermediate_size=32).eval()
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(size, hidden))
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = torch.zeros(size, hidden)
        for current in range(size):
            for nxt, score in {**default, **scores.get(current, {})}.items():
                head[nxt, current] = score / math.sqrt(hidden)  # the final RMSNorm scales a one-hot by sqrt(hidden)
        model.lm_head.weight.copy_(head)
    return model


@pytest.fixture(scope="module")
def fmt():
    return ChatFormat(word_tokenizer())


def prompt(fmt):
    return fmt.prompt("be brief", [])


def text_chain(n: int) -> dict[int, dict[int, float]]:
    start = W["streaming_transcription"]
    words = [start] + [W[f"w{i}"] for i in range(n)]
    return {a: {b: 5.0} for a, b in zip(words, words[1:])}


def test_stops_at_the_user_token(fmt):
    chain = {**text_chain(3), W["w2"]: {USR: 5.0}}
    model = markov_lm(len(fmt.tokenizer), chain, default={})
    ids, parts = generate_reply(model, fmt.vocab, prompt(fmt), GREEDY)
    assert ids == [W["w0"], W["w1"], W["w2"], USR]
    assert parts.stopped and fmt.tokenizer.decode(parts.text_ids) == "w0 w1 w2" and len(parts.codes) == 0


def test_end_of_text_also_stops(fmt):
    model = markov_lm(len(fmt.tokenizer), {**text_chain(2), W["w1"]: {EOT: 5.0}}, default={})
    ids, parts = generate_reply(model, fmt.vocab, prompt(fmt), GREEDY)
    assert ids == [W["w0"], W["w1"], EOT] and parts.stopped


def forbidden_first_model(fmt):
    """Prefers, always: a begin-of-audio marker, a role token, an audio code the decoder lacks; then a text run, then audio."""
    chain = text_chain(13)
    chain[W["w12"]] = {AUDIO0 + 1: 4.0}
    for code in (1, 2, 3):
        chain[AUDIO0 + code] = {AUDIO0 + code % 3 + 1: 4.0}
    default = {BOA: 10.0, SYS: 9.0, AUDIO0 + 7: 8.0}
    return markov_lm(len(fmt.tokenizer), chain, default)


def test_unconstrained_model_would_emit_malformed_tokens(fmt):
    model = forbidden_first_model(fmt)
    out = model.generate(torch.tensor([prompt(fmt)]), max_new_tokens=3, do_sample=False, pad_token_id=EOT)
    assert out[0, len(prompt(fmt)):].tolist() == [BOA, BOA, BOA]


@pytest.mark.parametrize("structured", [True, False])
def test_only_text_and_codes_the_decoder_knows_come_out(fmt, structured):
    model = forbidden_first_model(fmt)
    settings = GenerationSettings(max_new_tokens=60, structured=structured)
    ids, parts = generate_reply(model, fmt.vocab, prompt(fmt), settings, audio_limit=4)
    assert len(ids) == 60 and not parts.stopped
    assert parts.well_formed and parts.text_ids == [W[f"w{i}"] for i in range(13)]
    assert parts.codes.tolist() == [1, 2, 3] * 15 + [1, 2]
    assert ids[:13] == parts.text_ids  # 13 text tokens, then audio


def test_structure_is_enforced_against_the_model(fmt):
    """The model wants 20 text tokens, then audio."""
    chain = text_chain(20)
    chain[W["w19"]] = {AUDIO0 + 1: 5.0}
    chain[AUDIO0 + 1] = {AUDIO0 + 1: 5.0, W["w0"]: 1.0}
    model = markov_lm(len(fmt.tokenizer), chain, default={USR: -5.0, AUDIO0 + 2: 0.5})
    words = [W[f"w{i}"] for i in range(20)]

    def run(**options):
        return generate_reply(model, fmt.vocab, prompt(fmt), GenerationSettings(max_new_tokens=30, **options))[0]

    # Text may run past a full block only by ending the audio: none may follow.
    loose = run(text_leads=False)
    assert loose[:20] == words and all(not fmt.vocab.is_audio(i) for i in loose)
    # Default: after 13 text tokens speech must come (the model's best audio token), then text may resume.
    strict = run()
    assert strict[:13] == words[:13] and strict[13] == AUDIO0 + 2 and strict[14] == AUDIO0 + 2
    # Unstructured: the model's own order.
    assert run(structured=False)[:21] == words + [AUDIO0 + 1]


def test_sampling_is_seeded(fmt):
    model = markov_lm(len(fmt.tokenizer), {}, default={})
    settings = GenerationSettings(max_new_tokens=20, do_sample=True, temperature=1.0, top_p=1.0, seed=3)
    first = generate_reply(model, fmt.vocab, prompt(fmt), settings)[0]
    assert first == generate_reply(model, fmt.vocab, prompt(fmt), settings)[0]
    # Another scene draws from its own stream (one seed for every prompt made the replies start alike).
    from audiorole.models.lm.generate import reply_seed

    other = fmt.prompt("be brief", [])[:-1] + [W["w1"], fmt.prompt("be brief", [])[-1]]
    assert reply_seed(3, prompt(fmt)) != reply_seed(3, other) and reply_seed(3, other) == reply_seed(3, list(other))
    assert reply_seed(3, prompt(fmt)) != reply_seed(4, prompt(fmt))
    assert all(fmt.vocab.is_text(i) or fmt.vocab.is_audio(i) or i in fmt.vocab.stop for i in first)


def test_sampling_leaves_the_callers_random_stream_alone(fmt):
    """A validation preview that samples must not reset the training RNG to the generation seed."""
    model = markov_lm(len(fmt.tokenizer), {}, default={})
    settings = GenerationSettings(max_new_tokens=5, do_sample=True, temperature=1.0, top_p=1.0, seed=3)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    generate_reply(model, fmt.vocab, prompt(fmt), settings)
    assert torch.equal(torch.rand(3), expected)


def test_repetition_penalty_acts_on_the_replys_text_only(fmt):
    """The model loops w0 -> w1 -> w0 ...; with a penalty it moves on to w2 (its second choice), while a
    speech code repeating itself (a held vowel) is left alone, and a word of the prompt is not penalised."""
    w0, w1, w2 = W["w0"], W["w1"], W["w2"]
    chain = {W["streaming_transcription"]: {w0: 5.0}, w0: {w1: 5.0, w2: 4.0}, w1: {w0: 5.0, w2: 4.0},
             w2: {USR: 5.0}}
    model = markov_lm(len(fmt.tokenizer), chain, default={})
    looping = generate_reply(model, fmt.vocab, prompt(fmt), GenerationSettings(max_new_tokens=6))[0]
    assert looping[:4] == [w0, w1, w0, w1]
    penalised = GenerationSettings(max_new_tokens=6, repetition_penalty=2.0)
    assert generate_reply(model, fmt.vocab, prompt(fmt), penalised)[0][:4] == [w0, w1, w2, USR]

    speech = {W["streaming_transcription"]: {AUDIO0 + 1: 5.0}, AUDIO0 + 1: {AUDIO0 + 1: 5.0, AUDIO0 + 2: 4.0}}
    model = markov_lm(len(fmt.tokenizer), speech, default={})
    held = GenerationSettings(max_new_tokens=5, structured=False, repetition_penalty=2.0)
    assert generate_reply(model, fmt.vocab, prompt(fmt), held)[0] == [AUDIO0 + 1] * 5

    brief = {W["streaming_transcription"]: {W["brief"]: 5.0, w2: 4.0}, W["brief"]: {USR: 5.0}}  # "brief" is in the prompt
    model = markov_lm(len(fmt.tokenizer), brief, default={})
    assert generate_reply(model, fmt.vocab, prompt(fmt), penalised)[0] == [W["brief"], USR]


def test_speak_decodes_codes_with_a_decoder_and_is_empty_without_one():
    from flow_fakes import tiny_flow

    decoder = tiny_flow(vocab_size=4).eval()
    wave = speak(np.array([1, 2, 3, 1, 2, 3]), decoder, n_steps=2)
    assert wave.dtype == np.float32 and len(wave) > 0.4 * decoder.sample_rate
    assert speak(np.array([1, 2]), None).shape == (0,)
    assert speak(np.zeros(0, dtype=np.int64), decoder).shape == (0,)


def test_a_reply_may_not_stop_before_its_speech_can_say_its_words(fmt):
    """The model stops two codes after three words; asked for 2 codes per text token it speaks six first."""
    chain = {**text_chain(3), W["w2"]: {AUDIO0 + 1: 5.0}, AUDIO0 + 1: {AUDIO0 + 2: 5.0},
             AUDIO0 + 2: {USR: 5.0, AUDIO0 + 1: 1.0}}
    model = markov_lm(len(fmt.tokenizer), chain, default={})
    quick = generate_reply(model, fmt.vocab, prompt(fmt), GREEDY)[1]
    assert len(quick.text_ids) == 3 and len(quick.codes) == 2 and quick.stopped
    patient = generate_reply(model, fmt.vocab, prompt(fmt), dataclasses.replace(GREEDY, min_audio_per_text=2.0))[1]
    assert len(patient.text_ids) == 3 and len(patient.codes) == 6 and patient.stopped
