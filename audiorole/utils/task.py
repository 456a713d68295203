"""Run an entry point's task: W&B offline by default, one-line user errors, W&B always finished.

Errors a user can fix (``AudioroleError``, a missing ``???`` config value) are
printed as one line without a traceback. In a multirun sweep a failed job is
recorded in its run folder and the sweep goes on; in a single run the process
exits with status 2. Every run, failed or not, leaves ``run.json`` in its output
folder (``audiorole.utils.run_record``).
"""

import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from audiorole.errors import AudioroleError, ConfigError
from audiorole.utils.run_record import write_run_record

log = logging.getLogger(__name__)


def user_error(exc: BaseException) -> str | None:
    """The one-line message for an error the user can fix, else ``None``.

    Hydra's ``instantiate`` wraps constructor errors, so follow the cause chain.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AudioroleError):
            return str(exc)
        if isinstance(exc, OmegaConfBaseException):
            key = getattr(exc, "full_key", None)
            msg = (getattr(exc, "msg", None) or str(exc)).splitlines()[0]
            return f"config error at '{key}': {msg} (set it on the command line, e.g. {key}=...)" if key else f"config error: {msg}"
        exc = exc.__cause__ or exc.__context__
    return None


def _missing_keys(node, prefix: str = "") -> list[str]:
    """Keys whose value is ``???``, found without resolving interpolations."""
    found = []
    keys = list(node.keys()) if isinstance(node, DictConfig) else range(len(node))
    for key in keys:
        full = f"{prefix}{key}"
        if OmegaConf.is_missing(node, key):
            found.append(full)
            continue
        child = node._get_node(key)
        if isinstance(child, (DictConfig, ListConfig)) and not OmegaConf.is_interpolation(node, key):
            found += _missing_keys(child, f"{full}.")
    return found


def check_required(cfg: DictConfig) -> None:
    """Name every ``???`` value still unset, before anything runs."""
    missing = sorted(k for k in _missing_keys(cfg) if not k.startswith("hydra."))
    if missing:
        example = " ".join(f"{k}=..." for k in missing)
        raise ConfigError(f"missing config values: {', '.join(missing)}; set them on the command line, e.g. {example}")


def finish_wandb(exit_code: int = 0) -> None:
    """Close an open W&B run so offline runs are complete and sweeps start fresh runs."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=exit_code)


def _is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _report(message: str) -> None:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():  # Hydra's logging shows it and keeps it in the run's log file
        log.error(message)
    else:
        print(f"error: {message}", file=sys.stderr)


def task_wrapper(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        # Offline unless the user opted in with WANDB_MODE=online.
        os.environ.setdefault("WANDB_MODE", "offline")
        exit_code = 0
        start = time.perf_counter()
        try:
            check_required(cfg)
            result = task(cfg)
            metrics = result if isinstance(result, Mapping) else None
            write_run_record(cfg, "ok", metrics, wall_seconds=time.perf_counter() - start)
            return result
        except Exception as exc:
            exit_code = 1
            message = user_error(exc)
            # A bug keeps its traceback in the log; the record gets its one-line summary.
            first_line = (str(exc).splitlines() or [""])[0]
            write_run_record(cfg, "failed", error=message or f"{type(exc).__name__}: {first_line}",
                             wall_seconds=time.perf_counter() - start)
            if message is None:
                raise
            _report(message)
            if _is_multirun():
                return None
            raise SystemExit(2) from None
        finally:
            finish_wandb(exit_code)

    return wrapped
