"""Send audio, tables and a few run facts to whichever Lightning loggers support them.

W&B gets ``wandb.Audio`` samples and a ``wandb.Table``; TensorBoard gets ``add_audio``
and a Markdown text; the rest (CSV) get what they can hold (metrics, hyperparameters).
"""

from __future__ import annotations

import numpy as np


def _kind(logger) -> str:
    from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

    if isinstance(logger, WandbLogger):
        return "wandb"
    if isinstance(logger, TensorBoardLogger):
        return "tensorboard"
    return "other"


def log_audio(loggers, key: str, waves: list[np.ndarray], sample_rates: list[int], captions: list[str],
              step: int) -> int:
    """Log audio samples where supported; returns how many loggers took them."""
    import torch

    took = 0
    for logger in loggers:
        kind = _kind(logger)
        if kind == "wandb":
            logger.log_audio(key, [np.asarray(w, dtype=np.float32) for w in waves], step=step,
                             sample_rate=list(sample_rates), caption=list(captions))
        elif kind == "tensorboard":
            for i, (wave, sr) in enumerate(zip(waves, sample_rates)):
                logger.experiment.add_audio(f"{key}/{i}", torch.as_tensor(np.asarray(wave, np.float32))[None],
                                            step, sample_rate=int(sr))
        else:
            continue
        took += 1
    return took


def log_table(loggers, key: str, columns: list[str], rows: list[list], markdown: str | None = None) -> None:
    """A results table: a ``wandb.Table`` on W&B, Markdown text on TensorBoard."""
    for logger in loggers:
        kind = _kind(logger)
        if kind == "wandb":
            logger.log_table(key=key, columns=columns, data=rows)
        elif kind == "tensorboard" and markdown:
            logger.experiment.add_text(key, markdown)


def log_facts(loggers, facts: dict) -> None:
    """Run-level facts (e.g. which backend produced each metric) as hyperparameters / W&B config."""
    for logger in loggers:
        logger.log_hyperparams(facts)
        if _kind(logger) == "wandb":
            logger.experiment.summary.update(facts)


def log_eval_report(loggers, report: dict, metrics: dict) -> None:
    """evaluate.py's results: metrics as ``test/…`` on test items (``val/…`` when it scored the dev part, so a
    selection run is never read as a reported one), the results table, backends and training hours."""
    from audiorole.eval.table import markdown, result_rows

    prefix = "test" if (report.get("split") or {}).get("part", "test") == "test" else "val"
    rows = result_rows(report)
    columns = list(rows[0]) if rows else []
    for logger in loggers:
        logger.log_metrics({f"{prefix}/{k}": v for k, v in metrics.items()})
    log_table(loggers, f"{prefix}/table", columns, [[r[c] for c in columns] for r in rows], markdown(report))
    log_facts(loggers, {"arp_eval/backends": report["backends"],
                        "arp_eval/train_hours": {c: v["train_hours"] for c, v in report["characters"].items()}})
    for logger in loggers:
        logger.save()
