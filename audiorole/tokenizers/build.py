"""Build a tokenizer from config, fitting it on the dataset when it needs that.

A tokenizer config either builds a ready tokenizer (GLM-4-Voice's), or a
partial that still needs the dataset's audio (the offline tokenizer, fitted on
the train part of the dataset split the first time and loaded afterwards).
"""

from collections.abc import Callable, Iterable

import numpy as np


def build_tokenizer(cfg, clips_provider: Callable[[], Iterable[np.ndarray]], fit_on: str | None = None):
    """``fit_on`` names the audio ``clips_provider`` gives (a fitted tokenizer refits when it changes)."""
    import hydra

    built = hydra.utils.instantiate(cfg, _convert_="partial")
    if hasattr(built, "encode_many"):
        return built
    return built(clips_provider=clips_provider, fit_on=fit_on)
