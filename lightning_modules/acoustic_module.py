"""Acoustic stage: train a character's flow-matching decoder (tokens -> mel), and optionally its vocoder.

A thin adapter over ``audiorole.models.flow.FlowDecoder`` (GLM-4-Voice's flow) and
``audiorole.models.vocoder``:

- the decoder trains from scratch, or from a decoder folder (``init_from``: one we exported or
  the public glm-4-voice-decoder; ``model.decoder.source`` does the same at construction);
- with a ``discriminator`` the vocoder (HiFi-GAN or HiFT) trains too, by manual
  optimisation (discriminator step, then generator step with the
  ``vocoder_objective``'s weighted losses: HiFi-GAN's adversarial + 2·feature
  matching + 45·mel by default; HiFT adds TPR and F0 L1), jointly with the flow or as a second phase
  (``vocoder_start_epoch``, ``flow_epochs``); a ``vocoder`` without a
  discriminator is a fixed (e.g. pretrained) vocoder, frozen, kept out of
  checkpoints (it reloads from its own file) but exported with the decoder;
  none at all: Griffin-Lim;
- validation logs ``val/loss`` (the training loss averaged over ``val_loss_draws`` seeded
  draws), ``val/mel_l1`` (flow re-synthesis of dev replies) and ``val/prior_l1`` (the
  encoder alone), so the flow's gain is measured; ``trainer.test`` logs the same as
  ``test/...`` on the test replies;
- ``respond(items)`` re-synthesises eval items to waveforms (ARP-Eval's callback
  scores them);
- at the end of fit the selected checkpoint's decoder (best on the monitored dev
  metric) and its vocoder (in ``vocoder/``, so ``evaluate.py`` and ``speak.py``
  hear what validation heard) are exported as an artifact that loads without
  Lightning, with ``trained_on.json`` (split, dataset, selection).
"""

import logging
from pathlib import Path

import lightning as L
import torch
from torchmetrics import MeanMetric

from audiorole.data.trained_on import read_trained_on, write_trained_on
from audiorole.errors import ConfigError
from lightning_modules.selection import data_record, restore_selected

log = logging.getLogger(__name__)


class AcousticModule(L.LightningModule):
    def __init__(self, decoder, optimizer, scheduler=None, vocoder=None, discriminator=None,
                 vocoder_optimizer=None, vocoder_objective=None, vocoder_start_epoch: int = 0,
                 flow_epochs: int | None = None,
                 vocoder_segment_frames: int = 32, gradient_clip: float | None = None, n_steps: int = 10,
                 guidance: float = 0.7, init_from: str | None = None, export_dir: str | None = None,
                 val_seed: int = 0, val_loss_draws: int = 8):
        super().__init__()
        self.save_hyperparameters(ignore=["decoder", "optimizer", "scheduler", "vocoder", "discriminator",
                                          "vocoder_optimizer", "vocoder_objective"])
        self.decoder = decoder
        self.vocoder = vocoder
        self.discriminator = discriminator
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.vocoder_optimizer_factory = vocoder_optimizer
        if discriminator is not None:
            if vocoder is None or vocoder_optimizer is None:
                raise ConfigError("model.discriminator trains a vocoder: set model.vocoder and model.vocoder_optimizer too")
            from audiorole.models.vocoder import LogMel
            from audiorole.models.vocoder.losses import VocoderObjective

            self.automatic_optimization = False  # GAN: two optimisers, stepped by hand
            self.vocoder_objective = vocoder_objective or VocoderObjective()
            self.vocoder_mel = LogMel(self.vocoder.mel_config, **(self.vocoder_objective.loss_mel or {}))
        elif vocoder is not None:
            vocoder.requires_grad_(False)
        if init_from:
            self._init_decoder(init_from)
        self.mel_l1 = MeanMetric()    # per eval epoch: validation (dev) or test
        self.prior_l1 = MeanMetric()

    def _init_decoder(self, path: str) -> None:
        from audiorole.models.flow.decoder import FlowDecoder
        from audiorole.models.flow.load import load_state

        base = FlowDecoder.load(path)
        load_state(self.decoder, base.state_dict(), f"model.init_from={path}")  # strict, one-line error on a mismatch
        log.info("decoder initialised from %s", path)

    def on_fit_start(self) -> None:
        # Same codebook size, other codes: a decoder fine-tuned on another tokenizer's codes starts from
        # a mapping that means nothing for them, and nothing else would notice.
        if not self.hparams.init_from:
            return
        ours = data_record(self.trainer).get("speech_tokens")
        theirs = (read_trained_on(self.hparams.init_from)[1] or {}).get("speech_tokens")
        if theirs and ours and theirs != ours:
            raise ConfigError(
                f"model.init_from={self.hparams.init_from} was trained on speech tokens {theirs[:12]}, but this run's "
                f"tokens are {ours[:12]}: use the tokenizer it was trained with (the demo's base decoder: "
                "tokenizer=offline), or train from scratch with model.init_from=null")

    # ---- training ---------------------------------------------------------------------
    def _trains_flow(self) -> bool:
        return self.hparams.flow_epochs is None or self.current_epoch < self.hparams.flow_epochs

    def _trains_vocoder(self) -> bool:
        return self.discriminator is not None and self.current_epoch >= self.hparams.vocoder_start_epoch

    def training_step(self, batch: dict, batch_idx: int):
        bs = batch["tokens"].shape[0]
        if self.automatic_optimization:
            out = self.decoder.loss(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"])
            self._log_train(out, bs)
            return out["loss"]
        flow_opt, gen_opt, disc_opt = self.optimizers()
        if self._trains_flow():
            out = self.decoder.loss(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"])
            self._step(flow_opt, out["loss"], self.decoder)
            self._log_train(out, bs)
            scheduler = self.lr_schedulers()
            if scheduler is not None:
                scheduler.step()
        if self._trains_vocoder():
            self._vocoder_step(batch, gen_opt, disc_opt, bs)
        return None

    def on_before_optimizer_step(self, optimizer) -> None:
        if self.automatic_optimization and self.hparams.gradient_clip:
            torch.nn.utils.clip_grad_norm_(self.decoder.parameters(), self.hparams.gradient_clip)

    def _step(self, opt, loss: torch.Tensor, module: torch.nn.Module) -> None:
        opt.zero_grad()
        self.manual_backward(loss)
        if self.hparams.gradient_clip:
            torch.nn.utils.clip_grad_norm_(module.parameters(), self.hparams.gradient_clip)
        opt.step()

    def _vocoder_step(self, batch: dict, gen_opt, disc_opt, bs: int) -> None:
        from audiorole.models.vocoder.segments import random_segments

        objective, generator = self.vocoder_objective, self.vocoder.generator
        mel, wave = random_segments(batch["mel"], batch["wave"], batch["mel_lens"],
                                    self.hparams.vocoder_segment_frames, self.vocoder.hop_length)
        real = wave.unsqueeze(1)
        fake = generator(mel)[..., :real.shape[-1]]
        real_logits, _ = self.discriminator(real)
        fake_logits, _ = self.discriminator(fake.detach())
        d = objective.discriminator(real_logits, fake_logits)
        self._step(disc_opt, d["total"], self.discriminator)
        fake_logits, fake_fmaps = self.discriminator(fake)
        with torch.no_grad():
            real_logits, real_fmaps = self.discriminator(real)
        # With its own loss mel (HiFT's recipe) both sides come from waves; else the input mel is the target.
        mel_real = self.vocoder_mel(wave) if objective.loss_mel else mel
        f0_fake = f0_real = None
        if objective.f0_weight:
            from audiorole.audio.pitch import f0_batch

            f0_fake = generator.f0_predictor(mel)
            f0_real = f0_batch(wave, self.vocoder.sample_rate, self.vocoder.hop_length, mel.shape[-1])
        g = objective.generator(real_logits, fake_logits, real_fmaps, fake_fmaps, self.vocoder_mel(fake.squeeze(1)),
                                mel_real, f0_fake, f0_real)
        self._step(gen_opt, g["total"], generator)
        logs = {"train/disc_loss": d["total"], "train/gen_loss": g["total"]}
        logs.update({f"train/gen_{k}": v for k, v in g.items() if k != "total"})
        logs.update({f"train/disc_{k}": v for k, v in d.items() if k not in ("total", "disc")})
        self.log_dict(logs, batch_size=bs)

    def _log_train(self, out: dict, bs: int) -> None:
        for name, value in out.items():
            self.log(f"train/{name}", value, prog_bar=name == "loss", batch_size=bs)

    # ---- validation (dev) and test ----------------------------------------------------
    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, batch_idx, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, batch_idx, "test")

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    def _eval_step(self, batch: dict, batch_idx: int, prefix: str) -> None:
        # the authors' loss draws t, noise, prefixes and CFG drops: seeded and averaged over draws, so the
        # loss compares across epochs (one draw swings by about +-1)
        loss = self.decoder.heldout_loss(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"],
                                         draws=self.hparams.val_loss_draws, seed=self.hparams.val_seed + batch_idx)
        bs = batch["tokens"].shape[0]
        self.log(f"{prefix}/loss", loss, batch_size=bs, sync_dist=True)
        generated = self.decoder.generate(batch["tokens"], n_steps=self.hparams.n_steps, guidance=self.hparams.guidance,
                                          seed=self.hparams.val_seed + batch_idx, token_lens=batch["token_lens"])
        prior = self.decoder.prior_mel(batch["tokens"], batch["token_lens"])
        for i in range(bs):
            n = int(min(batch["mel_lens"][i], generated.shape[-1]))
            target = batch["mel"][i, :, :n]
            self.mel_l1.update((generated[i, :, :n] - target).abs().mean())
            self.prior_l1.update((prior[i, :, :n] - target).abs().mean())

    def _log_eval(self, prefix: str) -> None:
        self.log(f"{prefix}/mel_l1", self.mel_l1.compute(), prog_bar=True)
        self.log(f"{prefix}/prior_l1", self.prior_l1.compute())
        self.mel_l1.reset()
        self.prior_l1.reset()

    # ---- inference for ARP-Eval -------------------------------------------------------
    def synthesis_vocoder(self):
        """The vocoder re-synthesis uses: a fixed one, a trained one once it has trained, else None (Griffin-Lim)."""
        if self.vocoder is None:
            return None
        if self.discriminator is None or self.current_epoch > self.hparams.vocoder_start_epoch:
            return self.vocoder
        return None

    @torch.no_grad()
    def respond(self, items: list) -> list:
        """Re-synthesise each eval item's speech tokens in this character's voice."""
        from audiorole.eval.items import Output
        from audiorole.speak import synthesize

        was_training = self.training
        self.eval()
        try:
            vocoder = self.synthesis_vocoder()
            return [Output(wave=synthesize(item.tokens, self.decoder, vocoder, n_steps=self.hparams.n_steps,
                                           guidance=self.hparams.guidance, seed=self.hparams.val_seed + k),
                           sample_rate=self.decoder.sample_rate)
                    for k, item in enumerate(items)]
        finally:
            self.train(was_training)

    # ---- optimisers and export --------------------------------------------------------
    def configure_optimizers(self):
        flow_opt = self.optimizer_factory(params=self.decoder.parameters())
        scheduler = self.scheduler_factory(optimizer=flow_opt) if self.scheduler_factory is not None else None
        if self.discriminator is None:
            if scheduler is None:
                return flow_opt
            return {"optimizer": flow_opt, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        optimizers = [flow_opt, self.vocoder_optimizer_factory(params=self.vocoder.generator.parameters()),
                      self.vocoder_optimizer_factory(params=self.discriminator.parameters())]
        if scheduler is None:
            return optimizers
        return optimizers, [{"scheduler": scheduler, "interval": "step"}]

    def _fixed_vocoder(self) -> bool:
        return self.vocoder is not None and self.discriminator is None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["decoder_config"] = self.decoder.config  # a .ckpt rebuilds its decoder without the run's config
        checkpoint["trained_on"] = data_record(self.trainer)  # evaluate.py refuses it on other splits
        if self._fixed_vocoder():  # a fixed vocoder reloads from its own (pinned) file: not copied into each .ckpt
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("vocoder.")}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if self._fixed_vocoder():
            checkpoint["state_dict"].update({f"vocoder.{k}": v for k, v in self.vocoder.state_dict().items()})

    def on_fit_end(self) -> None:
        if not (self.hparams.export_dir and self.trainer.is_global_zero):
            return
        record = restore_selected(self)
        path = self.decoder.save(Path(self.hparams.export_dir))
        log.info("exported decoder to %s", path)
        if self.synthesis_vocoder() is not None:
            log.info("exported vocoder to %s", self.vocoder.save(path / "vocoder"))
        write_trained_on(path, record)
