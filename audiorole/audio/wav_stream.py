"""Write a wav chunk by chunk as audio is synthesised, and time when the first audio arrived.

The file appears under its name only when complete (``atomic_path``), so a
reader never sees half a file; ``first_audio_s`` (seconds from opening to
the first non-empty chunk) is the streaming latency a listener would hear.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from audiorole.utils.atomic import atomic_path


class WavStream:
    def __init__(self, path: str | Path, sample_rate: int):
        self.path, self.sample_rate = Path(path), sample_rate
        self.samples, self.chunks, self.first_audio_s = 0, 0, None

    def __enter__(self) -> "WavStream":
        import soundfile as sf

        self._stack = ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file = self._stack.enter_context(sf.SoundFile(tmp, "w", self.sample_rate, 1, format="WAV"))
        self._start = time.perf_counter()
        return self

    def write(self, chunk) -> None:
        wave = chunk.detach().cpu().numpy() if hasattr(chunk, "detach") else np.asarray(chunk)
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if not wave.size:
            return
        if self.first_audio_s is None:
            self.first_audio_s = time.perf_counter() - self._start
        self._file.write(wave)
        self.samples += wave.size
        self.chunks += 1

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    def __exit__(self, *exc) -> None:
        self._file.close()  # flush the header before the rename
        self._stack.__exit__(*exc)
