"""Score a checkpoint (and baselines) with ARP-Eval.

    python evaluate.py character=mara ckpt_path=logs/train/runs/.../checkpoints/last.ckpt
"""

import logging

import hydra
from omegaconf import DictConfig

import audiorole.utils.resolvers  # noqa: F401
from audiorole.utils.instantiate import instantiate_group
from audiorole.utils.logging import log_config
from audiorole.utils.metrics import metric_value
from audiorole.utils.task import task_wrapper

log = logging.getLogger("evaluate")


@task_wrapper
def evaluate(cfg: DictConfig) -> dict:
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    if cfg.get("model") is None:
        datamodule.prepare_data()
        log.warning("stage '%s' has no model yet: nothing to evaluate (dataset prepared at %s).", cfg.stage_name, cfg.data.out_dir)
        return {}

    model = hydra.utils.instantiate(cfg.model)
    loggers = instantiate_group(cfg.get("logger"))
    trainer = hydra.utils.instantiate(cfg.trainer, logger=loggers or False)
    log_config(cfg, loggers)
    trainer.validate(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return dict(trainer.callback_metrics)


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float | None:
    metrics = evaluate(cfg)
    return metric_value(metrics, cfg.get("optimized_metric")) if metrics else None


if __name__ == "__main__":
    main()
