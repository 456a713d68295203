"""Score systems (a trained decoder, baselines, ground truth) with ARP-Eval.

    python evaluate.py character=mara decoder=logs/train/runs/<run>/decoder
    python evaluate.py systems=[ground_truth,untrained] characters=all

Composes the config, prepares the dataset, builds the evaluator and the selected
systems, scores them on the dataset split's test replies (``part=dev`` for the
selection part; ``audiorole.eval.run``), writes eval.json / eval.md / eval.csv /
plots into the run folder (each mean with n, coverage and a 95 % bootstrap interval;
the configured ``comparisons`` with paired intervals), logs them to the loggers as
``test/...`` and returns ``return_metric`` (``<system>/<metric>``; default: the first
system's first metric, AP unless the stage scores text only) for sweeps. ``stage=semantic``
with ``systems=[ground_truth,lm,untrained_lm] adapter=<run>/lm/adapter`` scores the
semantic stage's LM, trained and untrained. A decoder trained on another split or dataset is refused (its
training replies may be among the scored ones).
"""

import logging

import hydra
from omegaconf import DictConfig, open_dict

import audiorole.utils.resolvers  # noqa: F401  (registers ${audiorole.*} before Hydra resolves paths)
from audiorole.errors import ConfigError
from audiorole.eval.run import flat_metrics, run_evaluation
from audiorole.eval.table import markdown
from audiorole.eval.threads import torch_threads
from audiorole.utils.instantiate import instantiate_group
from audiorole.utils.logging import log_config
from audiorole.utils.metrics import metric_value
from audiorole.utils.task import task_wrapper
from callbacks.logger_media import log_eval_report

log = logging.getLogger("evaluate")


def _resolve_return_metric(cfg: DictConfig, systems: list) -> None:
    """``return_metric`` as given, else the first selected system's first metric (AP unless the stage
    scores others, e.g. the semantic stage's CQ); a system not selected is an error."""
    name = cfg.get("return_metric")
    if name and name.split("/")[0] not in {s.name for s in systems}:
        raise ConfigError(f"return_metric={name} names a system that is not selected "
                          f"({', '.join(s.name for s in systems)}); set return_metric=<system>/ap or null")
    if not name and systems:
        with open_dict(cfg):
            cfg.return_metric = f"{systems[0].name}/{(cfg.eval.get('metrics') or ['ap'])[0]}"


@task_wrapper
def evaluate(cfg: DictConfig) -> dict:
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    datamodule.prepare_data()
    systems = instantiate_group(cfg.get("systems"))
    _resolve_return_metric(cfg, systems)
    evaluator = hydra.utils.instantiate(cfg.eval)
    loggers = instantiate_group(cfg.get("logger"))
    log_config(cfg, loggers)

    with torch_threads(cfg.get("threads")):
        report = run_evaluation(evaluator, systems, cfg.data.out_dir, cfg.data.series_dir, cfg.characters,
                                cfg.paths.output_dir, part=cfg.part, seed=getattr(datamodule, "seed", 0),
                                max_items=cfg.get("max_items"),
                                max_minutes=getattr(datamodule, "max_minutes", None),
                                save_audio=cfg.get("save_audio", 0), compare=cfg.get("comparisons") or ())
    metrics = flat_metrics(report)
    log_eval_report(loggers, report, metrics)
    log.info("ARP-Eval results in %s:\n%s", cfg.paths.output_dir, markdown(report))
    return metrics


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float | None:
    metrics = evaluate(cfg)
    return metric_value(metrics, cfg.get("return_metric")) if metrics else None


if __name__ == "__main__":
    main()
