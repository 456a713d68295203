"""Experiments and searches: every job of every sweep composes, resolves, and keeps its data apart."""

import itertools
import json

import hydra.utils
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import OmegaConf

from audiorole.errors import ConfigError
from audiorole.utils.task import check_required
from conftest import CONF_DIR, ROOT

# The paper's analyses are sweeps; base_decoder and paper are one run each (recipes, tested in
# test_base_decoder.py and test_paper_preset.py).
SINGLE_RUNS = {"base_decoder", "paper"}
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml") if p.stem not in SINGLE_RUNS)
SEARCHES = sorted(p.stem for p in (CONF_DIR / "hparams_search").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))
# What a user must add on the command line for an experiment to run.
REQUIRED: dict[str, list[str]] = {}


def sweep_jobs(cfg) -> list[list[str]]:
    """The overrides of every job a basic-sweeper multirun launches (cartesian product of the params)."""
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=False)
    parser = OverridesParser.create()
    axes = []
    for key, value in params.items():
        [override] = parser.parse_overrides([f"{key}={value}"])
        axes.append([f"{override.get_key_element()}={v}" for v in override.sweep_string_iterator()])
    return [list(job) for job in itertools.product(*axes)]


def plain(cfg) -> dict:
    """The job's config fully resolved, as the job sees it (``${hydra:...}`` reads the job's own Hydra config)."""
    check_required(cfg)
    resolved = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True,
                                      throw_on_missing=True)
    resolved["hydra"] = {"mode": cfg.hydra.mode}
    return resolved


def job_configs(make_cfg, experiment: str, extra: list[str] = ()) -> list[dict]:
    """Every job's resolved config, each resolved right after it is composed (Hydra's config is global)."""
    base = [f"experiment={experiment}", *REQUIRED.get(experiment, []), *extra]
    return [plain(make_cfg(base + job)) for job in sweep_jobs(make_cfg(base))]


def test_the_paper_analyses_are_there():
    assert {"data_quantity", "enhancement", "per_character", "decoder_init"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_job_of_every_experiment_composes_and_resolves(make_cfg, experiment):
    configs = job_configs(make_cfg, experiment)
    assert len(configs) >= 2, "an experiment is a sweep"
    for resolved in configs:
        assert resolved["hydra"]["mode"] == RunMode.MULTIRUN
        assert resolved["task_name"] == experiment
        assert f"experiment:{experiment}" in resolved["tags"]
        assert resolved["logger"]["wandb"]["group"] == experiment
        assert (resolved["optimized_metric"], resolved["optimized_mode"]) == ("val/select", "max")
        assert resolved["callbacks"]["model_checkpoint"]["monitor"] == "val/select"
        assert resolved["callbacks"]["arp_eval"]["select"]["ceiling"] == 0.3  # the stage's declared rule
        assert "wer" in resolved["eval"]["metrics"]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_jobs_with_different_prep_never_share_a_prepared_dataset(make_cfg, experiment):
    prep_by_out_dir: dict[str, set[str]] = {}
    for cfg in job_configs(make_cfg, experiment):
        resolved = cfg["data"]
        recipe = json.dumps([resolved["series_dir"], resolved["prep"], resolved["prep_order"]], sort_keys=True)
        prep_by_out_dir.setdefault(resolved["out_dir"], set()).add(recipe)
    assert all(len(recipes) == 1 for recipes in prep_by_out_dir.values()), prep_by_out_dir


def test_enhancement_sweeps_2x2_each_with_its_own_dataset(make_cfg, tmp_path):
    configs = job_configs(make_cfg, "enhancement")
    post = [c["data"]["prep"]["postprocess"] for c in configs]
    arms = {(p["enhancer"]["_target_"].rsplit(".", 1)[-1], p["enhance_first"]) for p in post}
    assert arms == {("DFN3Onnx", True), ("DFN3Onnx", False), ("NoEnhancer", True), ("NoEnhancer", False)}
    out_dirs = {c["data"]["out_dir"] for c in configs}
    assert len(out_dirs) == 4 and all(d.startswith(f"{tmp_path}/data/prepared/demo-enh-") for d in out_dirs)


def test_data_quantity_caps_otis_at_about_a_quarter_half_and_all(make_cfg):
    configs = job_configs(make_cfg, "data_quantity")
    assert [c["data"]["max_minutes"] for c in configs] == [1, 2, None]
    assert {c["character"]["name"] for c in configs} == {"otis"}
    assert all(c["datamodule"]["max_minutes"] == c["data"]["max_minutes"] for c in configs)
    assert len({c["data"]["out_dir"] for c in configs}) == 1  # same recipe: one prepared dataset


def test_per_character_covers_every_demo_character(make_cfg):
    series = ROOT / "audiorole" / "demo" / "series"
    demo_cast = {name for name in yaml.safe_load((series / "characters.yaml").read_text())["characters"]
                 if (series / "characters" / name).is_dir()}
    names = [c["character"]["name"] for c in job_configs(make_cfg, "per_character")]
    assert sorted(names) == sorted(demo_cast) == ["june", "mara", "otis"]


def test_decoder_init_arms_and_the_missing_base_decoder(make_cfg):
    from audiorole.models.flow.base_decoder import base_decoder_dir

    arms = {c["decoder_init"]: c["model"]["init_from"] for c in job_configs(make_cfg, "decoder_init")}
    assert arms == {"scratch": None, "base": base_decoder_dir()}  # the shipped base decoder by default
    given = {c["decoder_init"]: c["model"]["init_from"]
             for c in job_configs(make_cfg, "decoder_init", ["base_decoder=/models/base/decoder"])}
    assert given == {"scratch": None, "base": "/models/base/decoder"}
    for arm in ("scratch", "base"):
        with pytest.raises(ConfigError, match=r"missing config values: base_decoder; .*base_decoder=\.\.\."):
            check_required(make_cfg(["experiment=decoder_init", f"decoder_init={arm}", "base_decoder=???"]))


@pytest.mark.parametrize("name", SEARCHES)
@pytest.mark.parametrize("mode", ["max", "min"])
def test_search_direction_follows_optimized_mode(make_cfg, name, mode):
    cfg = make_cfg([f"hparams_search={name}", f"optimized_mode={mode}"])
    sweeper = hydra.utils.instantiate(cfg.hydra.sweeper)
    assert sweeper.sweeper.direction == {"max": "maximize", "min": "minimize"}[mode]
    assert cfg.optimized_metric == "val/select" and f"hparams_search:{name}" in cfg.tags


@pytest.mark.parametrize("name", SEARCHES)
def test_search_params_are_valid_optuna_spaces_over_existing_keys(make_cfg, name):
    from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override

    cfg = make_cfg([f"hparams_search={name}"])
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=False)
    for override in OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()]):
        assert create_optuna_distribution_from_override(override) is not None
        assert OmegaConf.select(cfg, override.key_or_group) is not None, f"{override.key_or_group} is not a config key"
    [lr] = OverridesParser.create().parse_overrides([f"lr={params['model.optimizer.lr']}"])
    assert create_optuna_distribution_from_override(lr).log  # learning rates are searched on a log scale


def test_multinode_trainer_follows_the_slurm_allocation(make_cfg, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_NUM_NODES", raising=False)
    cfg = make_cfg(["trainer=ddp_multinode"])
    assert (cfg.trainer.num_nodes, cfg.trainer.strategy, cfg.trainer.accelerator) == (1, "ddp", "gpu")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "4")
    assert cfg.trainer.num_nodes == 4


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_every_launcher_composes_for_training(make_cfg, launcher):
    cfg = make_cfg(["experiment=per_character", f"hydra/launcher={launcher}", "trainer=ddp_multinode"])
    launcher_cfg = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher_cfg["_target_"].endswith("SlurmLauncher")
    assert launcher_cfg["submitit_folder"].startswith(cfg.hydra.sweep.dir)
    assert launcher_cfg["tasks_per_node"] == (launcher_cfg["gpus_per_node"] if launcher == "slurm_ddp" else 1)
