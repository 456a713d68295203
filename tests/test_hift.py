"""HiFT (GLM-4-Voice's vocoder): parity with the authors' code, public-checkpoint loading, shapes.

The fixtures in ``tests/fixtures/glm4voice_hift`` were written by ``make.py``
there from the authors' ``cosyvoice.hifigan`` (the commit is in ``meta.json``):
tiny random weights in the public layout, a fixed mel, the random phases and
noise their sine source drew, and their waveform.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

from audiorole.errors import ConfigError
from audiorole.models import hyperpyyaml
from audiorole.models.vocoder import HiFTConfig, HiFTGenerator, Vocoder, load_hift, save_hift
from audiorole.models.vocoder.hift_checkpoint import read_hift_state
from audiorole.models.vocoder.public_checkpoint import to_old_names

FIXTURES = Path(__file__).parent / "fixtures" / "glm4voice_hift"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def io():
    return torch.load(FIXTURES / "io.pt", weights_only=True)


@pytest.mark.parametrize("case", ["plain", "cached"])
@pytest.mark.parametrize("fold", [False, True])
def test_waveform_matches_the_authors_code(io, case, fold):
    model = load_hift(FIXTURES).eval()
    if fold:
        model.remove_weight_norm()
    c = io[case]
    assert (c["f0"] <= 10).any() and (c["f0"] > 10).any()  # both voiced and unvoiced frames are exercised
    with torch.inference_mode():
        wave, source = model.inference(c["mel"], cache_source=c.get("cache_source"), phase=c["phase"], noise=c["noise"])
        f0 = model.f0_predictor(c["mel"])
    assert wave.shape == c["wave"].shape == (1, c["mel"].shape[-1] * 256)
    assert torch.allclose(f0, c["f0"], atol=1e-4)
    assert torch.allclose(source, c["source"], atol=1e-4)
    assert (wave - c["wave"]).abs().max() <= 1e-4
    assert c["wave"].abs().max() > 0.05  # a waveform, not silence


def test_full_size_names_and_shapes_match_the_published_model():
    reference = json.loads((FIXTURES / "full_size.json").read_text())
    with torch.device("meta"):
        ours = HiFTGenerator("glm4voice")
    state = to_old_names(ours.state_dict())
    assert [[k, list(v.shape)] for k, v in state.items()] == reference["tensors"]
    assert len(state) == 227
    assert sum(v.numel() for v in state.values()) == reference["parameters"]
    assert round(reference["parameters"] / 1e6, 1) == 20.5


def test_config_yaml_is_read_without_running_its_tags():
    cfg = hyperpyyaml.load((FIXTURES / "config.yaml").read_text())
    hift = cfg["hift"]
    assert hift["_target_"] == "cosyvoice.hifigan.generator.HiFTGenerator"
    assert hift["sampling_rate"] == 22050  # !ref <sample_rate> resolved
    assert hift["f0_predictor"]["cond_channels"] == 16
    assert HiFTGenerator(load_hift(FIXTURES).config).config.base_channels == 16


def test_config_reader_keeps_tags_as_data(tmp_path):
    cfg = hyperpyyaml.load(
        "__seed: !apply:torch.manual_seed [1986]\nrate: 50\n"
        "flow: !new:pkg.Flow\n    rate: !ref <rate>\n    twice: !ref <rate> * 2\n"
        "    cfm: !new:omegaconf.DictConfig\n        content:\n            sigma_min: 1e-06\n"
        "pipeline: [!ref <opener>]\nopener: !name:pkg.open\n")
    assert cfg["__seed"] == {"_apply_": "torch.manual_seed", "_args_": [1986]}
    assert cfg["flow"]["rate"] == 50 and cfg["flow"]["twice"] == "<rate> * 2"  # expressions are never evaluated
    assert cfg["flow"]["cfm"]["content"]["sigma_min"] == 1e-6
    assert cfg["pipeline"][0] == {"_name_": "pkg.open", "_args_": []}


def test_a_mismatched_checkpoint_names_the_first_differing_tensor(tmp_path):
    # The tiny weights against the published shapes (no config.yaml beside them).
    shutil.copy(FIXTURES / "hift.pt", tmp_path / "hift.pt")
    with pytest.raises(ConfigError) as e:
        load_hift(tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "hift.pt" in msg and "conv_pre.bias has shape (16,)" in msg
    state = read_hift_state(FIXTURES / "hift.pt")
    state.pop("f0_predictor.classifier.bias")
    torch.save(state, tmp_path / "hift.pt")
    with pytest.raises(ConfigError, match=r"f0_predictor.classifier.bias \(1,\) is missing"):
        load_hift(tmp_path / "hift.pt", config=load_hift(FIXTURES).config)


def test_not_a_hift_file_is_refused(tmp_path):
    torch.save({"conv_pre.weight": torch.zeros(1)}, tmp_path / "hift.pt")
    with pytest.raises(ConfigError, match="not a HiFT"):
        load_hift(tmp_path)


def test_saved_public_layout_round_trips_and_loads_through_the_vocoder(tmp_path, io):
    model = load_hift(FIXTURES)
    save_hift(model, tmp_path / "hift.pt")
    shutil.copy(FIXTURES / "config.yaml", tmp_path / "config.yaml")
    saved = torch.load(tmp_path / "hift.pt", weights_only=True)
    assert set(saved) == set(read_hift_state(FIXTURES / "hift.pt"))  # weight_g / weight_v, as the authors' modules
    vocoder = Vocoder.load_pretrained(tmp_path)  # a decoder folder with hift.pt
    assert vocoder.family == "hift" and not vocoder.generator.has_weight_norm
    c = io["plain"]
    wave = vocoder(c["mel"][0])
    assert wave.shape == (c["mel"].shape[-1] * 256,)
    assert torch.isfinite(wave).all()


def test_vocoder_artifact_round_trip_keeps_the_family(tmp_path):
    vocoder = Vocoder.from_config("tiny", family="hift")
    vocoder.save(tmp_path / "v")
    loaded = Vocoder.load(tmp_path / "v")
    assert loaded.family == "hift" and loaded.generator.config == HiFTConfig.from_dict(vocoder.generator.config.to_dict())
    for a, b in zip(vocoder.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
