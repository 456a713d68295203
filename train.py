"""Train one stage for one character.

    python train.py stage=acoustic character=mara
    python train.py -m experiment=data_quantity

Composes the config, seeds, prepares the dataset, fits (selecting on the dev part),
validates the selected checkpoint on dev (``val/...``), tests it on the test part
(``test/...``: the numbers to report), and returns the optimised metric (a dev
metric) so Hydra sweepers (Optuna) can use it.
"""

import logging

import hydra
import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor
from omegaconf import DictConfig

import audiorole.utils.resolvers  # noqa: F401  (registers ${audiorole.*} before Hydra resolves paths)
from audiorole.utils.instantiate import instantiate_group
from audiorole.utils.logging import log_config
from audiorole.utils.metrics import metric_value
from audiorole.utils.task import task_wrapper
from lightning_modules.selection import selected_path

log = logging.getLogger("train")


@task_wrapper
def train(cfg: DictConfig) -> dict:
    L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    if cfg.get("model") is None:
        datamodule.prepare_data()
        log.warning("stage '%s' has no model yet: the dataset is prepared at %s; stopping before training.",
                    cfg.stage_name, cfg.data.out_dir)
        return {}

    model = hydra.utils.instantiate(cfg.model)
    loggers = instantiate_group(cfg.get("logger"))
    callbacks = instantiate_group(cfg.get("callbacks"))
    if not loggers:  # logger=none: a learning-rate monitor has nowhere to write and Lightning refuses it
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    log_config(cfg, loggers)

    if cfg.train:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = dict(trainer.callback_metrics)
    best = selected_path(trainer) if cfg.train else None
    if cfg.validate:
        trainer.validate(model, datamodule=datamodule, ckpt_path=best or None)
        metrics.update(trainer.callback_metrics)
    if cfg.get("test"):
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
        metrics.update(trainer.callback_metrics)
    metric_value(metrics, cfg.get("optimized_metric"))  # a metric never logged fails here, as this run's error
    return metrics


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    return metric_value(metrics, cfg.get("optimized_metric")) if metrics else None


if __name__ == "__main__":
    main()
