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

    def __call__(self, ctx, out: Path) -> dict:
        CALLS.append((self.name, ctx.episode.id))
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(f"{self.name} {ctx.episode.id}\n")
        time.sleep(self.sleep)
        value = json.loads(Path(ctx.results["measure"]["rms"]).read_text()) * 2 * self.scale
        return {"value": value}


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
