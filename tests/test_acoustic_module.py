"""The acoustic LightningModule trains, validates, resumes and exports a loadable decoder."""

import functools

import lightning as L
import torch
from omegaconf import OmegaConf

from audiorole.models.flow.decoder import FlowDecoder
from datamodules.acoustic_datamodule import AcousticDataModule
from lightning_modules.acoustic_module import AcousticModule
from test_acoustic_data import prepared  # noqa: F401  (fixture)


def tiny_decoder():
    return FlowDecoder(codebook_size=16, d_model=32, encoder_layers=1, heads=2, estimator_channels=[32],
                       estimator_mid_blocks=1, estimator_heads=2, estimator_head_dim=16)


def test_fit_validate_export(prepared, tmp_path):  # noqa: F811
    torch.manual_seed(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None  # the fixture is already prepared
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
                            export_dir=str(tmp_path / "decoder"))
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, dm)
    metrics = trainer.callback_metrics
    assert {"train/loss", "train/flow_loss", "train/prior_loss", "val/loss", "val/mel_l1", "val/prior_l1"} <= set(metrics)
    assert all(torch.isfinite(v) for v in metrics.values())
    loaded = FlowDecoder.load(tmp_path / "decoder")
    tokens = torch.arange(10) % 16
    assert torch.equal(loaded.generate(tokens, n_steps=2, seed=1), module.decoder.eval().generate(tokens, n_steps=2, seed=1))
