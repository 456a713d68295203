"""Fit the offline tokenizer once and reuse it: an idempotent step for pipelines.

The artifact folder is replaced in renames (a temp folder beside it, then
``os.replace``), so a crash mid-fit leaves the old artifact or none, never half.
"""

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from audiorole.tokenizers.base import TokenizerError
from audiorole.tokenizers.offline import OfflineTokenizer, check_settings
from audiorole.utils.atomic import atomic_dir

log = logging.getLogger(__name__)
FIT_ON = "fit_on.json"  # which audio the codebook was fitted on


def _saved_settings(directory: Path) -> dict | None:
    try:
        return json.loads((directory / "config.json").read_text()).get("settings")
    except (OSError, ValueError):
        return None


def _saved_fit_on(directory: Path) -> str | None:
    try:
        return json.loads((directory / FIT_ON).read_text()).get("fit_on")
    except (OSError, ValueError):
        return None


def fit_or_load(directory: str | Path, clips_provider: Callable[[], Iterable[np.ndarray]] | Iterable[np.ndarray],
                *, threads: int = 0, batch_size: int = 1, sample_rate: int | None = None, fit_on: str | None = None,
                **settings) -> OfflineTokenizer:
    """The tokenizer saved in ``directory`` if its settings and ``fit_on`` match; else fit on the clips and save it.

    ``fit_on`` names the audio the clips are (e.g. the train part of one dataset
    split): a tokenizer fitted on other audio is refitted, so held-out audio
    never shapes the codebook. ``clips_provider`` is called (or iterated) only
    when fitting, so a rerun decodes no audio. Long clips fit fastest: each 30 s
    window costs one encoder pass however much speech it holds.
    """
    directory = Path(directory)
    wanted = check_settings(settings)
    saved = _saved_settings(directory)
    saved_fit_on = _saved_fit_on(directory)
    if saved is not None and saved_fit_on != fit_on:
        log.info("refitting the offline tokenizer in %s: it was fitted on %s, not %s", directory, saved_fit_on, fit_on)
    elif saved == wanted:
        try:
            return OfflineTokenizer.load(directory, threads=threads, batch_size=batch_size)
        except TokenizerError as e:
            log.warning("refitting the offline tokenizer: %s", e)
    elif saved is not None:
        changed = sorted(k for k in wanted if saved.get(k) != wanted[k])
        log.info("refitting the offline tokenizer in %s: settings changed (%s)", directory, ", ".join(changed))
    clips = list(clips_provider() if callable(clips_provider) else clips_provider)
    if not clips:
        raise TokenizerError(f"{directory}: no clips to fit the offline tokenizer on; check the dataset has audio")
    tok = OfflineTokenizer.fit(clips, sample_rate=sample_rate, threads=threads, batch_size=batch_size, **wanted)
    with atomic_dir(directory) as tmp:
        tok.save(tmp)
        (tmp / FIT_ON).write_text(json.dumps({"fit_on": fit_on}) + "\n")
    log.info("fitted offline tokenizer %s (%d codes) in %s", tok.fingerprint[:12], tok.codebook_size, directory)
    return tok
