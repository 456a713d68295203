"""What a trained artifact records about its data, and the check that keeps it off its own training items.

An export (``<run>/decoder``, ``<run>/adapter``) holds ``trained_on.json``: the dataset
split it was trained and selected on (split and dataset fingerprints), the character,
and which checkpoint selection picked (metric, value, step). A Lightning checkpoint
carries the same under its ``trained_on`` key. Scoring compares the record with the
dataset's ``splits.json``: another split or another dataset may have trained on the very
replies being scored, so it is refused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.utils.atomic import write_json

log = logging.getLogger(__name__)
FILENAME = "trained_on.json"


def write_trained_on(directory: str | Path, record: dict) -> Path:
    path = Path(directory) / FILENAME
    write_json(path, record)
    return path


def read_trained_on(source: str | Path) -> tuple[Path, dict | None]:
    """(where the record is or would be, the record or None) for an export folder or a .ckpt."""
    source = Path(source)
    if source.is_dir():
        path = source / FILENAME
        return path, (json.loads(path.read_text()) if path.is_file() else None)
    if source.is_file() and source.suffix == ".ckpt":
        import torch

        # Lightning checkpoints pickle their hyperparameters; these are the user's own training outputs.
        return source, torch.load(source, map_location="cpu", weights_only=False).get("trained_on")
    return source, None


def check_not_trained_on(source: str | Path, splits, part: str) -> None:
    """Refuse (one line) when ``source`` was trained on another split or dataset than ``splits``; warn when unknown."""
    where, record = read_trained_on(source)
    trained = (record.get("split_fingerprint"), record.get("dataset_fingerprint")) if record else (None, None)
    if trained == (None, None):
        # No record, or one of data that is not a prepared dataset (the shipped base decoder's base corpus).
        log.warning("%s: no record of the prepared dataset it was trained on (%s); cannot check that the %s items "
                    "were held out from it", source, FILENAME, part)
        return
    if trained != (splits.fingerprint, splits.dataset_fingerprint):
        raise AudioroleError(
            f"{where}: trained on split {str(trained[0])[:12]} of dataset {str(trained[1])[:12]}, but {splits.path} is split {splits.fingerprint[:12]} of "
            f"dataset {splits.dataset_fingerprint[:12]}, so its training replies may be among the {part} items; "
            "evaluate it with the data=... it was trained on, or retrain it on this dataset")
