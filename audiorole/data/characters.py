"""The character registry of a series: ``characters.yaml`` plus enrollment clips.

Format (see docs/your_series.md)::

    series: Harbor Lights          # display title
    language: en
    characters:
      mara:                        # the name used everywhere (character=mara)
        display_name: Captain Mara Quill
        subtitle_names: [MARA, CAPTAIN]
        persona: Mara is a terse harbor captain ...

Enrollment clips live in ``characters/<name>/*.wav|flac``.
"""

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from audiorole.errors import SeriesError

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"})
TOP_FIELDS = ("series", "language", "characters")
CHARACTER_FIELDS = ("display_name", "subtitle_names", "persona")


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

    def speaker_aliases(self) -> dict[str, str]:
        """Speaker name as subtitles write it (upper case) -> character. A character's own name
        counts even when ``subtitle_names`` omits it; the listed names win any clash."""
        aliases = {name.upper(): name for name in self.characters}
        aliases.update({alias: name for name, c in self.characters.items() for alias in c.subtitle_names})
        return aliases

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


def _check_fields(fields: dict, known: tuple[str, ...], path: Path, where: str) -> None:
    """A misspelled field would be ignored and silently cost replies: refuse it, suggesting the closest."""
    for key in fields:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"valid fields: {', '.join(known)}"
            raise SeriesError(f"{path}: unknown field '{where}{key}'; {hint}")


def load_registry(path: Path, clips_dir: Path) -> Registry:
    """Read ``characters.yaml`` and attach each character's enrollment clips."""
    if not path.is_file():
        raise SeriesError(f"{path} is missing; write the character registry there (format in docs/your_series.md)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SeriesError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}); fix the file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SeriesError(f"{path}: cannot read the character registry ({reason}); fix its permissions or save it as UTF-8") from exc
    if isinstance(doc, dict):
        _check_fields(doc, TOP_FIELDS, path, "")
    entries = doc.get("characters") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise SeriesError(f"{path}: needs a non-empty 'characters:' mapping of name -> fields")
    characters = {}
    for name, fields in entries.items():
        fields = fields or {}
        if not isinstance(fields, dict):
            raise SeriesError(f"{path}: characters.{name} must be a mapping of fields")
        _check_fields(fields, CHARACTER_FIELDS, path, f"characters.{name}.")
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
