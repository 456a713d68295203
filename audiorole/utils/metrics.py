"""Read the metric a sweep optimises out of what a run logged."""

import math
from collections.abc import Mapping
from typing import Any

from audiorole.errors import ConfigError


def metric_value(metrics: Mapping[str, Any], name: str | None) -> float | None:
    """The value of ``name`` as a float; ``None`` when no metric is optimised.

    A name the run never logged is a config mistake (a sweep would optimise
    nothing), so it is an error that lists what was logged.
    """
    if not name:
        return None
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "nothing"
        raise ConfigError(f"optimized_metric '{name}' was not logged (logged: {logged}); set optimized_metric to one of them")
    value = float(metrics[name])
    return value if math.isfinite(value) else None
