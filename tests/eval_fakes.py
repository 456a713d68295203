"""Small stand-ins for ARP-Eval tests: a synthetic prepared dataset and an evaluator with the real one's interface.

The dataset has three characters (the demo series' names, so its enrollment clips and
registry apply), each speaking a tone of its own pitch, in scenes where every character
replies two or three times. ``ToneEvaluator`` scores outputs from their signal alone
(cheap and deterministic): AP is 1 when the output's pitch is the character's.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorole.prep.manifests import write_manifests
from audiorole.tokenizers.cache import build_token_cache
from audiorole.utils.atomic import write_jsonl
from conftest import ROOT
from test_token_cache import CountingTokenizer


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny decoders and Griffin-Lim run many times faster on one thread when cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


DEMO_SERIES = ROOT / "audiorole" / "demo" / "series"
PITCH = {"mara": 180.0, "otis": 110.0, "june": 260.0}
SR = 16000


def tone(pitch: float, seconds: float, sr: int = SR, level: float = 0.2) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (level * np.sin(2 * np.pi * pitch * t)).astype(np.float32)


def pitch_of(wave: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / sr)[int(np.argmax(spectrum))])


def make_prepared(root: Path, scenes: int = 8, context: bool = False) -> Path:
    """A prepared dataset (manifests + token cache) of ``scenes`` scenes; turns go mara, otis, june, mara, ...

    The episode holds each reply's tone at its place; ``context``: each reply's context is
    the scene's earlier turns (text and episode times), as the pipeline writes them.
    """
    root = Path(root)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    episode = root / "ep1.flac"
    order = ["mara", "otis", "june", "mara", "otis", "mara", "june"]
    seconds = 1.2
    signal = np.zeros(int(SR * (scenes * len(order) * 2 * seconds + 1)), np.float32)
    kept, t = [], 0.5
    for s in range(scenes):
        for turn, character in enumerate(order):
            signal[int(t * SR):int(t * SR) + int(seconds * SR)] = tone(PITCH[character] * (1 + 0.005 * turn), seconds)
            rid = f"ep1-s{s:02d}-t{turn:02d}"
            clip = root / "audio" / character / f"{rid}.flac"
            clip.parent.mkdir(exist_ok=True)
            sf.write(clip, tone(PITCH[character] * (1 + 0.005 * turn), seconds), SR)
            kept.append({"id": rid, "episode": "ep1", "scene": f"ep1-s{s:02d}", "turn": turn, "character": character,
                         "start": t, "end": t + seconds, "duration": seconds, "text": f"{character} line {s} {turn}",
                         "audio": str(clip), "context": [
                             {"speaker": k["character"], "text": k["text"],
                              "audio": {"episode": "ep1", "start": k["start"], "end": k["end"]}}
                             for k in kept if context and k["scene"] == f"ep1-s{s:02d}"]})
            t += 2 * seconds
    sf.write(episode, signal, SR)
    write_jsonl(root / "kept.jsonl", kept)
    write_manifests(kept, {"ep1": str(episode)}, root)
    build_token_cache(root, CountingTokenizer())
    return root


@dataclass
class Result:
    metrics: dict
    per_item: list
    backends: dict
    counts: dict = field(default_factory=dict)


class ToneEvaluator:
    """ARPEvaluator's interface; AP from pitch, AQ from level, CQ from exact text, CP from the text's name."""

    def __init__(self, metrics=("ap", "ap_margin", "aq", "cq", "cp")):
        self.metrics = tuple(metrics)
        self.prepared = None
        self.calls = 0

    def prepare(self, enrollment, training_lines, personas=None):
        self.prepared = {"enrollment": enrollment, "training_lines": training_lines, "personas": personas}

    def _item(self, item, out) -> dict:
        sims = {c: 1.0 / (1.0 + abs(pitch_of(out.wave, out.sample_rate) - p) / 20.0) for c, p in PITCH.items()}
        rms = float(np.sqrt(np.mean(np.square(out.wave))))
        text = out.text or ""
        nearest_other = max(v for c, v in sims.items() if c != item.character)
        row = {"ap": sims[item.character], "ap_margin": sims[item.character] - nearest_other,
               "aq": 1.0 + 4.0 * min(1.0, rms * 5.0), "cq": float(text == item.text),
               "cp": float(text.startswith(item.character))}
        return {"id": item.id, "character": item.character, "text": text, **{k: row[k] for k in self.metrics}}

    def score(self, items, outputs):
        if self.prepared is None:
            raise RuntimeError("prepare() first")
        self.calls += 1
        from audiorole.eval.metrics import summarize

        per_item = [self._item(i, o) for i, o in zip(items, outputs)]
        metrics = summarize(per_item)  # the real means, intervals and counts
        return Result(metrics, per_item, {k: "tone" for k in self.metrics}, {"items": len(items), "judge_calls": 0})


class PreparedData:
    """A datamodule stand-in whose dataset is already prepared (``evaluate.py`` calls ``prepare_data``)."""

    def __init__(self, data, character: str, seed: int = 0, **_):
        self.data, self.character, self.seed = data, character, seed
        self.prepared_calls = 0

    def prepare_data(self):
        self.prepared_calls += 1
