"""Writers for the series-folder files: audio, SRT, RTTM, script JSONL, registry."""

from __future__ import annotations

import json
import subprocess
import tempfile
import textwrap
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from .cast import CAST, EVERYONE, LANGUAGE, SERIES_TITLE
from .mixer import Utterance

# Container settings per episode file suffix. The two kinds exercise
# different decoders; bitrates are chosen so speech stays clean.
ENCODINGS = {
    ".mp3": ["-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "48k"],
    ".ogg": ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k"],
}


def encode_audio(audio: np.ndarray, sr: int, path: Path) -> None:
    """Encode via ffmpeg; bitexact flags keep files stable across runs."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mix.wav"
        sf.write(wav, audio, sr, subtype="FLOAT")
        cmd = [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav),
            *ENCODINGS[path.suffix], "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", str(path),
        ]
        subprocess.run(cmd, check=True)


def write_flac16k(audio: np.ndarray, path: Path) -> None:
    sf.write(path, audio, 16000, subtype="PCM_16", format="FLAC")


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def write_srt(utts: list[Utterance], path: Path, with_names: bool, people: dict = EVERYONE) -> None:
    """One cue per utterance at its true time; text wrapped like broadcast subs."""
    cues = []
    for k, u in enumerate(sorted(utts, key=lambda u: u.start), start=1):
        text = f"{people[u.speaker].subtitle_names[0]}: {u.text}" if with_names else u.text
        body = "\n".join(textwrap.wrap(text, width=42))
        cues.append(f"{k}\n{_srt_time(u.start)} --> {_srt_time(u.end)}\n{body}\n")
    path.write_text("\n".join(cues), encoding="utf-8")


def write_rttm(utts: list[Utterance], path: Path, file_id: str) -> None:
    lines = [
        f"SPEAKER {file_id} 1 {u.start:.3f} {u.end - u.start:.3f} <NA> <NA> {u.speaker} <NA> <NA>"
        for u in sorted(utts, key=lambda u: u.start)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_script(utts: list[Utterance], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for u in utts:
            f.write(json.dumps(asdict(u), ensure_ascii=False) + "\n")


def write_registry(path: Path, cast=CAST, title: str = SERIES_TITLE) -> None:
    registry = {
        "series": title,
        "language": LANGUAGE,
        "characters": {
            c.slug: {
                "display_name": c.display_name,
                "subtitle_names": list(c.subtitle_names),
                "persona": c.persona,
            }
            for c in cast
        },
    }
    header = "# Character registry of the demo series (written by audiorole.demo.make_demo).\n"
    path.write_text(header + yaml.safe_dump(registry, sort_keys=False, width=100), encoding="utf-8")
