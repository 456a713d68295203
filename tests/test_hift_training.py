"""HiFT as the acoustic stage's vocoder: config composition and a GAN training step on CPU at tiny size."""

import functools

import hydra
import lightning as L
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from audiorole.audio.pitch import f0_track
from audiorole.models.vocoder.losses import VocoderObjective, tpr_loss
from audiorole.models.vocoder.resolution_discriminator import HiftDiscriminator
from datamodules.acoustic_datamodule import AcousticDataModule
from lightning_modules.acoustic_module import AcousticModule
from test_acoustic_data import prepared  # noqa: F401  (fixture)
from test_acoustic_module import quick_trainer, tiny_decoder

pytestmark = pytest.mark.usefixtures("one_thread")


def test_f0_track_finds_a_tone_and_silence():
    sr, hop = 22050, 256
    t = np.arange(sr // 2) / sr
    wave = np.concatenate([0.5 * np.sin(2 * np.pi * 150 * t), np.zeros(sr // 2)])
    f0 = f0_track(wave, sr, hop, len(wave) // hop)
    assert f0.shape == (len(wave) // hop,)
    voiced = f0[5:30]
    assert np.median(voiced) == pytest.approx(150, rel=0.03)
    assert (f0[-20:] == 0).all()


def test_tpr_loss_is_capped_and_zero_when_real_always_wins():
    real, fake = [torch.tensor([[2.0, 2.0, 2.0, 2.0]])], [torch.tensor([[0.0, 0.0, 0.0, 0.0]])]
    assert tpr_loss(real, fake).item() == 0.0  # equal gaps: no point beyond the median
    spread = [torch.tensor([[0.0, 10.0, -10.0, 5.0]])]
    assert tpr_loss(spread, fake, tau=0.04).item() == pytest.approx(0.04)  # large excess: capped at tau


def test_hift_discriminator_shapes():
    d = HiftDiscriminator(width=1 / 32, periods=(2, 3), fft_sizes=(256, 128))
    logits, fmaps = d(torch.randn(2, 1, 4096))
    assert len(logits) == len(fmaps) == 4
    assert all(lo.shape[0] == 2 for lo in logits)


@pytest.mark.parametrize("option", ["hift", "hift_train"])
def test_vocoder_options_compose(make_cfg, option):
    extra = ["model.vocoder.config=tiny"] if option == "hift_train" else []
    cfg = make_cfg(["stage=acoustic", f"model/vocoder={option}", *extra])
    assert cfg.model.vocoder._target_.startswith("audiorole.models.vocoder.Vocoder.")
    if option == "hift":  # fixed: the public weights, nothing to train
        assert cfg.model.vocoder.path == "THUDM/glm-4-voice-decoder" and cfg.model.discriminator is None
    else:
        objective = hydra.utils.instantiate(cfg.model.vocoder_objective)
        assert objective.f0_weight == 1.0 and objective.tpr_weight == 1.0 and objective.loss_mel == {"fmax": 11025.0}
        vocoder = hydra.utils.instantiate(cfg.model.vocoder)
        assert vocoder.family == "hift"


def test_hift_trains_a_gan_step_with_its_losses(prepared):  # noqa: F811
    from audiorole.models.vocoder import Vocoder

    torch.manual_seed(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    module = AcousticModule(
        tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
        vocoder=Vocoder.from_config({"base_channels": 16, "f0_predictor": {"cond_channels": 16}}, family="hift"),
        discriminator=HiftDiscriminator(width=1 / 32, periods=(2, 3), fft_sizes=(256, 128)),
        vocoder_optimizer=functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.8, 0.99)),
        vocoder_objective=VocoderObjective(fm_weight=4.0, tpr_weight=1.0, f0_weight=1.0, loss_mel={"fmax": 11025.0}),
        vocoder_segment_frames=8)
    before = {k: v.clone() for k, v in module.vocoder.generator.state_dict().items()}
    quick_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1).fit(module, dm)
    m = module.trainer.callback_metrics
    assert {"train/disc_loss", "train/disc_tpr", "train/gen_loss", "train/gen_adv", "train/gen_fm", "train/gen_mel",
            "train/gen_tpr", "train/gen_f0"} <= set(m)
    assert all(torch.isfinite(m[k]) for k in m)
    after = module.vocoder.generator.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("f0_predictor.") for k in changed), "the F0 loss never reached the F0 predictor"
    assert any(k.startswith("resblocks.") for k in changed), "the adversarial / mel losses never reached the filter"
