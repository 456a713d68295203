"""How many episode processes a prepare run uses (``data.workers``).

Episodes are independent, and most steps of the offline face are single-threaded
(ONNX scoring, enhancement, clustering), so on a small machine two episodes side by
side use the cores that one leaves idle (docs/prep_speed.md). Each process loads its
own models, so ``auto`` is bounded by memory as well as by cores.
"""

import psutil

from audiorole.errors import ConfigError
from audiorole.utils.cpus import usable_cpus

# Peak resident memory of one episode process of the offline face, measured on the demo
# (3.5 GiB, docs/prep_speed.md), with headroom for longer episodes.
WORKER_MEMORY_BYTES = 4 * 2**30


def resolve_workers(value, episodes: int) -> int:
    """``value`` as given (an int >= 1), or for ``auto`` the most processes the cores and the
    available memory allow, never more than there are episodes; 1 where a GPU is visible
    (the real face's models share a GPU poorly: set it per GPU yourself)."""
    if value is None:
        return 1
    if isinstance(value, str) and value.strip().lower() == "auto":
        if _gpu_visible():
            return 1
        by_memory = psutil.virtual_memory().available // WORKER_MEMORY_BYTES
        return max(1, min(episodes, usable_cpus(), by_memory))
    try:
        workers = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"data.workers={value!r}: give a number of processes (>= 1) or 'auto'") from None
    if workers < 1:
        raise ConfigError(f"data.workers={value!r}: give a number of processes (>= 1) or 'auto'")
    return workers


def _gpu_visible() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False
