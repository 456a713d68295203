"""FlowDecoder (GLM-4-Voice's flow as the stage uses it) and the acoustic mel: shapes, masks, determinism,
export in the public layout, overfit. Parity with the authors' code is in test_glm4voice_flow.py."""

import numpy as np
import pytest
import torch

from audiorole.audio.mel import HOP_LENGTH, N_MELS, SAMPLE_RATE, frames_for, griffin_lim, mel_filterbank, mel_of
from audiorole.models.flow.decoder import SILENCE, FlowDecoder
from flow_fakes import tiny_flow


@pytest.fixture(autouse=True)
def one_thread():
    # The machine's 2 cores are shared: OpenMP spin-waits on a busy second core cost ~100x here.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def small(**kw):
    return tiny_flow(vocab_size=64, **kw)


def synthetic_pairs(model, lens, seed=0):
    """Padded (tokens, token_lens, mel, mel_lens): each token owns a smooth random mel frame."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.cos(torch.pi * torch.arange(N_MELS)[:, None] * torch.arange(6)[None, :] / N_MELS)
    templates = -5.5 + 0.8 * torch.randn(model.vocab_size, 6, generator=g) @ basis.T
    toks = [torch.randint(0, model.vocab_size, (n,), generator=g) for n in lens]
    mels = []
    for t in toks:
        f = model.frames_for_tokens(len(t))
        mels.append(templates[t[torch.arange(f) * len(t) // f]].T)
    tokens = torch.zeros(len(lens), max(lens), dtype=torch.long)
    mel = torch.zeros(len(lens), N_MELS, max(m.shape[1] for m in mels))
    for i, (t, m) in enumerate(zip(toks, mels)):
        tokens[i, : len(t)] = t
        mel[i, :, : m.shape[1]] = m
    return tokens, torch.tensor(lens), mel, torch.tensor([m.shape[1] for m in mels])


# ---- mel ---------------------------------------------------------------------------------

def test_mel_of_sine_peaks_at_the_right_bin():
    sr = SAMPLE_RATE
    t = np.arange(sr) / sr
    wave = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    mel = mel_of(wave, sr)
    assert mel.shape == (N_MELS, frames_for(len(wave))) == (N_MELS, sr // HOP_LENGTH)
    expected = int(mel_filterbank()[round(1000.0 * 1024 / sr)].argmax())
    assert int(mel.mean(axis=1).argmax()) == expected
    assert mel.min() >= np.log(1e-5) - 1e-6
    # another input rate is resampled to 22050 Hz first: same frame count per second
    wave16 = (0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(16000) / 16000)).astype(np.float32)
    assert int(mel_of(wave16, 16000).mean(axis=1).argmax()) == expected


def test_griffin_lim_length_and_spectrum():
    sr = SAMPLE_RATE
    wave = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(sr // 2) / sr)).astype(np.float32)
    mel = mel_of(wave)
    audio = griffin_lim(mel, n_iter=8)
    assert isinstance(audio, np.ndarray) and audio.shape == (mel.shape[1] * HOP_LENGTH,)
    assert np.isfinite(audio).all()
    assert int(mel_of(audio).mean(axis=1).argmax()) == int(mel.mean(axis=1).argmax())
    batch = griffin_lim(torch.as_tensor(np.stack([mel, mel])), n_iter=2)
    assert isinstance(batch, torch.Tensor) and batch.shape == (2, mel.shape[1] * HOP_LENGTH)


# ---- decoder -----------------------------------------------------------------------------

def test_frame_count_from_tokens_truncates_like_the_authors():
    model = small().eval()
    for n in (1, 13, 25, 63):
        assert int(model.frames_for_tokens(n)) == int(n / 12.5 * 22050 / 256)
    assert int(model.frames_for_tokens(25)) == 172  # 2 s
    assert model.generate(torch.randint(0, 64, (13,)), n_steps=1, seed=0).shape == (N_MELS, 89)
    assert model.prior_mel(torch.randint(0, 64, (63,))).shape == (N_MELS, 434)


def test_loss_shapes_and_padding_is_inert():
    model = small()
    tokens, token_lens, mel, mel_lens = synthetic_pairs(model, [5, 9, 3])
    out = model.loss(tokens, token_lens, mel, mel_lens)
    assert set(out) == {"loss", "flow_loss", "prior_loss"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    out["loss"].backward()
    assert model.input_embedding.weight.grad is not None and model.decoder.estimator.final_proj.weight.grad is not None
    # junk in padded tokens / mel frames changes nothing
    model.eval()
    junk_tokens, junk_mel = tokens.clone(), mel.clone()
    for i in range(3):
        junk_tokens[i, token_lens[i]:] = 7
        junk_mel[i, :, mel_lens[i]:] = 3.0
    a = model.loss(tokens, token_lens, mel, mel_lens, generator=torch.Generator().manual_seed(1))
    b = model.loss(junk_tokens, token_lens, junk_mel, mel_lens, generator=torch.Generator().manual_seed(1))
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    # each item decodes alone; padding frames of a batch hold silence
    batched = model.prior_mel(tokens, token_lens)
    for i in range(3):
        alone = model.prior_mel(tokens[i, : token_lens[i]])
        n = alone.shape[-1]
        torch.testing.assert_close(batched[i, :, :n], alone)
        assert (batched[i, :, n:] == SILENCE).all()


def test_prior_loss_weight_adds_the_encoder_l1():
    tokens, token_lens, mel, mel_lens = synthetic_pairs(small(), [6, 6])
    for weight in (0.0, 2.0):
        out = small(prior_loss_weight=weight).loss(tokens, token_lens, mel, mel_lens,
                                                   generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(out["loss"], out["flow_loss"] + weight * out["prior_loss"])


def test_heldout_loss_is_the_seeded_mean_over_draws_and_repeats():
    model = small().eval()
    batch = synthetic_pairs(model, [6, 9])
    one = [float(model.loss(*batch, generator=torch.Generator().manual_seed(5 + 1000 * k))["loss"]) for k in range(4)]
    assert len(set(one)) == 4  # each draw differs: one alone is noise
    assert model.heldout_loss(*batch, draws=4, seed=5) == pytest.approx(np.mean(one), rel=1e-6)
    assert model.heldout_loss(*batch, draws=4, seed=5) == model.heldout_loss(*batch, draws=4, seed=5)
    assert model.training is False and model.heldout_loss(*batch, draws=1, seed=5) == pytest.approx(one[0], rel=1e-6)


def test_generate_is_deterministic_and_honours_n_steps():
    model = small().eval()
    calls = []
    model.decoder.estimator.register_forward_hook(lambda *a: calls.append(1))
    tokens = torch.randint(0, 64, (8,))
    a = model.generate(tokens, n_steps=4, seed=3)
    assert len(calls) == 4  # CFG runs the conditional and unconditional fields in one call
    torch.testing.assert_close(a, model.generate(tokens, n_steps=4, seed=3), rtol=0, atol=0)
    assert not torch.equal(a, model.generate(tokens, n_steps=4, seed=4))
    calls.clear()
    c = model.generate(tokens, n_steps=7, seed=3)
    assert len(calls) == 7 and not torch.equal(a, c)
    # no seed: the authors' fixed noise (seed 42)
    torch.testing.assert_close(model.generate(tokens, n_steps=2), model.generate(tokens, n_steps=2, seed=42))


def test_guidance_changes_the_output():
    model = small().eval()
    tokens = torch.randint(0, 64, (8,))
    g0 = model.generate(tokens, n_steps=3, guidance=0.0, seed=0)
    g7 = model.generate(tokens, n_steps=3, guidance=0.7, seed=0)
    assert (g0 - g7).abs().mean() > 1e-4
    torch.testing.assert_close(model.generate(tokens, n_steps=3, seed=0), g7)  # config default is 0.7


def test_prefix_draws_and_prompted_continuation():
    model = small()
    lens = torch.tensor([40, 10, 0, 75])
    drawn = model._prefix_lens(lens.repeat(50), torch.Generator().manual_seed(0)).view(50, 4)
    assert (drawn >= 0).all() and (drawn <= torch.floor(0.8 * lens.float())).all()
    assert 0.3 < float((drawn[:, 0] > 0).float().mean()) < 0.7  # about half the items get a prefix
    assert not model._prefix_lens(lens, None).gt(torch.floor(0.8 * lens.float())).any()
    # a continuation encodes the prompt too and returns only the new frames
    model.eval()
    tokens, _, mel, _ = synthetic_pairs(model, [10, 6])
    p_frames = int(model.frames_for_tokens(10))
    cont = model.generate(tokens[1, :6], n_steps=2, prompt_tokens=tokens[0, :10], prompt_mel=mel[0, :, :p_frames], seed=0)
    assert cont.shape == (N_MELS, int(model.frames_for_tokens(16)) - p_frames)
    alone = model.generate(tokens[1, :6], n_steps=2, seed=0)
    n = min(cont.shape[-1], alone.shape[-1])
    assert not torch.allclose(cont[:, :n], alone[:, :n])
    with pytest.raises(ValueError, match="prompt_mel"):
        model.generate(tokens[1, :6], prompt_tokens=tokens[0, :10])


def test_save_load_roundtrip_in_the_public_layout(tmp_path):
    model = small().eval()
    tokens = torch.randint(0, 64, (9,))
    path = model.save(tmp_path / "decoder")
    assert sorted(p.name for p in path.iterdir()) == ["config.yaml", "flow.pt"]
    assert (path / "config.yaml").read_text().count("!new:cosyvoice.") == 5  # the authors' loader builds it
    loaded = FlowDecoder.load(path)
    assert loaded.config == model.config and not loaded.training
    torch.testing.assert_close(loaded.generate(tokens, n_steps=3, seed=5), model.generate(tokens, n_steps=3, seed=5),
                               rtol=0, atol=0)
    assert FlowDecoder.from_config({"_target_": "x", "source": str(path), **model.config}).num_parameters() == \
        model.num_parameters()
    started = FlowDecoder(source=path, prior_loss_weight=0.5)  # a source fixes the shapes and the weights
    assert started.vocab_size == 64 and torch.equal(started.encoder_proj.weight, model.encoder_proj.weight)


def test_yaml_configs_build():
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from audiorole.models.flow.config import DEFAULT_CONFIG, merged_config

    with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[1] / "conf/model/flow"),
                               version_base="1.3"):
        tiny, paper = compose("tiny"), compose("glm4voice")
    assert tiny._target_ == paper._target_ == "audiorole.models.flow.decoder.FlowDecoder"
    assert 1e6 <= instantiate(tiny).num_parameters() <= 3e6
    paper_arch = {k: v for k, v in merged_config(paper).items() if k in DEFAULT_CONFIG}
    assert paper_arch == merged_config({})  # the paper config is the published decoder's


def test_tiny_model_overfits():
    model = small()
    tokens, token_lens, mel, mel_lens = synthetic_pairs(model, [10, 13, 16])

    def prior_l1():
        model.eval()
        out = model.prior_mel(tokens, token_lens)
        model.train()
        return float(sum((out[i, :, :n] - mel[i, :, :n]).abs().mean() for i, n in enumerate(mel_lens)) / 3)

    before = prior_l1()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    batch = (tokens, token_lens, mel, mel_lens)
    gen = torch.Generator().manual_seed(0)
    flow = []
    for _ in range(40):
        out = model.loss(*batch, generator=gen)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        flow.append(float(out["flow_loss"].detach()))
    assert prior_l1() * 3 <= before, (before, prior_l1())
    assert np.mean(flow[-10:]) < 0.5 * np.mean(flow[:10]), flow


def test_zero_steps_is_the_encoders_prediction():
    dec = small().eval()
    tokens = torch.arange(9) % 16
    assert torch.equal(dec.generate(tokens, n_steps=0, seed=1), dec.prior_mel(tokens))
    assert not torch.equal(dec.generate(tokens, n_steps=2, seed=1), dec.prior_mel(tokens))


def test_paper_recipe_and_starting_from_a_public_folder(make_cfg):
    from pathlib import Path

    from hydra.utils import instantiate

    cfg = make_cfg(["stage=acoustic", "model=acoustic_glm4voice", "tokenizer=glm4voice"])
    assert cfg.model.decoder.vocab_size == 16384 and cfg.model.decoder.prior_loss_weight == 0.0
    assert cfg.model.optimizer.lr == 1e-3 and cfg.model.scheduler.warmup_steps == 2500 and cfg.model.gradient_clip == 5.0 and cfg.model.n_steps == 10
    # model.decoder.source: the folder's config.yaml sets the shapes, its flow.pt the weights (strictly)
    public = Path(__file__).parent / "fixtures" / "glm4voice_flow"
    cfg = make_cfg(["stage=acoustic", "model=acoustic_glm4voice", f"model.decoder.source={public}"])
    started = instantiate(cfg.model.decoder)
    expected = torch.load(public / "flow.pt", weights_only=True)
    assert all(torch.equal(v, expected[k]) for k, v in started.state_dict().items())


def test_warmup_lr_rises_to_the_base_rate_then_decays():
    from audiorole.utils.warmup_lr import WarmupLR

    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = WarmupLR(opt, warmup_steps=4)
    rates = []
    for _ in range(16):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert rates[15] == pytest.approx(1e-3 * (4 / 16) ** 0.5)  # inverse square root after the peak


def test_mel_init_level_starts_mu_near_the_log_mel_level(tmp_path):
    tokens = torch.randint(0, 64, (20,))
    assert abs(float(small().eval().prior_mel(tokens).mean())) < 2.0
    model = small(mel_init_level=-5.5).eval()
    assert abs(float(model.prior_mel(tokens).mean()) + 5.5) < 1.0
    assert torch.all(model.decoder.estimator.final_proj.bias == -5.5)
    assert FlowDecoder.load(model.save(tmp_path / "d")).config["mel_init_level"] == -5.5  # kept with the export
