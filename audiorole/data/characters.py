"""The character registry of a series: ``characters.yaml`` plus enrollment clips.

Format (see README, "Your own series")::

    series: Harbor Lights          # display title
    language: en
    characters:
      mara:                        # the name used everywhere (character=mara)
        display_name: Captain Mara Quill
        subtitle_names: [MARA, CAPTAIN]
        persona: Mara is a terse harbor captain ...

Enrollment clips live in ``characters/<name>/*.wav|flac``.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from audiorole.errors import SeriesError

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"})


@dataclass(frozen=True)
class Character:
    name: str
    display_name: str
    subtitle_names: tuple[str, ...] = ()
    persona: str = ""
    enrollment: tuple[Path, ...] = field(default=())


@dataclass(frozen=True)
class Registry:
    title: str
    language: str
    characters: dict[str, Character]

    def get(self, name: str, source: Path) -> Character:
        if name not in self.characters:
            known = ", ".join(sorted(self.characters)) or "none"
            raise SeriesError(f"unknown character '{name}' in {source} (known: {known}); pick one of them or add it there")
        return self.characters[name]


def _as_names(value, path: Path, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeriesError(f"{path}: characters.{name}.subtitle_names must be a list of names")
    return tuple(v.strip().upper() for v in value)


def load_registry(path: Path, clips_dir: Path) -> Registry:
    """Read ``characters.yaml`` and attach each character's enrollment clips."""
    if not path.is_file():
        raise SeriesError(f"{path} is missing; write the character registry there (format in README, 'Your own series')")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SeriesError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}); fix the file") from exc
    entries = doc.get("characters") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise SeriesError(f"{path}: needs a non-empty 'characters:' mapping of name -> fields")
    characters = {}
    for name, fields in entries.items():
        fields = fields or {}
        if not isinstance(fields, dict):
            raise SeriesError(f"{path}: characters.{name} must be a mapping of fields")
        clip_dir = clips_dir / str(name)
        clips = tuple(sorted(p for p in clip_dir.glob("*") if p.suffix.lower() in AUDIO_SUFFIXES)) if clip_dir.is_dir() else ()
        characters[str(name)] = Character(
            name=str(name),
            display_name=str(fields.get("display_name", name)),
            subtitle_names=_as_names(fields.get("subtitle_names"), path, name),
            persona=str(fields.get("persona", "")),
            enrollment=clips,
        )
    return Registry(str(doc.get("series", path.parent.name)), str(doc.get("language", "en")), characters)
