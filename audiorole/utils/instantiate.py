"""Build lists of objects (callbacks, loggers) from a config group of named entries."""

from typing import Any

import hydra
from omegaconf import DictConfig


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of ``group`` that has a ``_target_``; skip nulls.

    Groups are dicts of named entries (``model_checkpoint: {...}``) so that a
    single entry can be overridden or removed (``callbacks.early_stopping=null``).
    """
    if not group:
        return []
    if not isinstance(group, DictConfig):
        raise TypeError(f"expected a dict of named entries, got {type(group).__name__}")
    return [hydra.utils.instantiate(entry) for entry in group.values() if entry and "_target_" in entry]
