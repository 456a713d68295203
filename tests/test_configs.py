"""Every config combination composes, and resolves to what the entry points expect."""

import pytest
from omegaconf import OmegaConf

from conftest import CONF_DIR

STAGES = sorted(p.stem for p in (CONF_DIR / "stage").glob("*.yaml"))
CHARACTERS = sorted(p.stem for p in (CONF_DIR / "character").glob("*.yaml") if p.stem != "custom")
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONF_DIR / "trainer").glob("*.yaml"))
LOGGERS = sorted(p.stem for p in (CONF_DIR / "logger").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (CONF_DIR / "debug").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF_DIR / "hparams_search").glob("*.yaml"))


def test_groups_are_not_empty():
    assert {"acoustic", "semantic"} <= set(STAGES)
    assert {"tyrion", "mara", "otis", "june"} <= set(CHARACTERS)
    assert {"default", "gpu", "ddp", "fsdp", "deepspeed"} <= set(TRAINERS)
    assert {"wandb", "csv", "none"} <= set(LOGGERS)
    assert EXPERIMENTS and SEARCHES and DEBUGS


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("character", CHARACTERS)
def test_every_stage_and_character_composes(make_cfg, stage, character):
    cfg = make_cfg([f"stage={stage}", f"character={character}"])
    assert cfg.stage_name == stage
    assert cfg.character.name == character
    assert cfg.datamodule.character == character
    assert cfg.data.name and cfg.data.series_dir
    assert f"character:{character}" in cfg.tags
    # Nothing left for the user to fill in a shipped character.
    user = {k: v for k, v in cfg.items() if k != "hydra"}
    OmegaConf.to_container(OmegaConf.create(user), resolve=True, throw_on_missing=True)


def test_tyrion_points_at_game_of_thrones(make_cfg):
    cfg = make_cfg(["stage=acoustic", "character=tyrion"])
    assert cfg.data.name == "game_of_thrones"
    assert cfg.data.series_dir.endswith("series/game_of_thrones")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(make_cfg, experiment):
    cfg = make_cfg([f"experiment={experiment}"])
    assert cfg.task_name == experiment
    assert cfg.optimized_metric.startswith("val/")


@pytest.mark.parametrize("name", SEARCHES)
def test_every_hparams_search_composes(make_cfg, name):
    cfg = make_cfg([f"hparams_search={name}"])
    assert cfg.hydra.sweeper.direction in ("maximize", "minimize")
    assert cfg.hydra.sweeper.params


@pytest.mark.parametrize("trainer", TRAINERS)
def test_every_trainer_composes(make_cfg, trainer):
    cfg = make_cfg([f"trainer={trainer}"])
    assert cfg.trainer._target_ == "lightning.pytorch.trainer.Trainer"


@pytest.mark.parametrize("debug", DEBUGS)
def test_every_debug_composes(make_cfg, debug):
    cfg = make_cfg([f"debug={debug}"])
    assert cfg.trainer.accelerator == "cpu" and not cfg.logger


def test_run_dirs_do_not_collide(make_cfg):
    cfg = make_cfg([])
    raw = OmegaConf.to_container(cfg.hydra, resolve=False)
    assert "%f" in raw["run"]["dir"] and "audiorole.pid" in raw["run"]["dir"]
    assert raw["sweep"]["subdir"] == "${hydra.job.num}"


def test_wandb_is_offline_grouped_by_stage_and_tagged(make_cfg, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    cfg = make_cfg(["stage=semantic", "character=otis"])
    wandb = cfg.logger.wandb
    assert wandb.mode == "offline"
    assert wandb.group == "semantic"
    assert {"character:otis", "data:demo"} <= set(wandb.tags)


def test_checkpoint_monitors_the_optimised_metric(make_cfg):
    cfg = make_cfg(["stage=semantic"])
    assert cfg.callbacks.model_checkpoint.monitor == cfg.optimized_metric == "val/loss"


def test_prepare_config_and_slurm_launcher_compose(make_cfg):
    cfg = make_cfg(["hydra/launcher=slurm", "data.shard.count=4", "data.shard.index=3"], config_name="prepare")
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.data.shard.index == 3 and cfg.data.name == "demo"


PREP_GROUPS = {
    group: sorted(p.stem for p in (CONF_DIR / "data" / "prep" / group).glob("*.yaml"))
    for group in sorted(p.name for p in (CONF_DIR / "data" / "prep").iterdir() if p.is_dir())
}


@pytest.mark.parametrize("group, option", [(g, o) for g, opts in PREP_GROUPS.items() for o in opts])
def test_every_prep_backend_composes(make_cfg, group, option):
    cfg = make_cfg([f"data/prep/{group}={option}"], config_name="prepare")
    assert list(cfg.data.prep_order) == ["standardise", "diarize", "attribute", "transcribe", "scenes", "postprocess"]
    node = cfg.data.prep.postprocess[{"filter": "filter", "enhance": "enhancer"}[group]] if group in ("filter", "enhance") else cfg.data.prep[group]
    assert node._target_.startswith("audiorole.")


def _targets(node):
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield node["_target_"]
        for value in node.values():
            yield from _targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from _targets(value)


@pytest.mark.parametrize("path", sorted(CONF_DIR.rglob("*.yaml")), ids=lambda p: str(p.relative_to(CONF_DIR)))
def test_every_target_imports(path):
    import yaml
    from hydra.utils import get_object

    for target in _targets(yaml.safe_load(path.read_text()) or {}):
        assert get_object(target) is not None, target
