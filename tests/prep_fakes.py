"""Cheap stand-in steps for testing the pipeline's mechanics (caching, resume, failures)."""

import json
import os
import time
from pathlib import Path

import numpy as np
import soundfile as sf

CALLS: list[tuple[str, str]] = []


class Measure:
    """Reads the episode and writes its RMS; counts calls."""

    name = "measure"
    reads = ()

    def __init__(self, scale: float = 1.0, sleep: float = 0.0):
        self.scale, self.sleep = scale, sleep
        # Outside the config on purpose: the call log must not change the cache key.
        self.log_file = os.environ.get("PREP_FAKES_LOG")

    def __call__(self, ctx, out: Path) -> dict:
        CALLS.append((self.name, ctx.episode.id))
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(f"{self.name} {ctx.episode.id}\n")
        from audiorole.audio.decode import load_audio

        wave = load_audio(ctx.episode.audio, 16000)
        time.sleep(self.sleep)
        (out / "rms.json").write_text(json.dumps(float(np.sqrt(np.mean(wave**2))) * self.scale))
        return {"rms": str(out / "rms.json")}


class Double(Measure):
    name = "double"
    reads = ("registry", "enrollment", "subtitles")  # as attribution does

    def __call__(self, ctx, out: Path) -> dict:
        CALLS.append((self.name, ctx.episode.id))
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(f"{self.name} {ctx.episode.id}\n")
        time.sleep(self.sleep)
        value = json.loads(Path(ctx.results["measure"]["rms"]).read_text()) * 2 * self.scale
        return {"value": value}


class Replies:
    """A postprocess stand-in: keeps ``keep`` one-second clips of the episode as ann's replies, drops ``drop``."""

    name = "postprocess"
    reads = ()

    def __init__(self, keep: int = 1, drop: int = 0):
        self.keep, self.drop = keep, drop

    def __call__(self, ctx, out: Path) -> dict:
        wave, sr = sf.read(ctx.results["standardise"]["audio"], dtype="float32")
        kept, dropped = [], []
        for i in range(self.keep + self.drop):
            sample = {"id": f"{ctx.episode.id}-s000-t{i:03d}", "episode": ctx.episode.id, "scene": f"{ctx.episode.id}-s000",
                      "turn": i, "character": "ann", "start": float(i), "end": float(i + 1), "text": "hello there"}
            if i >= self.keep:
                dropped.append({**sample, "reason": "low_dnsmos"})
                continue
            path = out / f"{sample['id']}.flac"
            sf.write(path, wave[i * sr:(i + 1) * sr], sr)
            kept.append({**sample, "audio": str(path), "duration": 1.0})
        (out / "kept.json").write_text(json.dumps(kept))
        (out / "dropped.json").write_text(json.dumps(dropped))
        return {"kept": str(out / "kept.json"), "dropped": str(out / "dropped.json"),
                "n_kept": len(kept), "n_dropped": len(dropped)}


def build(cfg: dict):
    cls = {"measure": Measure, "double": Double}[cfg["kind"]]
    return cls(**{k: v for k, v in cfg.items() if k != "kind"})


def make_series(root: Path, episodes: int = 3, seconds: float = 1.5) -> Path:
    (root / "episodes").mkdir(parents=True)
    (root / "characters" / "ann").mkdir(parents=True)
    (root / "characters.yaml").write_text("characters:\n  ann:\n    subtitle_names: [ANN]\n")
    rng = np.random.default_rng(0)
    for i in range(episodes):
        wave = (0.1 * (i + 1) * rng.standard_normal(int(16000 * seconds))).astype(np.float32)
        sf.write(root / "episodes" / f"ep{i}.wav", wave, 16000)
    return root
