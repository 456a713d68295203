"""The official ``deepfilternet`` package (PyTorch) as an enhancer, from a local checkpoint dir.

The package downloads its weights from GitHub on first use, which fails
offline, so this backend only ever loads a directory the user provides: the
official ``DeepFilterNet3.zip`` release unpacked, i.e.

    <model_dir>/config.ini
    <model_dir>/checkpoints/model_120.ckpt.best

deepfilternet 0.5.6 pins numpy<2 and breaks on torchaudio>=2.9, so it is
installed with --no-deps beside torch 2.8 (docs/design.md §5); the shipped-ONNX
backend (``dfn3_onnx``) is the default for that reason.
"""

import threading
import warnings
from pathlib import Path

import numpy as np

from audiorole.enhance.base import EnhanceError, check_wave, run_at_rate

RELEASES = "https://github.com/Rikorose/DeepFilterNet/releases (DeepFilterNet3.zip)"
_df_lock = threading.Lock()  # the package keeps its config in a process-wide singleton


def check_model_dir(model_dir) -> Path:
    """The dir if it has config.ini and a checkpoint, else a one-line error saying what to put there."""
    if model_dir is None or str(model_dir) == "":
        raise EnhanceError(f"deepfilternet: model_dir is not set; unzip {RELEASES} somewhere and set enhance.model_dir to it, or use enhance=dfn3_onnx")
    path = Path(model_dir).expanduser().resolve()
    ckpts = sorted((path / "checkpoints").glob("model_*.ckpt*")) if path.is_dir() else []
    if not (path / "config.ini").is_file() or not ckpts:
        raise EnhanceError(
            f"{path}: no DeepFilterNet3 checkpoint (need config.ini and checkpoints/model_*.ckpt.best); "
            f"unzip {RELEASES} there, or use enhance=dfn3_onnx which needs no download")
    return path


class DeepFilterNetPkg:
    """``enhancer(wave, sr) -> wave`` via ``df.enhance.enhance``; same contract as ``DFN3Onnx``."""

    name = "deepfilternet"

    def __init__(self, model_dir: str | None = None, atten_lim_db: float | None = None,
                 post_filter: bool = False, epoch: str | int = "best"):
        self.model_dir = check_model_dir(model_dir)  # fail at config time, not mid-pipeline
        self.atten_lim_db = None if atten_lim_db is None else float(atten_lim_db)
        self.post_filter = bool(post_filter)
        self.epoch = epoch
        self._loaded = None

    def _load(self):
        with _df_lock:
            if self._loaded is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torchaudio.backend deprecation on import
                    from df.enhance import init_df
                # An absolute path is never one of the package's download names, so
                # init_df cannot fetch; log_file=None keeps it from writing into model_dir.
                model, state, _ = init_df(str(self.model_dir), post_filter=self.post_filter,
                                          log_level="ERROR", log_file=None, epoch=self.epoch)
                self._loaded = (model.eval(), state)
        return self._loaded

    @property
    def sample_rate(self) -> int:
        return int(self._load()[1].sr())

    def __call__(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        wave = check_wave(waveform, sample_rate, self.name)
        if wave.size == 0:
            return wave.copy()
        return run_at_rate(self._enhance_native, wave, int(sample_rate), self.sample_rate)

    def _enhance_native(self, wave: np.ndarray) -> np.ndarray:
        import torch
        from df.enhance import enhance

        model, state = self._load()
        with _df_lock:
            out = enhance(model, state, torch.from_numpy(wave)[None], atten_lim_db=self.atten_lim_db)
        return out[0].numpy().astype(np.float32)
