"""bench/gpu_check.py runs at tiny sizes on CPU: the code a GPU run depends on, checked before a GPU is lent."""

import json

import pytest

from conftest import bench_script


@pytest.fixture(scope="module")
def gpu_check():
    return bench_script("gpu_check")


def test_tiny_decoder_and_lora_sections_report_beside_the_estimate(gpu_check, tmp_path, capsys, one_thread):
    out = tmp_path / "gpu_check.json"
    rc = gpu_check.main(["--tiny", "--device", "cpu", "--sections", "chain", "decoder", "lora", "--seconds", "0.5",
                         "--repeats", "1", "--seq", "32", "--out", str(out)])
    assert rc == 0
    results = json.loads(out.read_text())
    assert results["device"] == "cpu" and results["tiny"]
    assert "skipped" in results["chain"]  # no prepared dataset given
    d = results["decoder"]
    assert d["tokens"] == 6 and d["stream_chunks"] >= 1
    assert all(d[k] > 0 for k in ("flow_10_steps_rtf", "hift_rtf", "stream_rtf", "stream_first_audio_s"))
    [row] = results["lora"]["rows"]
    assert row["seq"] == 32 and row["peak_gib"] is None and row["estimate_gib"] > 0 and row["trainable"] > 0
    assert results["lora"]["lora"]["r"] == 32  # the preset's settings (conf/model/semantic_glm4voice.yaml)
    assert "n/a (not CUDA)" in capsys.readouterr().out


def test_full_sizes_want_a_gpu(gpu_check, capsys):
    assert gpu_check.main(["--device", "cpu", "--sections", "lora"]) == 2
    assert "--tiny" in capsys.readouterr().err
