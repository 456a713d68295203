"""`python train.py stage=semantic` on the demo: prepare, LoRA-train, validate (ARP-Eval), export adapter + merged."""

import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_train_semantic_demo_end_to_end(tmp_path, demo_prepared):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "stage=semantic", "character=mara", f"paths.data_dir={demo_prepared[0]}",
         f"paths.log_dir={tmp_path}/logs", "logger=csv", "trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1",
         "trainer.log_every_n_steps=1", "data.max_minutes=1.5"],  # mechanics only: a few steps an epoch
        capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run] = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "lm" / "adapter" / "adapter_model.safetensors").is_file()
    assert (run / "lm" / "merged" / "config.json").is_file()
    metrics = (run / "csv" / "version_0" / "metrics.csv").read_text()
    assert all(key in metrics for key in ("train/loss", "val/loss", "val/ppl", "val/cp"))
