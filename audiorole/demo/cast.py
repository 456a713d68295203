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
    style: str = ""  # whose line writer (script_writer.LINE_WRITERS) speaks for them; "" = their own slug

    @property
    def writer(self) -> str:
        return self.style or self.slug


# Three natural Kokoro-82M voices that differ in sex, accent and pace
# (kokoro.py); the voices of the base-decoder corpus (base_corpus.py) are
# kept apart from these.
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
        voice={"engine": "kokoro", "voice": "bf_emma", "speed": 1.0},
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
        voice={"engine": "kokoro", "voice": "bm_george", "speed": 0.92},
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
        voice={"engine": "kokoro", "voice": "af_heart", "speed": 1.1},
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
        voice={"engine": "kokoro", "voice": "am_puck", "speed": 1.0},
        pan=0.4,
        is_cast=False,
    ),
)

EVERYONE: dict[str, Character] = {c.slug: c for c in CAST + EXTRAS}
