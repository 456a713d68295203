"""Word error rate after one documented normalisation, for tests and the pipeline's transcript check.

``normalize_text`` (applied to reference and hypothesis alike):
1. Unicode NFKC; curly quotes become straight ones; lowercase.
2. Numbers are written out as words, the way a subtitle would say them
   ("42" -> "forty two", "3.5" -> "three point five", "1,000" -> "one thousand",
   "2nd" -> "second", "50%" -> "fifty percent"), so "7" and "seven" agree.
3. Punctuation and symbols are removed, hyphens and slashes become spaces; an
   apostrophe inside a word is kept ("don't" stays one word).
4. Whitespace is collapsed.

An empty (normalised) reference scores 0.0 against an empty hypothesis and 1.0
against anything else, where jiwer itself would raise.
"""

import re
import unicodedata

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def number_words(n: int) -> str:
    """English cardinal for a non-negative integer ("twenty one", "one hundred five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    for value, name in _SCALES:
        if n >= value:
            rest = n % value
            return number_words(n // value) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    last = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head} {last}".strip()


def _spell(match: re.Match) -> str:
    whole, frac, suffix = match.group(1).replace(",", ""), match.group(2), (match.group(3) or "").lower()
    if len(whole) > 15:  # an ID or a phone number: spell it digit by digit
        return " ".join(_ONES[int(d)] for d in whole)
    words = number_words(int(whole))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    if suffix in ("st", "nd", "rd", "th") and not frac:
        words = _ordinal(words)
    elif suffix == "%":
        words += " percent"
    return f" {words} "


_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th|%)?", re.IGNORECASE)


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").replace("’", "'").replace("‘", "'").lower()
    text = _NUMBER.sub(_spell, text)
    out = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch == "'":
            keep = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            out.append("'" if keep else " ")
        elif cat[0] in "PSZC":  # punctuation, symbols, separators, controls
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) after normalisation."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return (len(hyp.split()), 0)
    import jiwer

    out = jiwer.process_words(ref, hyp if hyp else "")
    return out.substitutions + out.deletions + out.insertions, len(ref.split())


def char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters) after the same normalisation; spaces count as characters."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return (len(hyp), 0)
    import jiwer

    out = jiwer.process_characters(ref, hyp if hyp else "")
    return out.substitutions + out.deletions + out.insertions, len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """CER of one pair (an empty reference: 0.0 against nothing, else 1.0)."""
    errors, chars = char_errors(reference, hypothesis)
    if chars == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / chars


def wer(reference: str | list[str], hypothesis: str | list[str]) -> float:
    """WER of one pair, or corpus WER (errors summed over reference words summed) of two lists."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    hyps = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
    if len(refs) != len(hyps):
        raise ValueError(f"wer: {len(refs)} references but {len(hyps)} hypotheses")
    errors = words = 0
    for r, h in zip(refs, hyps):
        e, n = word_errors(r, h)
        errors, words = errors + e, words + n
    if words == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / words
