"""run.json: every train/evaluate run, ok or failed, leaves a record the report can read."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write

from audiorole.errors import SeriesError
from audiorole.utils.run_record import float_metrics, is_rank_zero, write_run_record
from audiorole.utils.secrets import MASK
from audiorole.utils.task import task_wrapper
from conftest import ROOT


def _record(cfg) -> dict:
    return json.loads((Path(cfg.paths.output_dir) / "run.json").read_text())


def _multirun(cfg):
    with read_write(cfg.hydra), open_dict(cfg):
        cfg.hydra.mode = "MULTIRUN"
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_float_metrics_keeps_scalars_only():
    got = float_metrics({"val/ap": torch.tensor(0.5), "n": 3, "bad": float("nan"), "vec": torch.ones(3), "s": "x"})
    assert got == {"val/ap": 0.5, "n": 3.0, "bad": None}


def test_rank_zero_from_environment():
    assert is_rank_zero({})
    assert is_rank_zero({"RANK": "0", "SLURM_PROCID": "0", "LOCAL_RANK": "0"})
    assert not is_rank_zero({"SLURM_PROCID": "3"})
    assert not is_rank_zero({"LOCAL_RANK": "1"})


def test_success_is_recorded_with_metrics_overrides_and_masked_config(make_cfg, monkeypatch):
    monkeypatch.setenv("JUDGE_API_KEY", "sk-not-for-logs-123456")
    cfg = make_cfg(["experiment=per_character", "character=june", "+eval.api_key=${oc.env:JUDGE_API_KEY}"])

    @task_wrapper
    def task(cfg):
        return {"val/select": torch.tensor(0.75), "val/aq": 3.1, "train/loss": torch.tensor(1.0)}

    assert task(cfg)["val/aq"] == 3.1
    record = _record(cfg)
    assert record["status"] == "ok" and record["error"] is None
    assert (record["task_name"], record["stage"], record["character"], record["data"]) == ("per_character", "acoustic", "june", "demo")
    assert record["experiment"] == "per_character"
    assert "character=june" in record["overrides"]
    assert record["sweep_params"] == ["character"]
    assert record["metrics"] == {"val/select": 0.75, "val/aq": 3.1, "train/loss": 1.0}
    assert record["optimized_metric"] == {"name": "val/select", "mode": "max", "value": 0.75}
    assert record["wall_seconds"] >= 0
    assert record["config"]["character"]["name"] == "june"
    assert record["config"]["eval"]["api_key"] == MASK
    assert "sk-not-for-logs-123456" not in json.dumps(record)


def test_missing_optimised_metric_is_noted(make_cfg):
    cfg = make_cfg(["experiment=data_quantity"])
    task_wrapper(lambda cfg: {"val/mel_l1": 0.3})(cfg)
    record = _record(cfg)
    assert record["status"] == "ok" and record["optimized_metric"]["value"] is None
    assert "val/select" in record["error"]


def test_user_error_in_a_sweep_is_recorded_and_the_sweep_goes_on(make_cfg):
    cfg = _multirun(make_cfg(["experiment=enhancement"]))

    @task_wrapper
    def task(cfg):
        raise SeriesError("/data/show/episodes: no episodes found; set data.series_dir")

    assert task(cfg) is None  # the sweep goes on
    record = _record(cfg)
    assert record["status"] == "failed"
    assert record["error"] == "/data/show/episodes: no episodes found; set data.series_dir"
    assert record["experiment"] == "enhancement" and record["metrics"] == {}


def test_a_bug_is_recorded_and_keeps_its_traceback(make_cfg):
    cfg = make_cfg([])

    @task_wrapper
    def task(cfg):
        raise RuntimeError("shape mismatch\nlong details")

    with pytest.raises(RuntimeError):
        task(cfg)
    assert _record(cfg)["error"] == "RuntimeError: shape mismatch"


def test_missing_value_fails_with_a_record_even_when_config_cannot_resolve(make_cfg):
    cfg = _multirun(make_cfg(["experiment=decoder_init", "decoder_init=base", "base_decoder=???"]))
    assert task_wrapper(lambda cfg: {})(cfg) is None
    record = _record(cfg)
    assert record["status"] == "failed" and "base_decoder" in record["error"]
    assert record["config"]["_decoder_init_from"] == {"scratch": None, "base": "${base_decoder}"}  # raw, not lost
    assert record["config"]["character"]["name"] == "otis"  # the rest still resolved


def test_other_ranks_do_not_write(make_cfg, monkeypatch):
    cfg = make_cfg([])
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert write_run_record(cfg, "ok", {"val/ap": 1.0}) is None
    assert not (Path(cfg.paths.output_dir) / "run.json").exists()


@pytest.mark.slow
def test_decoder_init_sweep_without_base_decoder_records_each_job_failed(tmp_path):
    """Through Hydra's real multirun launcher: every job stops at once naming the key, and says so in run.json."""
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "-m", "experiment=decoder_init", "base_decoder=???",
                           f"paths.log_dir={tmp_path}/logs", f"paths.data_dir={tmp_path}/data", "logger=none"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "logs").rglob("run.json"))]
    assert len(records) == 2
    assert all(r["status"] == "failed" and "base_decoder" in r["error"] for r in records)
    assert sorted(r["config"]["decoder_init"] for r in records) == ["base", "scratch"]
    assert sorted(o for r in records for o in r["overrides"] if o.startswith("decoder_init")) == ["decoder_init=base", "decoder_init=scratch"]
    assert not math.isnan(records[0]["wall_seconds"])


def test_evaluate_records_its_return_metric(make_cfg):
    cfg = make_cfg(["character=otis", "return_metric=decoder/ap"], config_name="evaluate")
    task_wrapper(lambda cfg: {"decoder/ap": 0.7, "ground_truth/ap": 0.9})(cfg)
    record = _record(cfg)
    assert record["task_name"] == "evaluate" and record["character"] == "otis"
    assert record["optimized_metric"] == {"name": "decoder/ap", "mode": None, "value": 0.7}
