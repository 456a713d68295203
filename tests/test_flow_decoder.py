"""Flow-matching decoder (tokens -> mel) and the acoustic mel: shapes, masks, determinism, artifact, overfit."""

import numpy as np
import pytest
import torch

from audiorole.audio.mel import HOP_LENGTH, N_MELS, SAMPLE_RATE, frames_for, griffin_lim, mel_filterbank, mel_of
from audiorole.models.flow.decoder import SILENCE, FlowDecoder
from audiorole.models.flow.encoder import frames_for_tokens

SMALL = dict(codebook_size=64, d_model=64, encoder_layers=2, heads=4, estimator_channels=[64],
             estimator_attn=1, estimator_mid_blocks=1, estimator_heads=4, estimator_head_dim=16, dropout=0.0)


@pytest.fixture(autouse=True)
def one_thread():
    # The machine's 2 cores are shared: OpenMP spin-waits on a busy second core cost ~100x here.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class Field(torch.nn.Module):
    """A stand-in estimator whose output depends only on x_t's shape."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, mask, mu, t, cond):
        return self.fn(x)


def small(**kw):
    torch.manual_seed(0)
    return FlowDecoder(**{**SMALL, **kw})


def synthetic_pairs(model, lens, seed=0):
    """Padded (tokens, token_lens, mel, mel_lens): each token owns a smooth random mel frame."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.cos(torch.pi * torch.arange(N_MELS)[:, None] * torch.arange(6)[None, :] / N_MELS)
    templates = -5.5 + 0.8 * torch.randn(model.config["codebook_size"], 6, generator=g) @ basis.T
    toks = [torch.randint(0, model.config["codebook_size"], (n,), generator=g) for n in lens]
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

def test_frame_count_from_tokens():
    assert frames_for_tokens(25) == round(25 * 22050 / 256 / 12.5) == 172  # 2 s
    assert frames_for_tokens(torch.tensor([1, 13, 63])).tolist() == [7, 90, 434]
    model = small().eval()
    assert model.generate(torch.randint(0, 64, (13,)), n_steps=1, seed=0).shape == (N_MELS, 90)
    assert model.prior_mel(torch.randint(0, 64, (63,))).shape == (N_MELS, 434)


def test_forward_shapes_and_masks_with_variable_lengths():
    model = small()
    tokens, token_lens, mel, mel_lens = synthetic_pairs(model, [5, 9, 3])
    out = model(tokens, token_lens, mel, mel_lens)
    assert set(out) == {"loss", "flow_loss", "prior_loss"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    out["loss"].backward()
    assert model.encoder.embed.weight.grad is not None
    # padding is inert: junk in padded tokens / mel frames changes nothing
    model.eval()
    junk_tokens, junk_mel = tokens.clone(), mel.clone()
    for i in range(3):
        junk_tokens[i, token_lens[i]:] = 7
        junk_mel[i, :, mel_lens[i]:] = 3.0
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = model(tokens, token_lens, mel, mel_lens, generator=g1)
    b = model(junk_tokens, token_lens, junk_mel, mel_lens, generator=g2)
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    # batched = alone, and padding frames hold silence
    batched = model.prior_mel(tokens, token_lens)
    for i in range(3):
        alone = model.prior_mel(tokens[i, : token_lens[i]])
        n = model.frames_for_tokens(int(token_lens[i]))
        torch.testing.assert_close(batched[i, :, :n], alone, atol=1e-5, rtol=1e-4)
        assert (batched[i, :, n:] == SILENCE).all()
    gen = model.generate(tokens, token_lens=token_lens, n_steps=2, seed=0)
    assert gen.shape == (3, N_MELS, int(model.frames_for_tokens(token_lens).max()))


def test_generate_is_deterministic_and_honours_n_steps():
    model = small().eval()
    calls = []
    model.cfm.estimator.register_forward_hook(lambda *a: calls.append(1))
    tokens = torch.randint(0, 64, (8,))
    a = model.generate(tokens, n_steps=4, seed=3)
    assert len(calls) == 4  # CFG runs the conditional and unconditional fields in one call
    b = model.generate(tokens, n_steps=4, seed=3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, model.generate(tokens, n_steps=4, seed=4))
    calls.clear()
    c = model.generate(tokens, n_steps=7, seed=3)
    assert len(calls) == 7 and not torch.equal(a, c)
    with pytest.raises(ValueError):
        model.cfm.sample(torch.zeros(1, 80, 4), torch.ones(1, 4, dtype=torch.bool), torch.zeros(1, 80, 4), n_steps=0)
    with pytest.raises(ValueError):
        model.generate(tokens, n_steps=-1)


def test_guidance_changes_the_output():
    model = small().eval()
    tokens = torch.randint(0, 64, (8,))
    g0 = model.generate(tokens, n_steps=3, guidance=0.0, seed=0)
    g7 = model.generate(tokens, n_steps=3, guidance=0.7, seed=0)
    assert (g0 - g7).abs().mean() > 1e-4
    torch.testing.assert_close(model.generate(tokens, n_steps=3, seed=0), g7)  # config default is 0.7


def test_prefix_conditioning_masks_the_loss_on_the_prefix():
    model = small(prefix_prob=1.0, cfg_rate=0.0).train()
    tokens, token_lens, mel, mel_lens = synthetic_pairs(model, [10, 6])
    x1 = model.normalize(mel)
    cond, loss_mask = model.make_condition(x1, mel_lens, torch.Generator().manual_seed(0))
    for i in range(2):
        p = int((cond[i].abs().sum(0) > 0).sum())
        assert 0 < p <= 0.8 * int(mel_lens[i])
        torch.testing.assert_close(cond[i, :, :p], x1[i, :, :p])
        assert (cond[i, :, p:] == 0).all()
        assert not loss_mask[i, :p].any() and loss_mask[i, p: mel_lens[i]].all()
        assert not loss_mask[i, mel_lens[i]:].any()
    # the loss ignores whatever the estimator says on the prefix
    estimator = model.cfm.estimator
    prefix = ~loss_mask & (torch.arange(mel.shape[-1])[None] < mel_lens[:, None])
    model.cfm.estimator = Field(lambda x: torch.zeros_like(x))
    mu = torch.zeros_like(x1)
    mask = torch.arange(mel.shape[-1])[None] < mel_lens[:, None]
    base = model.cfm.loss(x1, mask, mu, cond, loss_mask, torch.Generator().manual_seed(0))
    model.cfm.estimator = Field(lambda x: 1e6 * prefix.unsqueeze(1).float().expand_as(x))
    wild = model.cfm.loss(x1, mask, mu, cond, loss_mask, torch.Generator().manual_seed(0))
    model.cfm.estimator = estimator
    torch.testing.assert_close(base, wild)
    # at inference a prompt prefix is kept, and a continuation returns only the new frames
    model.eval()
    prompt = mel[0, :, :20]
    out = model.generate(tokens[0, :10], n_steps=2, prompt_mel=prompt, seed=0)
    assert out.shape == (N_MELS, model.frames_for_tokens(10))
    torch.testing.assert_close(out[:, :20], prompt)
    cont = model.generate(tokens[1, :6], n_steps=2, prompt_mel=mel[0, :, :69], prompt_tokens=tokens[0, :10], seed=0)
    assert cont.shape == (N_MELS, model.frames_for_tokens(6))


def test_save_load_roundtrip(tmp_path):
    model = small().eval()
    tokens = torch.randint(0, 64, (9,))
    path = model.save(tmp_path / "decoder")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = FlowDecoder.load(path)
    assert loaded.config == model.config and not loaded.training
    torch.testing.assert_close(loaded.generate(tokens, n_steps=3, seed=5), model.generate(tokens, n_steps=3, seed=5),
                               rtol=0, atol=0)
    assert FlowDecoder.from_config({"_target_": "x", **model.config}).num_parameters() == model.num_parameters()


def test_yaml_configs_build(tmp_path):
    import yaml
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "conf" / "model" / "flow"
    tiny = yaml.safe_load((conf / "tiny.yaml").read_text())
    paper = yaml.safe_load((conf / "glm4voice.yaml").read_text())
    assert tiny["_target_"] == paper["_target_"] == "audiorole.models.flow.decoder.FlowDecoder"
    assert 1e6 <= FlowDecoder.from_config(tiny).num_parameters() <= 3e6
    assert paper["codebook_size"] == 16384 and paper["d_model"] == 512 and paper["encoder_layers"] == 6


def test_tiny_model_overfits():
    model = small()
    tokens, token_lens, mel, mel_lens = synthetic_pairs(model, [10, 13, 16])

    def gen_l1():
        model.eval()
        out = model.generate(tokens, token_lens=token_lens, n_steps=10, seed=0)
        model.train()
        return float(sum((out[i, :, :n] - mel[i, :, :n]).abs().mean() for i, n in enumerate(mel_lens)) / len(mel_lens))

    before = gen_l1()
    steps = 150
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    # short warm-up, then linear decay: the end of training is not left at the noisiest step size
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10) * max(0.05, 1 - s / steps))
    batch = (tokens.repeat(2, 1), token_lens.repeat(2), mel.repeat(2, 1, 1), mel_lens.repeat(2))
    torch.manual_seed(0)
    for _ in range(steps):
        loss = model(*batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    after = gen_l1()
    assert after * 3 <= before, (before, after)


def test_zero_steps_is_the_encoders_prediction():
    import torch

    from audiorole.models.flow.decoder import FlowDecoder

    torch.manual_seed(0)
    dec = FlowDecoder(codebook_size=16, d_model=32, encoder_layers=1, heads=2, estimator_channels=[32],
                      estimator_mid_blocks=1, estimator_heads=2, estimator_head_dim=16).eval()
    tokens = torch.arange(9) % 16
    assert torch.equal(dec.generate(tokens, n_steps=0, seed=1), dec.prior_mel(tokens))
    assert not torch.equal(dec.generate(tokens, n_steps=2, seed=1), dec.prior_mel(tokens))
