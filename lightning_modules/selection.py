"""What a stage exports: the checkpoint selection picked (best on the dev metric), and a record of its data.

``restore_selected`` loads the monitored ``ModelCheckpoint``'s best weights into the
module at the end of fit, so the export is the checkpoint that was scored, not the
last epoch; with nothing monitored (no checkpoint callback, or no validation ran)
the last weights are exported and the record says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def data_record(trainer) -> dict:
    """The split (``splits.json`` fingerprints), the character and the speech tokens the datamodule trained on."""
    dm = getattr(trainer, "datamodule", None)
    splits = getattr(dm, "splits", None)
    record = {**(splits.identity if splits is not None else {}), "character": getattr(dm, "character", None)}
    token_dir = getattr(dm, "token_dir", None)
    if token_dir is not None:  # the token cache is keyed by the tokenizer's fingerprint
        record["speech_tokens"] = Path(token_dir).name
    return record


def selecting_checkpoint(trainer):
    """The ``ModelCheckpoint`` that monitors a metric (others only keep ``last.ckpt``), or None."""
    return next((c for c in trainer.checkpoint_callbacks if c.monitor), None)


def selected_path(trainer) -> str | None:
    checkpoint = selecting_checkpoint(trainer)
    return (checkpoint.best_model_path or None) if checkpoint is not None else None


def restore_selected(module) -> dict:
    """Load the selected checkpoint's weights into ``module``; returns the export's ``trained_on`` record."""
    import torch

    trainer = module.trainer
    checkpoint = selecting_checkpoint(trainer)
    best = selected_path(trainer) or ""
    record = data_record(trainer)
    if not best or not Path(best).is_file():
        log.warning("exporting the last weights: no monitored checkpoint was saved (validation never ran, or "
                    "checkpointing is off), so nothing was selected")
        record["selection"] = {"metric": None, "value": None, "checkpoint": None,
                               "global_step": trainer.global_step, "epoch": trainer.current_epoch}
        return record
    state = torch.load(best, map_location="cpu", weights_only=False)
    # A module's checkpoints may hold a subset of its weights (LoRA adapters only); never unknown ones.
    result = module.load_state_dict(state["state_dict"], strict=False)
    if result.unexpected_keys:
        raise RuntimeError(f"{best}: weights the module does not have (e.g. {result.unexpected_keys[0]})")
    value = checkpoint.best_model_score
    record["selection"] = {"metric": checkpoint.monitor, "mode": checkpoint.mode,
                           "value": None if value is None else float(value), "checkpoint": str(best),
                           "global_step": int(state["global_step"]), "epoch": int(state["epoch"])}
    log.info("exporting the selected checkpoint %s (%s=%s at step %d)", best, checkpoint.monitor,
             record["selection"]["value"], record["selection"]["global_step"])
    return record
