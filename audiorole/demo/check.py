"""Sanity report for a generated series folder.

    python -m audiorole.demo.check audiorole/demo/series

Prints per-episode duration, speech seconds per speaker, overlap count, and
how separable the enrollment voices are for a speaker-embedding model
(resemblyzer, if installed): same-character cosine should be clearly above
cross-character cosine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np


def episode_seconds(path: Path) -> float:
    """Duration as the decoder sees it (ffprobe reads every container we write)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )
    return float(out.stdout.strip())


def speech_summary(series: Path) -> dict:
    per_speaker: dict[str, float] = defaultdict(float)
    episodes = {}
    for script in sorted((series / "truth").glob("*.script.jsonl")):
        utts = [json.loads(line) for line in script.read_text().splitlines() if line.strip()]
        for u in utts:
            per_speaker[u["speaker"]] += u["end"] - u["start"]
        # Overlapping turns come in flagged pairs; count the early starters.
        overlaps = sum(
            1 for a, b in zip(utts, utts[1:]) if b["overlap"] and a["overlap"] and b["start"] < a["end"]
        )
        stem = script.name.removesuffix(".script.jsonl")
        audio = next((series / "episodes").glob(f"{stem}.*"))
        episodes[audio.name] = {
            "seconds": round(episode_seconds(audio), 1),
            "turns": len(utts),
            "scenes": len({u["scene"] for u in utts}),
            "overlaps": overlaps,
        }
    return {"episodes": episodes, "speech_seconds": {k: round(v, 1) for k, v in sorted(per_speaker.items())}}


def voice_separability(series: Path) -> dict | None:
    """Mean cosine of enrollment embeddings, same vs different character."""
    try:
        from resemblyzer import VoiceEncoder, preprocess_wav
    except ImportError:
        return None
    encoder = VoiceEncoder("cpu", verbose=False)
    embeddings = {
        folder.name: [encoder.embed_utterance(preprocess_wav(f)) for f in sorted(folder.glob("*.flac"))]
        for folder in sorted((series / "characters").iterdir())
        if folder.is_dir()
    }
    same, cross = [], []
    for a, b in itertools.combinations_with_replacement(sorted(embeddings), 2):
        for i, ea in enumerate(embeddings[a]):
            for j, eb in enumerate(embeddings[b]):
                if a == b and j <= i:
                    continue
                (same if a == b else cross).append(float(np.dot(ea, eb)))
    return {"same_character": round(float(np.mean(same)), 3), "cross_character": round(float(np.mean(cross)), 3)}


def report(series: Path) -> dict:
    summary = speech_summary(series)
    summary["total_episode_seconds"] = round(sum(e["seconds"] for e in summary["episodes"].values()), 1)
    summary["voice_cosine"] = voice_separability(series)
    print(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", type=Path)
    report(parser.parse_args().series)


if __name__ == "__main__":
    main()
