"""Acoustic stage: train a character's flow-matching decoder (tokens -> mel) from scratch.

A thin adapter over ``audiorole.models.flow.FlowDecoder``: losses logged as
``train/…`` and ``val/…``; at validation each held-out reply is re-synthesised
from its tokens and its mel compared with the real one (``val/mel_l1``, and the
encoder-only ``val/prior_l1`` so the flow's gain is measured). At the end of
training the decoder is exported as an artifact that loads without Lightning.
"""

import logging
from pathlib import Path

import lightning as L
import torch
from torchmetrics import MeanMetric

log = logging.getLogger(__name__)


class AcousticModule(L.LightningModule):
    def __init__(self, decoder, optimizer, scheduler=None, n_steps: int = 10, guidance: float = 0.7,
                 export_dir: str | None = None, val_seed: int = 0):
        super().__init__()
        self.save_hyperparameters(ignore=["decoder", "optimizer", "scheduler"])
        self.decoder = decoder
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.val_mel_l1 = MeanMetric()
        self.val_prior_l1 = MeanMetric()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self.decoder(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"])
        bs = batch["tokens"].shape[0]
        for name, value in out.items():
            self.log(f"train/{name}", value, prog_bar=name == "loss", batch_size=bs)
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self.decoder(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"])
        bs = batch["tokens"].shape[0]
        self.log("val/loss", out["loss"], batch_size=bs, sync_dist=True)
        generated = self.decoder.generate(batch["tokens"], n_steps=self.hparams.n_steps, guidance=self.hparams.guidance,
                                          seed=self.hparams.val_seed + batch_idx, token_lens=batch["token_lens"])
        prior = self.decoder.prior_mel(batch["tokens"], batch["token_lens"])
        for i in range(bs):
            n = int(min(batch["mel_lens"][i], generated.shape[-1]))
            target = batch["mel"][i, :, :n]
            self.val_mel_l1.update((generated[i, :, :n] - target).abs().mean())
            self.val_prior_l1.update((prior[i, :, :n] - target).abs().mean())

    def on_validation_epoch_end(self) -> None:
        self.log("val/mel_l1", self.val_mel_l1.compute(), prog_bar=True)
        self.log("val/prior_l1", self.val_prior_l1.compute())
        self.val_mel_l1.reset()
        self.val_prior_l1.reset()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.decoder.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_end(self) -> None:
        if self.hparams.export_dir and self.trainer.is_global_zero:
            path = self.decoder.save(Path(self.hparams.export_dir))
            log.info("exported decoder to %s", path)
