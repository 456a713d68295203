"""Casts for generated series: who speaks, with which voice, drawn from a voice pool.

A voice set is a cast (characters in the registry) plus extras (heard, not in
the registry), each with a voice the generator can make offline:

- ``demo``: the demo's own cast and extra (``cast.py``);
- ``kokoro``: Kokoro-82M voices from ``pool``; ``blends`` of them are new
  voices mixed from two pool voices of the same sex (``kokoro.blend_parts``);
- ``espeak``: espeak-ng voices (``language+variant`` from ``pool``) with their own
  pitch and rate: robotic, and unlike each other in other ways than Kokoro's.

Each character speaks in one of the demo's line styles (``script_writer``), so
a cast of ten is ten voices over three ways of talking, as a writer would cast it.
"""

from __future__ import annotations

import random

from .cast import CAST, EXTRAS, Character

ENGINES = ("demo", "kokoro", "espeak")
STYLES = ("mara", "otis", "june")
EXTRA_STYLE = "extra_dockhand"
_PERSONAS = {
    "mara": "speaks in clipped orders and short declaratives full of nautical terms",
    "otis": "talks in long sentences with nested clauses, polite hedges and scholarly asides",
    "june": "speaks in quick bursts of exclamations and casual slang",
}


def make_cast(spec: dict, rng: random.Random, names: list[str]) -> tuple[tuple[Character, ...], tuple[Character, ...]]:
    """(cast, extras) for a voice-set ``spec``: ``engine``, ``pool`` (voices), ``cast``, ``extras``, ``blends``."""
    engine = spec["engine"]
    if engine not in ENGINES:
        raise ValueError(f"voice set engine '{engine}' unknown; use one of {', '.join(ENGINES)}")
    if engine == "demo":
        return CAST, EXTRAS
    n_cast, n_extras = int(spec["cast"]), int(spec.get("extras", 1))
    if len(names) < n_cast + n_extras:
        raise ValueError(f"{n_cast + n_extras} speakers need as many names, got {len(names)}")
    voices = _kokoro_voices(spec, rng, n_cast + n_extras) if engine == "kokoro" else _espeak_voices(spec, rng, n_cast + n_extras)
    styles = [STYLES[i % len(STYLES)] for i in range(n_cast)]
    rng.shuffle(styles)
    names = rng.sample(names, n_cast + n_extras)
    people = []
    for i, (name, voice) in enumerate(zip(names, voices)):
        extra = i >= n_cast
        slug = f"extra_{name.lower()}" if extra else name.lower()
        style = EXTRA_STYLE if extra else styles[i]
        people.append(Character(
            slug=slug, display_name=name, subtitle_names=(name.upper(),),
            persona="" if extra else f"{name} {_PERSONAS[style]}.", voice=voice,
            pan=round(rng.uniform(-0.4, 0.4), 2), is_cast=not extra, gain_db=round(rng.uniform(-1.5, 1.0), 1),
            style=style,
        ))
    return tuple(people[:n_cast]), tuple(people[n_cast:])


def _kokoro_voices(spec: dict, rng: random.Random, n: int) -> list[dict]:
    pool = list(spec["pool"])
    n_blends = int(spec.get("blends", 0))
    if n - n_blends > len(pool):
        raise ValueError(f"{n - n_blends} plain Kokoro voices wanted from a pool of {len(pool)}")
    plain = rng.sample(pool, n - n_blends)
    rest = [v for v in pool if v not in plain] or pool  # blends from voices nobody else speaks with, where possible
    voices = [{"engine": "kokoro", "voice": v} for v in plain]
    for _ in range(n_blends):
        a = rng.choice(rest)
        same_sex = [v for v in rest if v != a and v[1] == a[1]] or [v for v in pool if v != a and v[1] == a[1]]
        b = rng.choice(same_sex)
        w = round(rng.uniform(0.35, 0.65), 2)
        voices.append({"engine": "kokoro", "voice": f"{a}:{w}+{b}:{round(1 - w, 2)}"})
    rng.shuffle(voices)
    for v in voices:
        v["speed"] = round(rng.uniform(0.9, 1.1), 2)
    return voices


def _espeak_voices(spec: dict, rng: random.Random, n: int) -> list[dict]:
    pool = list(spec["pool"])
    if n > len(pool):
        raise ValueError(f"{n} espeak-ng voices wanted from a pool of {len(pool)}")
    return [{"engine": "espeak", "voice": v, "pitch": rng.randint(30, 70), "speed": rng.randint(150, 185)}
            for v in rng.sample(pool, n)]
