"""A series folder: the input format users provide for their own show.

    <series_dir>/
      episodes/            any container FFmpeg reads (mkv, mp4, wav, flac, mp3, ogg, ...)
      subtitles/<ep>.srt   optional, one per episode, same stem as the episode
      characters/<name>/   enrollment clips (wav/flac) per character
      characters.yaml      the character registry (audiorole.data.characters)

Loading checks the layout. Problems that stop everything (no episodes folder,
no registry) raise ``SeriesError``; problems with single files are collected in
``problems`` so a batch job can record them and go on with the rest.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from audiorole.data.characters import Registry, load_registry
from audiorole.data.subtitles import read_srt
from audiorole.errors import SeriesError

MEDIA_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".mka", ".mkv", ".mp4", ".mov", ".avi", ".webm", ".ts"}
)


@dataclass(frozen=True)
class Episode:
    id: str  # file stem with whitespace as "_" (RTTM and reply ids are space-separated), unique within the series
    audio: Path
    subtitles: Path | None


@dataclass(frozen=True)
class Problem:
    file: Path
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class SeriesFolder:
    root: Path
    registry: Registry
    episodes: list[Episode]
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def load(cls, root: str | Path) -> "SeriesFolder":
        root = Path(root).expanduser()
        episodes_dir = root / "episodes"
        if not episodes_dir.is_dir():
            raise SeriesError(
                f"series folder not found: {episodes_dir} does not exist; put the episodes there "
                f"(layout in docs/your_series.md) or point data.series_dir=DIR at your series"
            )
        registry = load_registry(root / "characters.yaml", root / "characters")
        problems: list[Problem] = []
        episodes = _find_episodes(root, problems)
        if not episodes:
            raise SeriesError(f"no episodes in {episodes_dir}; add audio or video files (any format FFmpeg reads)")
        _check_characters(root, registry, problems)
        return cls(root, registry, episodes, problems)

    @property
    def title(self) -> str:
        return self.registry.title


def _find_episodes(root: Path, problems: list[Problem]) -> list[Episode]:
    subtitles_dir = root / "subtitles"
    episodes, seen = [], {}
    for path in sorted((root / "episodes").iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in MEDIA_SUFFIXES:
            problems.append(Problem(path, f"not a media file ({path.suffix or 'no extension'}); remove it or convert it with ffmpeg"))
            continue
        episode_id = episode_id_of(path)
        if episode_id in seen:
            problems.append(Problem(path, f"same name as {seen[episode_id].name}; episode names (without extension, spaces as '_') must be unique"))
            continue
        seen[episode_id] = path
        srt = subtitles_dir / f"{path.stem}.srt"
        episodes.append(Episode(episode_id, path, _usable_subtitles(srt, problems)))
    stems = {p.stem for p in seen.values()}
    if subtitles_dir.is_dir():
        for srt in sorted(subtitles_dir.glob("*.srt")):
            if srt.stem not in stems:
                problems.append(Problem(srt, f"no episode named '{srt.stem}' in {root / 'episodes'}; rename it to match an episode"))
    return episodes


def episode_id_of(path: Path) -> str:
    return re.sub(r"\s+", "_", path.stem.strip())


def _usable_subtitles(srt: Path, problems: list[Problem]) -> Path | None:
    """The SRT if it parses; a malformed one is recorded and the episode runs without subtitles."""
    if not srt.is_file():
        return None
    try:
        read_srt(srt)
    except SeriesError as exc:
        problems.append(Problem(srt, str(exc).removeprefix(f"{srt}: ")))
        return None
    return srt


def _check_characters(root: Path, registry: Registry, problems: list[Problem]) -> None:
    clips_dir = root / "characters"
    if clips_dir.is_dir():
        for folder in sorted(p for p in clips_dir.iterdir() if p.is_dir()):
            if folder.name not in registry.characters:
                problems.append(Problem(folder, f"enrollment clips for '{folder.name}', who is not in characters.yaml; add the character or remove the folder"))
    for character in registry.characters.values():
        if not character.enrollment and not character.subtitle_names:
            problems.append(Problem(
                clips_dir / character.name,
                "no enrollment clips and no subtitle_names: this character cannot be recognised; add clips or subtitle names",
            ))


def unreadable_enrollment(series: SeriesFolder) -> list[Problem]:
    """Enrollment clips that do not decode: each is left out of its character's voiceprint."""
    from audiorole.audio.decode import AudioError, load_audio

    problems = []
    for character in series.registry.characters.values():
        for clip in character.enrollment:
            try:
                load_audio(clip)
            except AudioError as exc:
                problems.append(Problem(clip, str(exc).removeprefix(f"{clip}: ") + f"; left out of {character.name}'s voiceprint"))
    return problems
