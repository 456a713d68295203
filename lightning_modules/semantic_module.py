"""Semantic stage: LoRA on the speech LLM so it answers in the character's words, as text and speech tokens.

A thin adapter over ``audiorole.text`` (samples, collation), ``audiorole.models.lm``
(LoRA, generation) and the LM loader named in config (``model.lm``, a partial
returning ``(model, tokenizer)``). The LM is built in ``configure_model``, after
``prepare_data`` (the demo LM is made from the prepared dataset) and inside the
strategy's context (sharded init under FSDP). Dialogues are encoded here, with
the model's own tokenizer, in ``transfer_batch_to_device``.

Loss is on the reply only (``train/loss``; ``val/loss``, ``val/ppl``, and the text
and audio parts, on the dev replies; ``test/loss``, ``test/ppl`` under
``trainer.test``). Checkpoints hold the adapters only and resume with
``strict_loading=False``. ``respond`` answers ARP-Eval items; at the end of
validation a few dev scenes are answered and logged. At the end of fit the selected
checkpoint's adapters (best on the monitored dev metric) are exported, with
``trained_on.json`` (split, dataset, selection).
"""

import dataclasses
import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torchmetrics import MeanMetric, SumMetric

from audiorole.data.trained_on import write_trained_on
from audiorole.eval.items import EvalItem, Output
from audiorole.models.lm import lora as lora_lib
from audiorole.models.lm import respond as respond_lib
from audiorole.models.lm.generate import GenerationSettings
from audiorole.text.collate import pack_batch, pad_batch
from audiorole.text.dialogues import Dialogue, system_prompts
from audiorole.text.template import IGNORE, ChatFormat
from audiorole.utils.atomic import write_jsonl
from lightning_modules.selection import data_record, restore_selected

log = logging.getLogger(__name__)


class SemanticModule(L.LightningModule):
    def __init__(self, lm, lora, optimizer, chat: dict | None = None, scheduler=None, series_dir: str | None = None,
                 prepared_dir: str | None = None, generation: dict | None = None, decoder_dir: str | None = None,
                 decoder_steps: int = 10, pack_to: int | None = None, gradient_checkpointing: bool = False,
                 val_generate: int = 2, export_dir: str | None = None, export_merged: bool = True,
                 init_from: str | None = None, merge_to_answer: bool = False):
        super().__init__()
        # Plain containers, so checkpoints load with torch's weights_only unpickler.
        chat, generation = _plain(chat) or {}, _plain(generation) or {}
        self.save_hyperparameters(ignore=["lm", "lora", "optimizer", "scheduler"])
        self.lm_factory, self.lora_config = lm, lora
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.chat_options = chat
        self.generation = GenerationSettings(**generation)
        self.model = self.tokenizer = self.chat = None
        self.decoder = self.vocoder = None
        self.strict_loading = False  # checkpoints hold adapters only
        self.val_loss, self.val_tokens = MeanMetric(), SumMetric()
        self.val_text_loss, self.val_audio_loss = MeanMetric(), MeanMetric()
        self.test_loss = MeanMetric()
        self._preview: list[Dialogue] = []
        self._system_cache: dict[str, str] | None = None

    # ---- model ---------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.model is not None:
            return
        base, self.tokenizer = self.lm_factory()
        if self.hparams.gradient_checkpointing:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            base.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need a grad path
        self.model = lora_lib.apply_lora(base, self.lora_config)
        if self.hparams.init_from:
            if self.hparams.prepared_dir:  # what it learnt must not include this split's held-out scenes
                from audiorole.data.splits import load_splits
                from audiorole.data.trained_on import check_not_trained_on

                check_not_trained_on(self.hparams.init_from, load_splits(self.hparams.prepared_dir), "test")
            lora_lib.start_from(self.model, self.hparams.init_from)
        self.model.train()  # loaders hand back eval-mode models; LoRA dropout must act while fitting
        self.chat = ChatFormat(self.tokenizer, **self.chat_options)
        if self.hparams.decoder_dir:
            from audiorole.eval.systems.loading import load_decoder, load_vocoder

            self.decoder = load_decoder(self.hparams.decoder_dir)
            self.decoder.requires_grad_(False)
            self.vocoder = load_vocoder(None, self.hparams.decoder_dir)[0]  # the one exported beside it, else None
            if self.vocoder is not None:
                self.vocoder.requires_grad_(False)
        n_train = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        log.info("LoRA: %d trainable parameters (%.3f %% of %d)", n_train,
                 100 * n_train / max(1, sum(p.numel() for p in self.model.parameters())),
                 sum(p.numel() for p in self.model.parameters()))

    def forward(self, logits_to_keep: torch.Tensor | int = 0, **batch) -> torch.Tensor:
        # No KV cache when training: transformers only reads packed rows' position ids without one.
        return self.model(**batch, use_cache=False, logits_to_keep=logits_to_keep).logits

    # ---- data ----------------------------------------------------------------------------
    def encode(self, dialogues: list[Dialogue]) -> dict:
        samples = [self.chat.sample(d.system, d.context, d.reply_text, d.reply_codes, d.context_codes) for d in dialogues]
        pad = self.chat.vocab.end_of_text
        if self.hparams.pack_to:
            return pack_batch(samples, self.hparams.pack_to, pad)
        return pad_batch(samples, pad)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        if isinstance(batch, dict) and "dialogues" in batch:
            dialogues = batch["dialogues"]
            encoded = super().transfer_batch_to_device(self.encode(dialogues), device, dataloader_idx)
            return {**encoded, "dialogues": dialogues}
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    # ---- loss ----------------------------------------------------------------------------
    def token_losses(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-token NLL of the next token, its mask, and which targets are audio (at labelled positions only)."""
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
        target = batch["labels"][:, 1:]
        # The LM head (vocabulary + audio rows) only where some row has a label: prompts and contexts are most
        # of a sequence, and their (batch, length, vocabulary) logits were most of the step's memory.
        keep = (target != IGNORE).any(dim=0).nonzero().squeeze(1)
        logits = self(**inputs, logits_to_keep=keep).float()
        target = target[:, keep]
        mask = target != IGNORE
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.clamp(min=0).reshape(-1),
                              reduction="none").view_as(target)
        vocab = self.chat.vocab
        audio = (target >= vocab.audio_offset) & (target < vocab.audio_offset + vocab.n_audio)
        return nll, mask, audio

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        nll, mask, _ = self.token_losses(batch)
        loss = (nll * mask).sum() / mask.sum().clamp(min=1)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["dialogues"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        nll, mask, audio = self.token_losses(batch)
        self.val_loss.update(nll[mask])
        self.val_tokens.update(mask.sum())
        if (mask & ~audio).any():
            self.val_text_loss.update(nll[mask & ~audio])
        if (mask & audio).any():
            self.val_audio_loss.update(nll[mask & audio])
        room = self.hparams.val_generate - len(self._preview)
        if room > 0:
            self._preview.extend(batch["dialogues"][:room])

    def on_validation_epoch_end(self) -> None:
        loss = self.val_loss.compute()
        self.log("val/loss", loss, prog_bar=True)
        self.log("val/ppl", torch.exp(loss))
        self.log("val/tokens", self.val_tokens.compute())
        for name, metric in (("val/text_loss", self.val_text_loss), ("val/audio_loss", self.val_audio_loss)):
            if metric.update_count:
                self.log(name, metric.compute())
        for metric in (self.val_loss, self.val_tokens, self.val_text_loss, self.val_audio_loss):
            metric.reset()
        # Rank 0 alone, like ARP-Eval's respond(): under FSDP / ZeRO-3 (sharded weights) set
        # model.val_generate=0 and callbacks.arp_eval=null, and generate after training instead.
        if self._preview and not self.trainer.sanity_checking and self.trainer.is_global_zero:
            self._log_preview(self._preview)
        self._preview = []

    def test_step(self, batch: dict, batch_idx: int) -> None:
        nll, mask, _ = self.token_losses(batch)
        self.test_loss.update(nll[mask])

    def on_test_epoch_end(self) -> None:
        loss = self.test_loss.compute()
        self.log("test/loss", loss)
        self.log("test/ppl", torch.exp(loss))
        self.test_loss.reset()

    def _log_preview(self, dialogues: list[Dialogue]) -> None:
        rows = []
        model = self.answering_model()
        for d in dialogues:
            text, parts = self.reply(d, model)
            rows.append({"id": d.id, "reference": d.reply_text, "generated": text, "audio_tokens": len(parts.codes),
                         "text_tokens": len(parts.text_ids), "stopped": parts.stopped})
            log.info("[%s] %s -> %r (%d audio tokens)", d.id, d.character, text, len(parts.codes))
        self.log("val/gen_audio_tokens", float(np.mean([r["audio_tokens"] for r in rows])), rank_zero_only=True)
        self.log("val/gen_text_tokens", float(np.mean([r["text_tokens"] for r in rows])), rank_zero_only=True)
        if self.hparams.export_dir:
            write_jsonl(Path(self.hparams.export_dir) / f"samples_epoch{self.current_epoch:03d}.jsonl", rows)

    # ---- generation ----------------------------------------------------------------------
    def answering_model(self):
        """The model that writes replies: with ``merge_to_answer`` a merged copy (the same outputs; a small LM
        generates ~3x faster on CPU without peft's per-step LoRA work), else the training model itself (a 9B
        sharded one must not be copied)."""
        return lora_lib.merged_copy(self.model) if self.hparams.merge_to_answer else self.model

    def reply(self, dialogue: Dialogue, model=None):
        """(text, split parts) of the model's reply to a dialogue's context."""
        return respond_lib.reply(model or self.answering_model(), self.tokenizer, self.chat, dialogue, self.generation,
                                 self.decoder)

    def _systems(self) -> dict[str, str]:
        if self._system_cache is None:
            self._system_cache = system_prompts(self.hparams.series_dir) if self.hparams.series_dir else {}
        return self._system_cache

    def respond(self, items: list[EvalItem]) -> list[Output]:
        """ARP-Eval's ``System.respond``: text always; speech when ``decoder_dir`` is set (else a zero-length wave)."""
        self.configure_model()
        tokens = None
        if self.chat.user_mode == "speech" and self.hparams.prepared_dir:
            from audiorole.tokenizers.cache import TokenCache, latest_cache

            tokens = TokenCache(latest_cache(self.hparams.prepared_dir))
        return respond_lib.respond(self.answering_model(), self.tokenizer, self.chat, items, self.generation,
                                   self._systems(),
                                   self.decoder, self.hparams.decoder_steps, tokens, self.vocoder)

    # ---- optimisation and checkpoints ----------------------------------------------------
    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = self.optimizer_factory(params=params)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Adapters only: a 9B base would otherwise be copied into every checkpoint.
        # The acoustic decoder, when set, is frozen and reloads from decoder_dir.
        checkpoint["state_dict"] = lora_lib.adapter_state(checkpoint["state_dict"])
        checkpoint["trained_on"] = data_record(self.trainer)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.configure_model()
        missing = [k for k in self.state_dict() if lora_lib.is_adapter_key(k) and k not in checkpoint["state_dict"]]
        if missing:
            raise RuntimeError(f"checkpoint lacks {len(missing)} adapter weights (e.g. {missing[0]}); "
                               "model.lora differs from the run that wrote it")

    def on_fit_end(self) -> None:
        if self.hparams.export_dir and self.trainer.is_global_zero:
            record = restore_selected(self)
            path = self.export(self.hparams.export_dir)
            for folder in (path, path / "adapter"):
                write_trained_on(folder, record)

    def export(self, path: str | Path) -> Path:
        """``adapter/`` (always) and ``merged/`` (``export_merged``), each with the tokenizer and the chat format."""
        path = Path(path)
        generation = dataclasses.asdict(self.generation)
        lora_lib.save_adapter(self.model, path / "adapter", self.tokenizer, _partial_to_config(self.lm_factory),
                              chat=self.chat_options, generation=generation)
        log.info("saved the LoRA adapter to %s", path / "adapter")
        if self.hparams.export_merged:
            lora_lib.export_merged(self.model, self.tokenizer, path / "merged", chat=self.chat_options,
                                   generation=generation)
            log.info("exported the merged model to %s", path / "merged")
        return path


def _plain(node):
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _partial_to_config(factory) -> dict | None:
    """The ``_target_`` node that rebuilds a ``functools.partial`` made by Hydra (for the adapter's base.yaml)."""
    func = getattr(factory, "func", None)
    if func is None:
        return None
    node = {"_target_": f"{func.__module__}.{func.__qualname__}"}
    node.update({k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in factory.keywords.items()})
    return node
