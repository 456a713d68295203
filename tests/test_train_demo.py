"""`python train.py` on the demo, as the README runs it: prepare, train, validate on dev, test, export the selected."""

import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_train_acoustic_demo_end_to_end(tmp_path, demo_prepared):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "stage=acoustic", "character=otis", f"paths.data_dir={demo_prepared[0]}",
         f"paths.log_dir={tmp_path}/logs", "trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run] = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "decoder" / "config.yaml").is_file() and (run / "decoder" / "flow.pt").is_file()
    assert list((run / "wandb").glob("offline-run-*"))
    import json

    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "ok" and record["optimized_metric"]["name"] == "val/select"
    assert {"val/ap", "val/ap_margin", "val/aq", "val/mel_l1", "val/wer", "val/cer", "val/select",
            "val/ap_ci_low", "val/ap_ci_high", "val/ap_n", "val/ap_coverage"} <= set(record["metrics"])
    assert {"test/ap", "test/aq", "test/mel_l1", "test/loss", "test/wer", "test/ap_ci_low"} <= set(record["metrics"])
    trained_on = json.loads((run / "decoder" / "trained_on.json").read_text())
    assert trained_on["selection"]["metric"] == "val/select" and trained_on["split_fingerprint"]
    assert list((run / "samples").glob("epoch_*/*.wav")), "ARP-Eval wrote no audio samples"


def test_resume_from_last_ckpt_in_a_new_run(tmp_path, demo_prepared):
    """`python train.py ... ckpt_path=<run>/checkpoints/last.ckpt` (README) carries on to more epochs, no traceback."""
    common = [sys.executable, str(ROOT / "train.py"), "stage=acoustic", "character=june", "logger=csv",
              f"paths.data_dir={demo_prepared[0]}", f"paths.log_dir={tmp_path}/logs", "trainer.check_val_every_n_epoch=1"]
    first = subprocess.run(common + ["trainer.max_epochs=1"], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    [run] = (tmp_path / "logs" / "train" / "runs").iterdir()
    again = subprocess.run(common + ["trainer.max_epochs=2", f"ckpt_path={run}/checkpoints/last.ckpt"],
                           capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr[-3000:]
    import json

    resumed = max((tmp_path / "logs" / "train" / "runs").iterdir())
    record = json.loads((resumed / "run.json").read_text())
    assert record["status"] == "ok" and "test/ap" in record["metrics"]
