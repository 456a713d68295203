"""Who is in "Harbor Lights": names, personas, voices.

One table keeps the registry (characters.yaml), the script writer and the
voice assignment in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

SERIES_TITLE = "Harbor Lights"
LANGUAGE = "en"


@dataclass(frozen=True)
class Character:
    slug: str  # lowercase id used in truth files and folder names
    display_name: str
    subtitle_names: tuple[str, ...]  # first one is what ep01's SRT prints
    persona: str
    voice: dict  # backend spec, see voices.make_voice
    pan: float = 0.0  # -1 left .. +1 right, only audible in stereo episodes
    is_cast: bool = True  # extras are not in the registry
    gain_db: float = 0.0  # small per-voice loudness offset, like real mics


# Three voices from three different synthesis engines (formant, statistical
# parametric, neural) so a speaker-embedding model can tell them apart.
CAST: tuple[Character, ...] = (
    Character(
        slug="mara",
        display_name="Captain Mara Quill",
        subtitle_names=("MARA", "CAPTAIN"),
        persona=(
            "Mara is a terse harbor captain who speaks in clipped orders and "
            "short declaratives full of nautical terms; she never hedges and "
            "rarely uses more words than needed."
        ),
        voice={"engine": "flite", "voice": "slt", "rate": 1.0},
        pan=-0.3,
    ),
    Character(
        slug="otis",
        display_name="Professor Otis Fairweather",
        subtitle_names=("OTIS", "PROFESSOR"),
        persona=(
            "Otis is a verbose retired professor who talks in long sentences "
            "with nested subordinate clauses, polite hedges and scholarly "
            "asides about the harbor's history."
        ),
        voice={"engine": "piper", "model": "joe", "length_scale": 1.05},
        pan=0.25,
    ),
    Character(
        slug="june",
        display_name="June Pike",
        subtitle_names=("JUNE",),
        persona=(
            "June is a cheerful teenager who speaks in quick bursts of "
            "exclamations and casual slang, always eager for the next "
            "adventure."
        ),
        voice={"engine": "espeak", "voice": "en-us+f4", "pitch": 78, "speed": 172},
        pan=0.05,
        gain_db=-1.0,
    ),
)

# Non-cast voices: they speak in the episodes but are not in characters.yaml,
# so attribution should call them "unknown".
EXTRAS: tuple[Character, ...] = (
    Character(
        slug="extra_dockhand",
        display_name="Dockhand",
        subtitle_names=("DOCKHAND",),
        persona="",
        voice={"engine": "espeak", "voice": "en-gb-scotland+m3", "pitch": 32, "speed": 150},
        pan=0.4,
        is_cast=False,
    ),
)

EVERYONE: dict[str, Character] = {c.slug: c for c in CAST + EXTRAS}
