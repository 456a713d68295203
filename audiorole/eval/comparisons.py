"""The comparisons a results table is read for, each with a paired bootstrap interval of the difference.

"Is the trained decoder better than the untrained one / the base decoder / another character's
decoder?" is a question about the same items scored twice, so each answer is the mean per-item
difference ``a - b`` over the items both systems were scored on, with a 95 % paired percentile
bootstrap interval (``audiorole.eval.uncertainty.paired_difference``). An interval above 0 says
``a`` scored higher on these items; for WER/CER lower is better, so there ``a`` wins below 0.

Pairs come from config as ``[a, b]`` system names; ``b`` may be a glob (``decoder:*`` matches every
other-character decoder). Pairs naming systems that were not run are skipped.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from audiorole.eval.result import is_metric_key
from audiorole.eval.uncertainty import paired_difference

ALL = "all"


def expand_pairs(pairs, systems: list[str]) -> list[tuple[str, str]]:
    """``[[a, b-glob], ...]`` -> the ``(a, b)`` pairs of systems present, in order, without repeats."""
    out: list[tuple[str, str]] = []
    for pair in pairs or ():
        a, pattern = (str(p) for p in pair)
        if a not in systems:
            continue
        for b in systems:
            if b != a and fnmatchcase(b, pattern) and (a, b) not in out:
                out.append((a, b))
    return out


def _scores_by_id(rows: list[dict], key: str) -> dict[str, float]:
    return {r["id"]: float(r[key]) for r in rows if key in r}


def compare(per_item: list[dict], a: str, b: str, character: str = ALL) -> list[dict]:
    """One row per metric key: ``a`` vs ``b`` on the items both answered (of ``character``, or all)."""
    rows = [r for r in per_item if character == ALL or r["character"] == character]
    rows_a = [r for r in rows if r["system"] == a]
    rows_b = [r for r in rows if r["system"] == b]
    keys = [k for k in (rows_a[0] if rows_a else {}) if is_metric_key(k) and rows_b and k in rows_b[0]]
    out = []
    for key in keys:
        sa, sb = _scores_by_id(rows_a, key), _scores_by_id(rows_b, key)
        ids = [i for i in sa if i in sb]
        diff = paired_difference([sa[i] for i in ids], [sb[i] for i in ids])
        out.append({"a": a, "b": b, "character": character, "metric": key, **diff})
    return out


def comparisons(report_systems: list[dict], pairs, characters: list[str]) -> list[dict]:
    """Every configured pair over all items, and per character when there are several."""
    names = [s["name"] for s in report_systems]
    per_item = [row for s in report_systems for row in s["per_item"]]
    scopes = [ALL] + (list(characters) if len(characters) > 1 else [])
    return [row for a, b in expand_pairs(pairs, names) for c in scopes for row in compare(per_item, a, b, c)]
