"""`python train.py` on the demo, as the README runs it: prepare, train, validate, export."""

import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_train_acoustic_demo_end_to_end(tmp_path, demo_prepared):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "stage=acoustic", "character=june", f"paths.data_dir={demo_prepared[0]}",
         f"paths.log_dir={tmp_path}/logs", "trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run] = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "decoder" / "config.yaml").is_file() and (run / "decoder" / "flow.pt").is_file()
    assert list((run / "wandb").glob("offline-run-*"))
    import json

    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "ok" and record["optimized_metric"]["name"] == "val/ap"
    assert {"val/ap", "val/ap_margin", "val/aq", "val/mel_l1"} <= set(record["metrics"])
    assert list((run / "samples").glob("epoch_*/*.wav")), "ARP-Eval wrote no audio samples"
