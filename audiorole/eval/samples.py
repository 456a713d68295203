"""Write a few outputs as wav files so people can listen to what was scored."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from audiorole.eval.items import EvalItem, Output
from audiorole.utils.atomic import atomic_path


def safe_name(name: str) -> str:
    """A file-system-safe form of a system or item name (``decoder:otis→mara`` -> ``decoder_otis_mara``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "_"


def write_samples(out_dir: str | Path, items: list[EvalItem], outputs: list[Output], limit: int) -> list[Path]:
    """The first ``limit`` outputs as ``<out_dir>/<item id>.wav`` (float, each at its own rate)."""
    import soundfile as sf

    written = []
    answered = [(item, output) for item, output in zip(items, outputs) if output.error is None]
    for item, output in answered[:max(0, limit)]:
        path = Path(out_dir) / f"{safe_name(item.id)}.wav"
        with atomic_path(path) as tmp:
            sf.write(tmp, np.asarray(output.wave, dtype=np.float32), int(output.sample_rate), format="WAV",
                     subtype="FLOAT")
        written.append(path)
    return written
