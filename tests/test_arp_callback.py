"""ARPEvalCallback inside real Trainer runs: logs val/* scores, writes samples, keeps to its budget."""

import csv

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from audiorole.errors import ConfigError
from audiorole.eval.items import Output
from callbacks.arp_eval import ARPEvalCallback
from eval_fakes import DEMO_SERIES, PITCH, ToneEvaluator, make_prepared, one_torch_thread, tone  # noqa: F401

SCORES = {"val/ap", "val/ap_margin", "val/aq", "val/cq", "val/cp"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("prepared"))


class ToyData(L.LightningDataModule):
    """What the callback reads off AcousticDataModule: data.out_dir/series_dir and character."""

    def __init__(self, prepared, character="mara"):
        super().__init__()
        self.data = OmegaConf.create({"out_dir": str(prepared), "series_dir": str(DEMO_SERIES)})
        self.character = character

    def _loader(self):
        return DataLoader(TensorDataset(torch.randn(8, 4)), batch_size=4)

    def train_dataloader(self):
        return self._loader()

    def val_dataloader(self):
        return self._loader()

    def test_dataloader(self):
        return self._loader()


class ToneVoice(L.LightningModule):
    """Speaks every item as a tone whose pitch drifts from ``start`` towards ``target`` as it trains."""

    def __init__(self, start=PITCH["otis"], target=PITCH["mara"]):
        super().__init__()
        self.pitch = torch.nn.Parameter(torch.tensor(float(start)))
        self.target = target

    def training_step(self, batch, batch_idx):
        return ((self.pitch - self.target) / 100.0) ** 2

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", ((self.pitch - self.target) / 100.0) ** 2)

    def test_step(self, batch, batch_idx):
        self.log("test/loss", ((self.pitch - self.target) / 100.0) ** 2)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=3500.0)  # 0.3× the pitch error left after each step

    def respond(self, items):
        self.threads_seen = torch.get_num_threads()
        self.answered = [i.id for i in items]
        return [Output(wave=tone(float(self.pitch), 1.0), sample_rate=16000) for _ in items]


class Mute(ToneVoice):
    respond = None


def trainer(tmp_path, callbacks, max_epochs=2, logger=None):
    return L.Trainer(max_epochs=max_epochs, accelerator="cpu", callbacks=callbacks, default_root_dir=str(tmp_path),
                     logger=logger if logger is not None else False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=1, log_every_n_steps=1)


def test_fit_logs_scores_each_epoch_writes_samples_and_feeds_the_checkpoint(prepared, tmp_path):
    evaluator = ToneEvaluator()
    arp = ARPEvalCallback(evaluator, every_n_epochs=1, max_items=2, log_audio=2)
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/ap", mode="max")
    logger = CSVLogger(tmp_path, name="csv")
    t = trainer(tmp_path, [arp, best], max_epochs=2, logger=logger)
    t.fit(ToneVoice(), datamodule=ToyData(prepared))

    assert evaluator.calls == 2  # one per epoch, none in the sanity check
    assert set(evaluator.prepared["enrollment"]) == {"mara", "otis", "june"}
    assert set(evaluator.prepared["training_lines"]) == {"mara", "otis", "june"}
    assert "harbor captain" in evaluator.prepared["personas"]["mara"]
    assert SCORES <= set(t.callback_metrics)
    assert "val/consistency/ap_std" in t.callback_metrics  # the two held-out mara replies share a scene
    # the voice moved from otis's pitch to mara's, and the scores say so
    assert float(t.callback_metrics["val/ap"]) > 0.9
    assert float(best.best_model_score) == pytest.approx(float(t.callback_metrics["val/ap"]))
    for epoch in (0, 1):
        wavs = sorted((tmp_path / "samples" / f"epoch_{epoch:03d}").glob("*.wav"))
        assert len(wavs) == 2
    logger.save()
    rows = list(csv.DictReader(open(tmp_path / "csv" / "version_0" / "metrics.csv")))
    aps = [float(r["val/ap"]) for r in rows if r.get("val/ap")]
    assert len(aps) == 2 and aps[1] > aps[0]
    assert "arp_eval/backends" in (tmp_path / "csv" / "version_0" / "hparams.yaml").read_text()


def test_every_n_epochs_budget_and_validate_scores_new_weights_once(prepared, tmp_path):
    evaluator = ToneEvaluator(metrics=("ap", "aq"))
    arp = ARPEvalCallback(evaluator, every_n_epochs=2, max_items=1, log_audio=0, threads=2)
    module, data = ToneVoice(), ToyData(prepared)
    t = trainer(tmp_path, [arp], max_epochs=3)
    t.fit(module, datamodule=data)
    assert evaluator.calls == 1  # epoch index 1 only
    assert module.threads_seen == 2 and torch.get_num_threads() == 1  # scored with 2 threads, then restored
    assert not list(tmp_path.glob("samples/*/*.wav"))
    assert {k for k in arp.last if "_" not in k} == {"ap", "aq"}  # a smaller evaluator logs only what it computes
    assert arp.last["ap_n"] == 1 and arp.last["ap_coverage"] == 1.0 and "ap_ci_low" not in arp.last  # 1 item: no interval
    metrics = t.validate(module, datamodule=data, verbose=False)[0]  # epoch 3 trained on: scored afresh
    assert evaluator.calls == 2 and {"val/ap", "val/aq"} <= set(metrics) and "val/cp" not in metrics
    again = t.validate(module, datamodule=data, verbose=False)[0]  # the same weights: scores reused
    assert evaluator.calls == 2 and again["val/ap"] == pytest.approx(metrics["val/ap"])
    with torch.no_grad():
        module.pitch += 5.0
    t.validate(module, datamodule=data, verbose=False)
    assert evaluator.calls == 3


class Mumbling(ToneEvaluator):
    """WER 0.8 for voices more than 3 Hz below mara's pitch (a decoder that loses the words), else 0.1."""

    def score(self, items, outputs):
        from eval_fakes import pitch_of

        result = super().score(items, outputs)
        result.metrics["wer"] = 0.1 if pitch_of(outputs[0].wave, 16000) > PITCH["mara"] - 3 else 0.8
        return result


def test_intervals_and_the_selection_score_are_logged(prepared, tmp_path):
    from audiorole.eval.selection import WERCeiling

    arp = ARPEvalCallback(Mumbling(), max_items=3, log_audio=0, select=WERCeiling(ceiling=0.3, penalty=2.0))
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/select", mode="max")
    logger = CSVLogger(tmp_path, name="csv")
    t = trainer(tmp_path, [arp, best], max_epochs=2, logger=logger)
    t.fit(ToneVoice(), datamodule=ToyData(prepared))
    logger.save()
    rows = [r for r in csv.DictReader(open(tmp_path / "csv" / "version_0" / "metrics.csv")) if r.get("val/select")]
    assert len(rows) == 2
    for row in rows:
        ap, wer = float(row["val/ap"]), float(row["val/wer"])
        assert float(row["val/select"]) == pytest.approx(ap - 2.0 * max(0.0, wer - 0.3))
        assert float(row["val/ap_ci_low"]) <= ap <= float(row["val/ap_ci_high"])
        assert float(row["val/ap_n"]) == 3 and float(row["val/ap_coverage"]) == 1.0
    assert (float(rows[0]["val/wer"]), float(rows[1]["val/wer"])) == pytest.approx((0.8, 0.1))  # the voice reached mara's pitch
    assert float(best.best_model_score) == pytest.approx(float(rows[1]["val/select"]))
    assert "val/select = ap - 2 * max(0, wer - 0.3)" in (tmp_path / "csv" / "version_0" / "hparams.yaml").read_text()
    with pytest.raises(ConfigError, match="add wer to eval.metrics"):
        WERCeiling()({"ap": 0.5})


def test_validation_scores_dev_replies_and_test_scores_every_test_reply(prepared, tmp_path):
    from audiorole.data.splits import character_cuts_for

    ids = {p: {c.supervisions[0].id for c in character_cuts_for(prepared, "mara", p)} for p in ("dev", "test")}
    evaluator = ToneEvaluator()
    module, data = ToneVoice(), ToyData(prepared)
    t = trainer(tmp_path, [ARPEvalCallback(evaluator, max_items=16, log_audio=1)], max_epochs=1)
    t.fit(module, datamodule=data)
    assert set(module.answered) == ids["dev"]
    metrics = t.test(module, datamodule=data, verbose=False)[0]
    assert set(module.answered) == ids["test"] and len(ids["test"]) > 0
    assert {"test/ap", "test/aq", "test/cq", "test/cp"} <= set(metrics) and "val/ap" not in metrics
    assert list((tmp_path / "samples" / "test").glob("*.wav"))


def test_a_module_without_respond_is_a_clear_error(prepared, tmp_path):
    t = trainer(tmp_path, [ARPEvalCallback(ToneEvaluator(), max_items=1)], max_epochs=1)
    with pytest.raises(ConfigError, match="has no respond.*callbacks.arp_eval=null"):
        t.fit(Mute(), datamodule=ToyData(prepared))


def test_an_unbuilt_evaluator_config_is_rejected():
    with pytest.raises(ConfigError, match="_target_"):
        ARPEvalCallback(OmegaConf.create({"name": "offline"}))


def test_wandb_gets_audio_samples_offline(prepared, tmp_path, monkeypatch):
    from lightning.pytorch.loggers import WandbLogger

    monkeypatch.setenv("WANDB_MODE", "offline")
    logger = WandbLogger(project="audiorole-test", save_dir=str(tmp_path), mode="offline")
    try:
        t = trainer(tmp_path, [ARPEvalCallback(ToneEvaluator(), max_items=2, log_audio=1)], max_epochs=1, logger=logger)
        t.fit(ToneVoice(), datamodule=ToyData(prepared))
        run_dir = logger.experiment.dir
    finally:
        import wandb

        wandb.finish()
    audio = [p for p in (tmp_path / "wandb").rglob("*.wav")]
    assert audio, f"no audio under {run_dir}"
    assert np.isfinite(float(t.callback_metrics["val/ap"]))


class RankRecorder(ARPEvalCallback):
    """Writes what each rank logged and how often it scored, so the test can compare ranks."""

    def __init__(self, out_dir, **kw):
        super().__init__(ToneEvaluator(), **kw)
        self.out_dir = str(out_dir)

    def on_validation_end(self, trainer, pl_module):
        import json

        if trainer.sanity_checking:
            return
        logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        with open(f"{self.out_dir}/rank{trainer.global_rank}_epoch{trainer.current_epoch}.json", "w") as f:
            json.dump({"logged": logged, "scored": self.evaluator.calls}, f)


@pytest.mark.slow
def test_ddp_ranks_log_rank_zeros_scores(prepared, tmp_path):
    import json

    recorder = RankRecorder(tmp_path, max_items=2, log_audio=1)
    t = L.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", callbacks=[recorder],
                  default_root_dir=str(tmp_path), logger=False, enable_progress_bar=False,
                  enable_model_summary=False, num_sanity_val_steps=0, enable_checkpointing=False)
    t.fit(ToneVoice(), datamodule=ToyData(prepared))
    zero, one = (json.loads((tmp_path / f"rank{r}_epoch0.json").read_text()) for r in (0, 1))
    assert zero["scored"] == 1 and one["scored"] == 0  # only rank 0 did the work
    assert SCORES <= set(one["logged"])
    for key in SCORES:
        assert one["logged"][key] == pytest.approx(zero["logged"][key])
