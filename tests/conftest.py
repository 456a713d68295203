"""Shared fixtures: compose configs the way train.py does, offline and under tmp dirs."""

import os
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import audiorole.utils.resolvers  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"

# Tests never reach a hub or W&B's servers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    skip_net = pytest.mark.skip(reason="needs the network; set AUDIOROLE_NETWORK_TESTS=1")
    for item in items:
        if item.get_closest_marker("gpu") and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if item.get_closest_marker("network") and os.environ.get("AUDIOROLE_NETWORK_TESTS") != "1":
            item.add_marker(skip_net)


def bench_script(name: str):
    """``bench/<name>.py`` as a module (bench/ is not a package); registered in sys.modules, where dataclasses look."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compose_config(config_name: str, overrides: list[str], out_dir: Path) -> DictConfig:
    """Compose like ``@hydra.main`` does, with outputs and data under ``out_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out_dir / "run")
        cfg.hydra.job.num = 0
        cfg.paths.log_dir = str(out_dir / "logs")
        cfg.paths.data_dir = str(out_dir / "data")
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture
def make_cfg(tmp_path):
    def _make(overrides=(), config_name="train"):
        return compose_config(config_name, list(overrides), tmp_path)

    yield _make
    GlobalHydra.instance().clear()


def espeak_speech(directory: Path, text: str, sample_rate: int = 16000):
    """Offline synthetic speech (Debian's espeak-ng) as float32 at ``sample_rate``; skips without espeak-ng."""
    import shutil
    import subprocess

    import numpy as np
    import soundfile as sf
    import soxr

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng); needed to synthesise test speech offline")
    path = Path(directory) / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    wave, sr = sf.read(path, dtype="float32")
    return soxr.resample(wave, sr, sample_rate).astype(np.float32)


@pytest.fixture(scope="session")
def demo_prepared(tmp_path_factory):
    """The demo series prepared once per session: (data_dir, prepare config, first result).

    The slow end-to-end tests share it; their own runs then find every step cached.
    """
    from audiorole.prep.run import prepare_dataset

    data_dir = tmp_path_factory.mktemp("demo_data")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("prepare", overrides=[f"paths.data_dir={data_dir}"])
    return data_dir, cfg, prepare_dataset(cfg.data)


@pytest.fixture
def one_thread():
    """Small models gain nothing from threads, and the test machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    """Tiny random checkpoints in every public GLM-4-Voice layout (audiorole.models.tiny_hub), written once."""
    from audiorole.models.tiny_hub import write_tiny_hub

    hub = tmp_path_factory.mktemp("tiny_hub")
    write_tiny_hub(hub)
    return hub
