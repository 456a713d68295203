"""python -m audiorole.report: sweeps of run.json files -> one table (md, csv) and each experiment's plots."""

import csv
import json

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write

from audiorole.errors import AudioroleError
from audiorole.report.__main__ import main
from audiorole.report.build import build_report
from audiorole.report.plots import training_minutes
from audiorole.report.runs import load_local_runs
from audiorole.utils.atomic import write_json
from audiorole.utils.run_record import write_run_record

PNG = b"\x89PNG"


def write_job(make_cfg, sweep_dir, num, overrides, metrics=None, error=None):
    """One job of a sweep, recorded by the real run.json writer from its composed config."""
    cfg = make_cfg(overrides)
    with read_write(cfg.hydra), open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(sweep_dir / str(num))
        cfg.hydra.job.num = num
        cfg.hydra.mode = "MULTIRUN"
    HydraConfig.instance().set_config(cfg)
    write_run_record(cfg, "failed" if error else "ok", metrics, error, wall_seconds=90.0)


@pytest.fixture
def logs(make_cfg, tmp_path):
    """A data_quantity sweep (otis: 1, 2, all minutes; the 2-minute job failed) and a 2x2 enhancement sweep (one failed)."""
    write_json(tmp_path / "data/prepared/demo/stats.json", {"per_character": {"otis": {"seconds": 252.0}}})
    dq = tmp_path / "logs/data_quantity/multiruns/2026-01-01_00-00-00-000001_1"
    for num, (cap, ap) in enumerate([("1", 0.61), ("2", None), ("null", 0.74)]):
        write_job(make_cfg, dq, num, ["experiment=data_quantity", f"data.max_minutes={cap}"],
                  {"val/ap": ap, "val/aq": 3.0, "val/mel_l1": 0.4, "train/loss": 1.0} if ap else None,
                  None if ap else "RuntimeError: out of memory")
    enh = tmp_path / "logs/enhancement/multiruns/2026-01-01_00-00-00-000002_2"
    arms = [("dfn3", "true", 0.70, 3.3), ("dfn3", "false", 0.68, 3.2), ("none", "true", 0.66, 2.9), ("none", "false", None, None)]
    for num, (enhancer, first, ap, aq) in enumerate(arms):
        write_job(make_cfg, enh, num, ["experiment=enhancement", f"data/prep/enhance={enhancer}",
                                        f"data.prep.postprocess.enhance_first={first}"],
                  {"val/ap": ap, "val/aq": aq} if ap else None,
                  None if ap else "/data/x/episodes: no episodes found; set data.series_dir")
    return tmp_path / "logs", dq, enh


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_table_has_a_row_per_run_with_swept_settings_status_and_metrics(logs, tmp_path):
    root, dq, enh = logs
    report = build_report([str(root)], tmp_path / "out")
    rows = read_csv(tmp_path / "out/runs.csv")
    assert len(rows) == 7
    assert {"run", "experiment", "character", "status", "data.max_minutes", "data/prep/enhance",
            "data.prep.postprocess.enhance_first", "val/ap", "val/aq", "val/mel_l1", "wall_min", "error"} <= set(rows[0])
    assert "train/loss" not in rows[0] and "paths.log_dir" not in rows[0]
    assert report.columns.index("val/ap") < report.columns.index("val/aq") < report.columns.index("val/mel_l1")

    by_run = {(r["experiment"], r["run"].rsplit("/", 1)[-1]): r for r in rows}
    assert by_run["data_quantity", "0"]["data.max_minutes"] == "1" and by_run["data_quantity", "0"]["val/ap"] == "0.61"
    assert by_run["data_quantity", "2"]["data.max_minutes"] == "null" and by_run["data_quantity", "2"]["character"] == "otis"
    failed = by_run["data_quantity", "1"]
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: out of memory" and failed["val/ap"] == ""
    arm = by_run["enhancement", "2"]
    assert (arm["data/prep/enhance"], arm["data.prep.postprocess.enhance_first"], arm["val/aq"]) == ("none", "True", "2.9")
    assert by_run["enhancement", "3"]["status"] == "failed" and "no episodes found" in by_run["enhancement", "3"]["error"]
    assert by_run["enhancement", "0"]["wall_min"] == "1.5"

    markdown = (tmp_path / "out/runs.md").read_text()
    assert "| run | experiment | character | status |" in markdown and markdown.count("| failed |") == 2
    assert "RuntimeError: out of memory" in markdown


def test_each_experiment_gets_its_own_plot(logs, tmp_path):
    root, _, _ = logs
    report = build_report([str(root)], tmp_path / "out")
    assert sorted(report.plots) == ["data_quantity_val_ap_vs_minutes.png", "enhancement_aq_vs_ap.png"]
    for name in report.plots:
        assert (tmp_path / "out" / name).read_bytes()[:4] == PNG
        assert f"![{name}]({name})" in (tmp_path / "out/runs.md").read_text()


def test_uncapped_runs_sit_at_the_characters_kept_minutes(logs):
    _, dq, _ = logs
    runs = sorted(load_local_runs([dq]), key=lambda r: r.job_num)
    assert [r.settings["data.max_minutes"] for r in runs] == [1, 2, None]
    assert [training_minutes(r) for r in runs] == [1.0, 2.0, 4.2]


def test_sweep_without_arp_metrics_falls_back_to_the_generic_plot(make_cfg, tmp_path):
    sweep = tmp_path / "sweep"
    for num, (character, mel) in enumerate([("mara", 0.5), ("otis", 0.4), ("june", 0.45)]):
        write_job(make_cfg, sweep, num, ["experiment=per_character", f"character={character}"], {"val/mel_l1": mel})
    report = build_report([str(sweep)])
    assert report.out_dir == sweep / "report"
    assert report.plots == ["per_character_val_mel_l1_vs_character.png"]
    assert any("no finished run has val/ap or val/aq" in note for note in report.notes)
    assert [r["character"] for r in report.rows] == ["mara", "otis", "june"]


def test_runs_without_run_json_are_read_from_hydra_and_logger_files(tmp_path):
    run = tmp_path / "runs/old"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra/config.yaml").write_text("task_name: train\nstage_name: acoustic\ncharacter: {name: mara}\n"
                                            "data: {name: demo}\noptimized_metric: val/mel_l1\n")
    (run / ".hydra/overrides.yaml").write_text("- character=mara\n- paths.log_dir=/tmp/x\n")
    (run / ".hydra/hydra.yaml").write_text("hydra:\n  runtime:\n    choices: {experiment: null}\n")
    (run / "csv/version_0").mkdir(parents=True)
    (run / "csv/version_0/metrics.csv").write_text("epoch,step,train/loss,val/mel_l1\n0,9,2.0,\n0,9,,0.52\n1,19,1.5,\n1,19,,0.47\n")
    (run / "wandb/offline-run-1/files").mkdir(parents=True)
    (run / "wandb/offline-run-1/files/wandb-summary.json").write_text(json.dumps({"val/aq": 3.4, "_runtime": 5, "trainer/global_step": 19}))
    [loaded] = load_local_runs([tmp_path / "runs"])
    assert loaded.status == "unknown" and loaded.character == "mara"
    assert loaded.metrics == {"train/loss": 1.5, "val/mel_l1": 0.47, "val/aq": 3.4}
    assert loaded.settings == {"character": "mara"}


def test_cli_writes_the_report_and_prints_a_summary(logs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")  # rich's console width when not on a terminal
    _, dq, _ = logs
    assert main([str(dq), "--out", str(tmp_path / "cli"), "--metrics", "val/ap"]) == 0
    out = capsys.readouterr().out
    assert "3 runs (1 failed)" in out and "data.max_minutes" in out
    assert list(read_csv(tmp_path / "cli/runs.csv")[0])[-3:] == ["val/ap", "wall_min", "error"]


def test_bad_sources_are_one_line_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["wandb:my-team/audiorole"]) == 2
    assert "WANDB_API_KEY" in capsys.readouterr().err
    assert main(["wandb:audiorole"]) == 2
    assert "wandb:ENTITY/PROJECT" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere")]) == 2
    assert f"{tmp_path}/nowhere: no such file or folder" in capsys.readouterr().err
    with pytest.raises(AudioroleError, match="no runs found"):
        build_report([str(tmp_path)])


def test_wandb_runs_are_mapped_without_the_network(monkeypatch):
    """The W&B path with its client replaced: tags give the experiment, differing config values the settings."""
    import types

    import wandb

    from audiorole.report.wandb_runs import load_wandb_runs

    def fake_run(run_id, minutes, state, ap):
        config = {"character": {"name": "otis"}, "data": {"name": "demo", "max_minutes": minutes, "out_dir": f"/d/{run_id}"},
                  "optimized_metric": "val/ap", "seed": 1234}
        summary = types.SimpleNamespace(_json_dict={"val/ap": ap, "_runtime": 120.0, "trainer/global_step": 9, "epoch": 3})
        return types.SimpleNamespace(id=run_id, state=state, config=config, summary=summary, group="data_quantity",
                                     tags=["acoustic", "experiment:data_quantity"])

    class FakeApi:
        def __init__(self, api_key=None, timeout=None):
            assert api_key == "k" * 40

        def runs(self, path):
            assert path == "team/proj"
            return [fake_run("a", 1, "finished", 0.6), fake_run("b", None, "crashed", 0.1)]

    monkeypatch.setattr(wandb, "Api", FakeApi)
    runs = load_wandb_runs("wandb:team/proj", environ={"WANDB_API_KEY": "k" * 40})
    assert [(r.source, r.status, r.experiment, r.character) for r in runs] == [
        ("wandb:team/proj/a", "ok", "data_quantity", "otis"), ("wandb:team/proj/b", "failed", "data_quantity", "otis")]
    assert [r.settings for r in runs] == [{"data.max_minutes": 1}, {"data.max_minutes": None}]
    assert runs[0].metrics == {"val/ap": 0.6} and runs[0].wall_seconds == 120.0
