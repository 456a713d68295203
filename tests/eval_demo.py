"""ARP-Eval inputs from the shipped demo series: its truth script gives each line's speaker, text and time span,
so episode cuts of the cast's lines are held-out "outputs" whose right answers are known."""

import json
from functools import lru_cache

import numpy as np

from audiorole.demo import DEMO_SERIES_DIR
from audiorole.eval.eval_set import enrollment_clips, personas
from audiorole.eval.items import ContextTurn, EvalItem, Output

SR = 16000
CAST = ("mara", "otis", "june")


def script_lines() -> list[dict]:
    lines = []
    for path in sorted((DEMO_SERIES_DIR / "truth").glob("*.script.jsonl")):
        lines.extend(json.loads(row) for row in path.read_text().splitlines() if row.strip())
    return lines


@lru_cache(maxsize=None)
def episode_audio(episode: str) -> np.ndarray:
    from audiorole.audio.decode import load_audio

    [path] = sorted((DEMO_SERIES_DIR / "episodes").glob(f"{episode}.*"))
    return load_audio(path, SR)


def item_for(line: dict, previous: list[dict]) -> EvalItem:
    context = tuple(ContextTurn(speaker=p["speaker"], text=p["text"], episode=p["episode"], start=p["start"], end=p["end"])
                    for p in previous)
    return EvalItem(id=f'{line["episode"]}-{line["scene"]}-{line["turn"]}', character=line["speaker"],
                    episode=line["episode"], scene=str(line["scene"]), turn=int(line["turn"]), text=line["text"],
                    audio=DEMO_SERIES_DIR / "episodes", context=context)


def cast_lines(episodes=("ep01", "ep02"), clean_only: bool = True) -> list[tuple[EvalItem, dict]]:
    """(item, line) for every cast line, with the scene's earlier turns as context; overlapped lines left out."""
    out, scene_turns = [], {}
    for line in script_lines():
        key = (line["episode"], line["scene"])
        previous = scene_turns.setdefault(key, [])
        if line["episode"] in episodes and line["speaker"] in CAST and not (clean_only and line["overlap"]):
            out.append((item_for(line, list(previous)), line))
        previous.append(line)
    return out


def cut(line: dict) -> np.ndarray:
    wave = episode_audio(line["episode"])
    return wave[int(line["start"] * SR): int(line["end"] * SR)].copy()


def output_for(line: dict, with_text: bool = True) -> Output:
    return Output(wave=cut(line), sample_rate=SR, text=line["text"] if with_text else None)


def enrollment():
    return enrollment_clips(DEMO_SERIES_DIR)


def demo_personas():
    return personas(DEMO_SERIES_DIR)
