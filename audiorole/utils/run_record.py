"""``run.json``: what one train/evaluate run was and how it ended, for comparing runs.

Every run (each job of a multirun sweep too) leaves ``<paths.output_dir>/run.json``,
whether it succeeded or failed, so ``python -m audiorole.report`` can tabulate a
sweep without W&B or a network. It holds the status and a one-line error, the
run's identity (task, stage, character, data, experiment), the Hydra overrides
that made this job different, the final metrics as floats, the optimised metric,
the wall time and the resolved config with credentials masked.
"""

import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from audiorole.utils.atomic import write_json
from audiorole.utils.secrets import MASK, is_secret_name, redact

log = logging.getLogger(__name__)

FILENAME = "run.json"
# Environment variables that hold a process's rank under torchrun, SLURM (srun) and
# Lightning's own launcher: only the process where all of them are 0 writes.
_RANK_VARS = ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK")


def is_rank_zero(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return all(environ.get(name, "0") == "0" for name in _RANK_VARS)


def float_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float | None]:
    """Scalar metrics as floats (tensors included); NaN/inf become ``None`` so the JSON stays standard."""
    out: dict[str, float | None] = {}
    for name, value in (metrics or {}).items():
        try:
            number = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError, RuntimeError):  # not a scalar: not a metric to compare
            continue
        out[str(name)] = number if math.isfinite(number) else None
    return out


def _hydra() -> DictConfig | None:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _plain(node: DictConfig | ListConfig) -> Any:
    """The node resolved; where a part cannot resolve (a failed run's ``???``), that part keeps its raw text."""
    try:
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=False)
    except Exception:
        pass
    keys = list(node.keys()) if isinstance(node, DictConfig) else range(len(node))
    out = {k: _plain_child(node, k) for k in keys}
    return out if isinstance(node, DictConfig) else list(out.values())


def _plain_child(node, key) -> Any:
    child = node._get_node(key)
    if isinstance(child, (DictConfig, ListConfig)) and not child._is_interpolation():
        return _plain(child)
    try:
        value = node[key]
    except Exception:
        return child._value()  # e.g. "${base_decoder}"
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def _config(cfg: DictConfig) -> dict:
    """The resolved config with credentials masked (as logged to W&B), without Hydra's own node."""
    plain = _plain(cfg)
    plain.pop("hydra", None)  # present only in configs composed with the Hydra node (tests)
    return redact(plain)


def _select(cfg: DictConfig, key: str) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    except Exception:
        return None
    return None if value == "???" else value


def _character_minutes(cfg: DictConfig) -> float | None:
    """Minutes of the character's kept replies in the prepared dataset (its ``stats.json``), when present."""
    out_dir, character = _select(cfg, "data.out_dir"), _select(cfg, "character.name")
    path = Path(str(out_dir)) / "stats.json" if out_dir else None
    if not path or not character or not path.is_file():
        return None
    try:
        seconds = json.loads(path.read_text())["per_character"][character]["seconds"]
    except (ValueError, KeyError, TypeError):
        return None
    return round(float(seconds) / 60, 3)


def _masked(overrides) -> list[str]:
    """Command-line overrides, with the value of any credential-named key masked (``judge.api_key=...``)."""
    out = []
    # As typed: an override value like ${base_decoder} is text here, not an interpolation to resolve.
    for item in OmegaConf.to_container(overrides, resolve=False):
        key, sep, _ = str(item).partition("=")
        out.append(f"{key}={MASK}" if sep and is_secret_name(key.lstrip("+~")) else str(item))
    return out


def build_record(cfg: DictConfig, status: str, metrics: Mapping[str, Any] | None = None,
                 error: str | None = None, wall_seconds: float | None = None) -> dict:
    hydra_cfg = _hydra()
    choices = dict(hydra_cfg.runtime.choices) if hydra_cfg is not None else {}
    sweep_params = hydra_cfg.sweeper.get("params") if hydra_cfg is not None else None
    values = float_metrics(metrics)
    # What the entry point returns to a sweeper: evaluate.py's return_metric, else the training objective.
    returned = _select(cfg, "return_metric")
    optimized = returned or _select(cfg, "optimized_metric")
    record = {
        "status": status,
        "error": error,
        "task_name": _select(cfg, "task_name"),
        "stage": _select(cfg, "stage_name"),
        "character": _select(cfg, "character.name"),
        "data": _select(cfg, "data.name"),
        "experiment": choices.get("experiment") or choices.get("hparams_search"),
        "overrides": _masked(hydra_cfg.overrides.task) if hydra_cfg is not None else [],
        "sweep_params": sorted(sweep_params) if sweep_params else [],
        "job_num": _select(hydra_cfg, "job.num") if hydra_cfg is not None else None,
        "output_dir": _select(cfg, "paths.output_dir"),
        "character_minutes": _character_minutes(cfg),
        "metrics": values,
        "optimized_metric": {"name": optimized, "mode": None if returned else _select(cfg, "optimized_mode"),
                             "value": values.get(optimized) if optimized else None},
        "wall_seconds": None if wall_seconds is None else round(wall_seconds, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": _config(cfg),
    }
    if status == "ok" and optimized and optimized not in values:
        record["error"] = f"the optimised metric '{optimized}' was not logged"
    return redact(record)


def write_run_record(cfg: DictConfig, status: str, metrics: Mapping[str, Any] | None = None,
                     error: str | None = None, wall_seconds: float | None = None) -> Path | None:
    """Write ``run.json`` in the run's output folder (rank 0 only); never raises, so it cannot mask the run's own error."""
    if not is_rank_zero():
        return None
    try:
        out_dir = _select(cfg, "paths.output_dir")
        if not out_dir:
            return None
        path = Path(str(out_dir)) / FILENAME
        write_json(path, build_record(cfg, status, metrics, error, wall_seconds))
        return path
    except Exception as exc:  # a record is a convenience; losing it must not fail the run
        log.warning("could not write %s: %s", FILENAME, exc, exc_info=True)
        return None
