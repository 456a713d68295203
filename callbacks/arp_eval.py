"""ARP-Eval at validation (dev replies, ``val/ap`` & co.) and at test (test replies, ``test/ap`` & co.).

At the end of a validation epoch (not the sanity check; every ``every_n_epochs`` epochs
while fitting, always under ``trainer.validate``) rank 0 takes up to ``max_items`` of the
character's dev replies (the dataset split's selection part) from the datamodule's prepared
dataset, asks the module for its answers (``pl_module.respond(items) -> list[Output]``),
scores them with the evaluator
and broadcasts the scores, so every rank logs the same ``val/ap``, ``val/ap_margin``,
``val/aq``, ``val/cq``, ``val/cp``, ``val/wer``, ``val/cer`` (a checkpoint monitoring them then
agrees across ranks under DDP), each with ``_n``, ``_coverage``, ``_ci_low``, ``_ci_high`` and
``_unscoreable``, and, with ``select`` (``audiorole.eval.selection``), the declared selection
score ``val/select`` a checkpoint can monitor. ``respond`` runs on rank 0 alone, so it must
not need collective ops.
Scoring runs with ``threads`` torch threads (default 1: faster for these small models on
shared cores), restored afterwards; weights already scored (``trainer.validate`` reloading
the selected checkpoint) reuse their scores. It also logs the multi-turn consistency
(``val/consistency/ap_std`` ...), the backend names once, a few samples to loggers that
take audio, and writes them under the run dir in ``samples/epoch_XXX/``.

Under ``trainer.test`` (``train.py`` runs it on the selected checkpoint after fit) the
same scoring runs over up to ``max_test_items`` of the character's test replies (default:
all, as ``evaluate.py`` scores them) and logs ``test/...``: the run's reported numbers.
Validation never reads test replies.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from lightning.pytorch import Callback

from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.consistency import multi_turn_consistency
from audiorole.eval.eval_set import held_out_items
from audiorole.eval.run import load_references, prepare_evaluator
from audiorole.eval.samples import write_samples
from audiorole.eval.metrics import STATS
from audiorole.eval.threads import torch_threads
from callbacks.logger_media import log_audio, log_facts

log = logging.getLogger(__name__)
_DATAMODULE_NEEDS = ("data", "character")
_PREFIX = {"dev": "val", "test": "test"}  # what each part's scores are logged as


class ARPEvalCallback(Callback):
    def __init__(self, evaluator, every_n_epochs: int = 1, max_items: int | None = 16, log_audio: int = 3,
                 metrics=None, consistency: bool = True, threads: int | None = 1, max_test_items: int | None = None,
                 select=None):
        if not callable(getattr(evaluator, "score", None)):
            raise ConfigError(f"callbacks.arp_eval.evaluator must build an evaluator with prepare()/score(), got "
                              f"{type(evaluator).__name__}; check that eval=... has a _target_")
        if every_n_epochs < 1:
            raise ConfigError(f"callbacks.arp_eval.every_n_epochs={every_n_epochs}: must be 1 or more")
        self.evaluator = evaluator
        self.every_n_epochs = int(every_n_epochs)
        self.max_items = {"dev": max_items, "test": max_test_items}
        self.log_audio = int(log_audio)
        self.metrics = None if metrics is None else tuple(metrics)  # None: all the evaluator computes
        self.select = select
        self.consistency = consistency
        self.threads = threads
        self._items: dict[str, list] = {}
        self._prepared = False
        self._facts_logged = False
        self._scored: dict[str, tuple[str, dict]] = {}  # part -> (weights fingerprint, their scores)
        self.last: dict | None = None  # the latest scores, for tests and for other callbacks

    # ---- when ----------------------------------------------------------------------------
    def _due(self, trainer) -> bool:
        from lightning.pytorch.trainer.states import TrainerFn

        if trainer.sanity_checking:
            return False
        if trainer.state.fn != TrainerFn.FITTING:
            return True  # trainer.validate(): the caller asked for this one
        return (trainer.current_epoch + 1) % self.every_n_epochs == 0

    # ---- what ----------------------------------------------------------------------------
    @staticmethod
    def _datamodule(trainer):
        dm = trainer.datamodule
        missing = [a for a in _DATAMODULE_NEEDS if not hasattr(dm, a)]
        if dm is None or missing:
            raise ConfigError(f"ARP-Eval needs a datamodule with {', '.join(_DATAMODULE_NEEDS)} (the stage "
                              f"datamodules); {type(dm).__name__} lacks {', '.join(missing) or 'everything'}; "
                              "use a stage's datamodule or set callbacks.arp_eval=null")
        return dm

    def _items_for(self, dm, part: str):
        if part not in self._items:
            # A corpus datamodule (not a series: experiment=base_decoder) gives its own held-out items.
            own = getattr(dm, "eval_items", None)
            self._items[part] = (own(part, self.max_items[part]) if own is not None else
                                 held_out_items(dm.data.out_dir, dm.character, part=part, limit=self.max_items[part]))
        return self._items[part]

    @staticmethod
    def _weights(pl_module) -> str:
        """A fingerprint of the module's weights (per-tensor sums), cheap next to one re-synthesis."""
        import hashlib

        import torch

        with torch.no_grad():
            sums = [torch.stack([p.double().sum(), p.double().abs().sum()]) for p in pl_module.parameters()]
        raw = torch.cat(sums).cpu().numpy().tobytes() if sums else b""
        return hashlib.sha256(raw).hexdigest()

    def _score(self, trainer, pl_module, part: str) -> dict:
        # trainer.validate() after fit usually reloads the weights just scored (the selected ones):
        # the answers would be the same, so the scores are reused instead of recomputed.
        weights = self._weights(pl_module)
        if part in self._scored and self._scored[part][0] == weights:
            log.info("ARP-Eval: same weights as the last scoring of %s; reusing its scores", part)
            return self._scored[part][1]
        values = self._score_now(trainer, pl_module, part)
        self._scored[part] = (weights, values)
        return values

    def _score_now(self, trainer, pl_module, part: str) -> dict:
        respond = getattr(pl_module, "respond", None)
        if not callable(respond):
            raise ConfigError(f"{type(pl_module).__name__} has no respond(items) -> list[Output] for ARP-Eval; "
                              "add one or set callbacks.arp_eval=null")
        dm = self._datamodule(trainer)
        items = self._items_for(dm, part)
        if not self._prepared:
            own = getattr(dm, "eval_references", None)
            prepare_evaluator(self.evaluator, own() if own is not None else load_references(dm.data.out_dir, dm.data.series_dir))
            self._prepared = True
        outputs = respond(items)
        if len(outputs) != len(items):
            raise AudioroleError(f"{type(pl_module).__name__}.respond answered {len(outputs)} of {len(items)} items")
        result = self.evaluator.score(items, outputs)
        values = {k: float(v) for k, v in result.metrics.items()
                  if self._wanted(k) and isinstance(v, (int, float)) and math.isfinite(v)}
        if self.select is not None:
            values[self.select.key] = float(self.select(result.metrics))
        if self.consistency:
            spread = multi_turn_consistency(items, result.per_item)
            values.update({f"consistency/{k}": float(v) for k, v in spread.items()
                           if k.endswith(("_std", "_msd")) and v is not None})
        self._media(trainer, items, outputs, dict(result.backends or {}), _PREFIX[part])
        return values

    def _wanted(self, key: str) -> bool:
        """A metric named in ``metrics`` brings its n / coverage / interval along."""
        if self.metrics is None:
            return True
        return any(key == m or key.startswith(f"{m}_") and key.removeprefix(f"{m}_") in STATS for m in self.metrics)

    def _media(self, trainer, items, outputs, backends: dict, prefix: str) -> None:
        folder = f"epoch_{trainer.current_epoch:03d}" if prefix == "val" else prefix
        epoch_dir = Path(trainer.default_root_dir) / "samples" / folder
        written = write_samples(epoch_dir, items, outputs, self.log_audio)
        if written:
            n = len(written)
            log_audio(trainer.loggers, f"{prefix}/samples", [o.wave for o in outputs[:n]],
                      [o.sample_rate for o in outputs[:n]], [f"{i.id}: {i.text}" for i in items[:n]],
                      trainer.global_step)
        if not self._facts_logged and trainer.loggers:
            facts = {"arp_eval/backends": backends}
            if self.select is not None:
                facts["arp_eval/select"] = f"val/{self.select.key} = {self.select.describe()}"
            log_facts(trainer.loggers, facts)
            self._facts_logged = True

    # ---- hooks ---------------------------------------------------------------------------
    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if self._due(trainer):
            self._score_and_log(trainer, pl_module, "dev")

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        self._score_and_log(trainer, pl_module, "test")

    def _score_and_log(self, trainer, pl_module, part: str) -> None:
        payload, error = None, None
        if trainer.is_global_zero:
            try:
                with torch_threads(self.threads):
                    payload = {"values": self._score(trainer, pl_module, part)}
            except Exception as exc:  # noqa: BLE001  (tell the other ranks before raising, or they wait forever)
                error, payload = exc, {"error": f"{type(exc).__name__}: {exc}"}
        payload = trainer.strategy.broadcast(payload, src=0)
        if error is not None:
            raise error
        if "error" in payload:
            raise RuntimeError(f"ARP-Eval failed on rank 0: {payload['error']}")
        self.last = payload["values"]
        for key, value in self.last.items():
            pl_module.log(f"{_PREFIX[part]}/{key}", value, prog_bar=key == "ap")
