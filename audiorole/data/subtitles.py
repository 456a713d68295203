"""Subtitles: SRT cues with an optional speaker name in front of the text.

TV subtitles often name the speaker (``MARA: Cast off.``, ``[MARA] Cast off.``,
``- MARA: Cast off.``). A name is only recognised when it is written in capitals,
so ordinary text such as ``Note: ...`` is not mistaken for a speaker.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import srt

from audiorole.errors import SeriesError

_NAME = r"[A-Z][A-Z0-9 .'\-]{0,30}[A-Z0-9.]|[A-Z]"
_PREFIX = re.compile(rf"^\s*-?\s*(?:\[(?P<b>{_NAME})\]|(?P<c>{_NAME}):)\s+(?P<text>.+)$", re.DOTALL)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    speaker: str | None  # as written in the subtitle (upper case), if named


def split_speaker(text: str) -> tuple[str | None, str]:
    """``'MARA: Cast off.'`` -> ``('MARA', 'Cast off.')``; unnamed text -> ``(None, text)``."""
    flat = " ".join(text.split())
    match = _PREFIX.match(flat)
    if not match:
        return None, flat
    name = (match.group("b") or match.group("c")).strip()
    return name, match.group("text").strip()


def read_srt(path: Path) -> list[Cue]:
    """Parse an SRT file into cues sorted by start time; malformed files raise ``SeriesError``."""
    try:
        raw = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raw = Path(path).read_bytes().decode("latin-1")
    except OSError as exc:
        raise SeriesError(f"{path}: cannot read subtitles ({exc.strerror}); fix the file or remove it") from exc
    try:
        subs = list(srt.parse(raw))
    except (srt.SRTParseError, ValueError) as exc:
        raise SeriesError(f"{path}: malformed SRT ({str(exc).splitlines()[0]}); fix it or remove it to run without subtitles") from exc
    if raw.strip() and not subs:
        raise SeriesError(f"{path}: no SRT cues found; fix it or remove it to run without subtitles")
    cues = []
    for sub in subs:
        speaker, text = split_speaker(sub.content)
        if text:
            cues.append(Cue(sub.start.total_seconds(), sub.end.total_seconds(), text, speaker))
    return sorted(cues, key=lambda c: (c.start, c.end))
