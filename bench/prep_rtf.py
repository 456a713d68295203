"""Real-time factor of each dataset-pipeline step on the demo (or any series), from a cold cache.

    python bench/prep_rtf.py                       # the shipped demo
    python bench/prep_rtf.py data=series data.series_dir=DIR data.name=NAME

RTF = seconds of compute per second of episode audio (lower is faster; the
goal for the whole offline pipeline is <= 0.25 on 2 CPU cores).
"""

import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

import audiorole.utils.resolvers  # noqa: F401
from audiorole.prep.run import prepare_dataset
from audiorole.utils.resolvers import ROOT_DIR


def main(overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with initialize_config_dir(str(ROOT_DIR / "conf"), version_base="1.3"):
            cfg = compose("prepare", overrides=[f"paths.data_dir={tmp}", *overrides])
        start = time.perf_counter()
        result = prepare_dataset(cfg.data)
        wall = time.perf_counter() - start
        audio = result.stats["input_hours"] * 3600
    print(f"{result.episodes} episodes, {audio:.1f} s of audio, wall {wall:.1f} s, failures {len(result.failures)}")
    print(f"{'step':<14}{'seconds':>10}{'RTF':>10}")
    for step, seconds in result.timings.items():
        print(f"{step:<14}{seconds:>10.2f}{seconds / audio:>10.4f}")
    print(f"{'total (wall)':<14}{wall:>10.2f}{wall / audio:>10.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
