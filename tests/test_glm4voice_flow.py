"""GLM-4-Voice's flow, ours vs the authors' code: golden fixtures made by tests/fixtures/glm4voice_flow/make.py."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from audiorole.models import hyperpyyaml
from audiorole.models.flow.config import build_flow
from audiorole.models.flow.decoder import load_flow
from audiorole.models.flow.load import FlowLoadError

FIXTURE = Path(__file__).parent / "fixtures" / "glm4voice_flow"


def i32(n: int) -> torch.Tensor:
    return torch.tensor([n], dtype=torch.int32)


@pytest.fixture(scope="module")
def io():
    return load_file(str(FIXTURE / "io.safetensors"))


@pytest.fixture(scope="module")
def flow():
    return load_flow(FIXTURE)


def test_inference_matches_the_authors_with_a_prompt(flow, io):
    prompt_frames = io["prompt_feat"].shape[1]
    mel = flow.inference(io["token"], i32(13), io["prompt_token"], i32(7), io["prompt_feat"], i32(prompt_frames),
                         io["embedding"])
    assert mel.shape == io["mel"].shape == (1, 80, 89)
    torch.testing.assert_close(mel, io["mel"], atol=1e-4, rtol=0)


def test_inference_matches_the_authors_without_a_prompt(flow, io):
    none = torch.zeros(1, 0, dtype=torch.int32)
    mel = flow.inference(io["token"], i32(13), none, i32(0), torch.zeros(1, 0, 80), i32(0), io["embedding"])
    torch.testing.assert_close(mel, io["mel_no_prompt"], atol=1e-4, rtol=0)


def test_training_loss_matches_the_authors(flow, io):
    batch = {"speech_token": io["batch_token"], "speech_token_len": io["batch_token_len"],
             "speech_feat": io["batch_feat"], "speech_feat_len": io["batch_feat_len"],
             "embedding": io["batch_embedding"]}
    meta = json.loads((FIXTURE / "meta.json").read_text())
    out = flow(batch, generator=torch.Generator().manual_seed(meta["loss_seed"]), prefix_lens=io["batch_prefix_lens"])
    torch.testing.assert_close(out["loss"].reshape(1), io["batch_loss"], atol=1e-4, rtol=0)
    assert out["loss"].requires_grad and torch.isfinite(out["prior_loss"])


def test_default_config_has_the_published_tensors():
    published = json.loads((FIXTURE / "full_size_names.json").read_text())
    with torch.device("meta"):
        ours = build_flow().state_dict()
    assert len(ours) == len(published) == 1185
    assert {k: list(v.shape) for k, v in ours.items()} == published
    assert sum(v.numel() for v in ours.values()) == 111_166_208


def _copy(tmp_path, state=None):
    folder = tmp_path / "decoder"
    folder.mkdir()
    shutil.copy(FIXTURE / "config.yaml", folder / "config.yaml")
    torch.save(state if state is not None else torch.load(FIXTURE / "flow.pt", weights_only=True), folder / "flow.pt")
    return folder


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.update({"encoder_proj.weight": torch.zeros(80, 17)}), "encoder_proj.weight has shape (80, 17), expected (80, 16)"),
    (lambda s: s.pop("decoder.estimator.final_proj.bias"), "decoder.estimator.final_proj.bias (80,) is missing"),
    (lambda s: s.update({"decoder.extra": torch.zeros(2)}), "decoder.extra (2,) is unexpected"),
])
def test_a_mismatched_folder_names_the_first_differing_tensor(tmp_path, edit, words):
    state = torch.load(FIXTURE / "flow.pt", weights_only=True)
    edit(state)
    with pytest.raises(FlowLoadError, match=r"flow\.pt: ") as err:
        load_flow(_copy(tmp_path, state))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_missing_folder_or_weights_is_one_line(tmp_path):
    with pytest.raises(FlowLoadError, match="no such checkpoint directory"):
        load_flow(tmp_path / "nope")
    with pytest.raises(FlowLoadError, match="flow.pt: missing"):
        load_flow(tmp_path)


def test_config_tags_are_read_as_data_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = (f"seed: !apply:os.system ['touch {marker}']\nrate: 12.5\n"
            "flow: !new:pkg.Flow\n  input_frame_rate: !ref <rate>\n  scale: !ref <rate> * 2\n"
            "  sigma: 1e-06\n  fn: !name:os.remove\n")
    data = hyperpyyaml.load(text)
    assert not marker.exists()
    assert data["flow"] == {"_target_": "pkg.Flow", "input_frame_rate": 12.5, "scale": "<rate> * 2", "sigma": 1e-6,
                            "fn": {"_name_": "os.remove", "_args_": []}}


def test_config_read_from_the_folder_drives_the_shapes(flow):
    conf = hyperpyyaml.load((FIXTURE / "config.yaml").read_text())["flow"]
    assert flow.vocab_size == conf["vocab_size"] == 32 and flow.encoder.block_size == 4
    assert flow.decoder.inference_cfg_rate == 0.7 and flow.decoder.sigma_min == 1e-6


def test_encoder_is_block_causal(flow):
    """Frames of a block never depend on later blocks' tokens: what lets the decoder stream blockwise."""
    tokens = torch.randint(0, 32, (1, 12))
    changed = tokens.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 32
    lens = torch.tensor([12])
    with torch.no_grad():
        a, _ = flow.encoder(flow.input_embedding(tokens), lens)
        b, _ = flow.encoder(flow.input_embedding(changed), lens)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_zero_steps_returns_the_encoder_mel_and_noise_is_explicit(flow, io):
    none = torch.zeros(1, 0, dtype=torch.int32)
    args = (io["token"], i32(13), none, i32(0), torch.zeros(1, 0, 80), i32(0), io["embedding"])
    mu = flow.inference(*args, n_timesteps=0)
    assert mu.shape == (1, 80, 89) and torch.equal(mu, flow.inference(*args, n_timesteps=0))
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    assert torch.equal(flow.inference(*args, n_timesteps=2, generator=g(1)), flow.inference(*args, n_timesteps=2, generator=g(1)))
    assert not torch.equal(flow.inference(*args, n_timesteps=2, generator=g(1)), flow.inference(*args, n_timesteps=2, generator=g(2)))
