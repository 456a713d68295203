"""The 13 text : 26 audio reply pattern, checked by hand, and the grammar generation enforces."""

import random

import pytest

from audiorole.text.interleave import AUDIO, STOP, TEXT, ReplyGrammar, interleave

T = lambda n: list(range(n))                      # noqa: E731  text ids 0..n-1
A = lambda n: list(range(1000, 1000 + n))         # noqa: E731  audio ids 1000..


def test_blocks_of_13_and_26_then_the_rest_of_the_audio():
    assert interleave(T(30), A(60)) == T(13) + A(26) + list(range(13, 26)) + list(range(1026, 1052)) \
        + list(range(26, 30)) + list(range(1052, 1060))


def test_when_audio_runs_out_the_rest_is_text():
    assert interleave(T(40), A(10)) == T(13) + A(10) + list(range(13, 40))


def test_text_ending_on_a_block_boundary_continues_with_all_audio():
    assert interleave(T(26), A(60)) == T(13) + A(26) + list(range(13, 26)) + list(range(1026, 1060))


def test_one_stream_empty():
    assert interleave([], A(30)) == A(30)
    assert interleave(T(20), []) == T(20)
    assert interleave([], []) == []


def _kinds(ids):
    return [TEXT if i < 1000 else AUDIO for i in ids]


def _accepts(kinds, blocks=(13, 26)) -> bool:
    grammar = ReplyGrammar(*blocks)
    try:
        for kind in kinds:
            grammar.step(kind)
        grammar.step(STOP)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("n_text, n_audio", [(0, 0), (5, 0), (0, 7), (13, 26), (14, 3), (30, 60), (40, 10), (26, 52)])
def test_grammar_accepts_every_interleaved_reply(n_text, n_audio):
    assert _accepts(_kinds(interleave(T(n_text), A(n_audio))))


def test_grammar_rejects_what_interleave_never_produces():
    assert not _accepts([TEXT] * 5 + [AUDIO] * 3 + [TEXT])        # text resumed after a short text block
    assert not _accepts([TEXT] * 13 + [AUDIO] * 5 + [TEXT] + [AUDIO])  # audio resumed after a short audio block
    assert not _accepts([TEXT] * 14 + [AUDIO])                      # 14 text tokens: audio had ended


def test_grammar_walks_are_exactly_interleavings():
    rng = random.Random(0)
    for _ in range(500):
        grammar, kinds = ReplyGrammar(3, 5), []
        while len(kinds) < 60:
            kind = rng.choice(sorted(grammar.allowed()))
            if kind == STOP:
                break
            grammar.step(kind)
            kinds.append(kind)
        text = [i for i, k in enumerate(kinds) if k == TEXT]
        audio = [1000 + i for i, k in enumerate(kinds) if k == AUDIO]
        assert _kinds(interleave(text, audio, 3, 5)) == kinds


def test_text_leads_and_audio_follows_a_full_text_block_when_asked():
    grammar = ReplyGrammar(text_leads=True)
    assert grammar.allowed() == {TEXT, STOP}
    for _ in range(13):
        grammar.step(TEXT)
    assert grammar.allowed() == {AUDIO, STOP}
    for _ in range(25):
        grammar.step(AUDIO)
        assert grammar.allowed() == {AUDIO, STOP}   # the audio block fills before text resumes
    grammar.step(AUDIO)
    assert grammar.allowed() == {TEXT, AUDIO, STOP}
    # and it only narrows the choice: every walk is still an interleaving
    rng = random.Random(1)
    for _ in range(300):
        grammar, kinds = ReplyGrammar(3, 5, text_leads=True), []
        while len(kinds) < 40 and (kind := rng.choice(sorted(grammar.allowed()))) != STOP:
            grammar.step(kind)
            kinds.append(kind)
        assert _accepts(kinds, (3, 5))


def test_with_text_resumes_a_full_text_block_is_continued_after_its_audio():
    grammar = ReplyGrammar(3, 5, text_leads=True, text_resumes=True)
    for kind in [TEXT] * 3 + [AUDIO] * 5:
        grammar.step(kind)
    assert grammar.allowed() == {TEXT, STOP}           # not more speech: the text had not ended
    for kind in [TEXT] * 2 + [AUDIO]:                  # a short text block ends the text ...
        grammar.step(kind)
    for _ in range(12):
        assert grammar.allowed() == {AUDIO, STOP}      # ... and the speech runs on to the end
        grammar.step(AUDIO)
    # Every walk is an interleaving whose text ended with a short block (or a stop).
    rng = random.Random(2)
    for _ in range(300):
        grammar, kinds = ReplyGrammar(3, 5, text_leads=True, text_resumes=True), []
        while len(kinds) < 40 and (kind := rng.choice(sorted(grammar.allowed()))) != STOP:
            grammar.step(kind)
            kinds.append(kind)
        assert _accepts(kinds, (3, 5))
        walk = "".join("t" if k == TEXT else "a" for k in kinds)
        assert "ttt" + "a" * 6 not in walk  # speech never outruns its block after a full text block
