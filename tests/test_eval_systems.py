"""ARP-Eval systems (ground truth, a character's decoder, an untrained one) and multi-turn consistency."""

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from audiorole.errors import AudioroleError
from audiorole.eval.consistency import multi_turn_consistency, spread
from audiorole.eval.items import EvalItem
from audiorole.eval.systems import AcousticDecoder, GroundTruth, UntrainedDecoder
from audiorole.models.flow.decoder import FlowDecoder
from flow_fakes import TINY_FLOW
from audiorole.models.vocoder import Vocoder
from eval_fakes import one_torch_thread  # noqa: F401  (autouse)

TINY = TINY_FLOW


def item(i: int, character="mara", scene="ep1-s1", turn=None, tokens=None, audio=Path("none.wav"),
         text="hi") -> EvalItem:
    return EvalItem(id=f"r{i}", character=character, episode="ep1", scene=scene, turn=i if turn is None else turn,
                    text=text, audio=audio, tokens=np.arange(10 + i) % 16 if tokens is None else tokens)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(1)
    root = tmp_path_factory.mktemp("decoders")
    trained = FlowDecoder(**TINY)
    with torch.no_grad():  # a decoder whose weights differ from any fresh init
        for p in trained.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return trained.save(root / "mara"), FlowDecoder(**TINY).save(root / "otis")


def test_ground_truth_is_the_reference_clip_and_text(tmp_path):
    wave = (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    sf.write(tmp_path / "a.wav", wave, 16000)
    [out] = GroundTruth(sample_rate=16000).respond([item(0, audio=tmp_path / "a.wav", text="aye")])
    assert out.sample_rate == 16000 and out.text == "aye"
    assert np.allclose(out.wave, wave, atol=1e-4)
    [out] = GroundTruth(sample_rate=8000, use_reference_text=False).respond([item(0, audio=tmp_path / "a.wav")])
    assert out.text is None and abs(len(out.wave) - 4000) <= 2


def test_decoder_resynthesises_tokens_deterministically(exported):
    mara, _ = exported
    system = AcousticDecoder(str(mara), n_steps=2)
    items = [item(0), item(1)]
    outs = system.respond(items)
    decoder = FlowDecoder.load(mara)
    for it, out in zip(items, outs):
        assert out.text is None and out.sample_rate == 22050 and out.wave.dtype == np.float32
        assert len(out.wave) == decoder.frames_for_tokens(len(it.tokens)) * 256
    again = AcousticDecoder(str(mara), n_steps=2).respond(items)
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(outs, again))
    assert system.describe()["vocoder"] == {str(mara): "griffin-lim"}


def test_each_character_gets_its_own_decoder_and_other_character_differs(exported):
    mara, otis = exported
    items = [item(0, "mara"), item(1, "otis")]
    both = AcousticDecoder({"mara": str(mara), "otis": str(otis)}, n_steps=2).respond(items)
    only_mara = AcousticDecoder(str(mara), n_steps=2).respond(items)
    only_otis = AcousticDecoder(str(otis), name="decoder:otis→mara", n_steps=2).respond(items)
    assert np.array_equal(both[0].wave, only_mara[0].wave) and np.array_equal(both[1].wave, only_otis[1].wave)
    assert not np.allclose(only_mara[0].wave, only_otis[0].wave)
    with pytest.raises(AudioroleError, match="no decoder for character 'june'.*decoder.june="):
        AcousticDecoder({"mara": str(mara)}).respond([item(0, "june")])


def test_shifted_decoders_speak_every_character_in_the_next_ones_voice(exported):
    mara, otis = exported
    decoders = {"mara": str(mara), "otis": str(otis)}
    items = [item(0, "mara"), item(1, "otis")]
    shifted = AcousticDecoder(decoders, name="decoder:next", shift=1, n_steps=2).respond(items)
    own = AcousticDecoder({"mara": str(otis), "otis": str(mara)}, n_steps=2).respond(items)
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(shifted, own))
    with pytest.raises(AudioroleError, match="shift=2 needs decoder=.*not a multiple"):
        AcousticDecoder(decoders, shift=2)
    with pytest.raises(AudioroleError, match="shift=1 needs decoder="):
        AcousticDecoder(str(mara), shift=1)


def test_bad_sources_and_missing_tokens_are_one_line_errors(exported, tmp_path):
    with pytest.raises(AudioroleError, match="no decoder given; pass decoder="):
        AcousticDecoder(None)
    with pytest.raises(AudioroleError, match="not a decoder folder"):
        AcousticDecoder(str(tmp_path)).respond([item(0)])
    with pytest.raises(AudioroleError, match="no such decoder"):
        AcousticDecoder(str(tmp_path / "nope")).respond([item(0)])
    (tmp_path / "junk.ckpt").write_text("not a checkpoint")
    with pytest.raises(AudioroleError, match="cannot read it as a checkpoint"):
        AcousticDecoder(str(tmp_path / "junk.ckpt")).respond([item(0)])
    with pytest.raises(AudioroleError, match="no speech tokens"):
        AcousticDecoder(str(exported[0])).respond([item(0, tokens=np.zeros(0, np.int64))])


def _checkpoint(run: Path, decoder: FlowDecoder, **extra) -> Path:
    path = run / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    state = {f"decoder.{k}": v for k, v in decoder.state_dict().items()}
    state["val_mel_l1.total"] = torch.zeros(())  # other module state is ignored
    torch.save({"state_dict": state, "hyper_parameters": {"n_steps": 10}, **extra}, path)
    return path


def test_a_lightning_checkpoint_speaks_like_its_export(exported, tmp_path):
    mara, _ = exported
    decoder = FlowDecoder.load(mara)
    from_dir = AcousticDecoder(str(mara), n_steps=2).respond([item(3)])[0].wave

    with_config = _checkpoint(tmp_path / "a", decoder, decoder_config=decoder.config)
    assert np.array_equal(AcousticDecoder(str(with_config), n_steps=2).respond([item(3)])[0].wave, from_dir)

    beside_run = _checkpoint(tmp_path / "b", decoder)  # architecture from the run's saved Hydra config
    (tmp_path / "b" / ".hydra").mkdir()
    (tmp_path / "b" / ".hydra" / "config.yaml").write_text(yaml.safe_dump(
        {"model": {"decoder": {"_target_": "audiorole.models.flow.decoder.FlowDecoder", **decoder.config}}}))
    assert np.array_equal(AcousticDecoder(str(beside_run), n_steps=2).respond([item(3)])[0].wave, from_dir)

    unknown = _checkpoint(tmp_path / "c", decoder)
    with pytest.raises(AudioroleError, match="does not say the decoder's architecture"):
        AcousticDecoder(str(unknown)).respond([item(3)])


def test_the_vocoder_exported_beside_the_decoder_is_used(exported, tmp_path):
    import shutil

    mara, _ = exported
    folder = Path(shutil.copytree(mara, tmp_path / "decoder"))
    torch.manual_seed(0)
    Vocoder.from_config("tiny").save(folder / "vocoder")
    system = AcousticDecoder(str(folder), n_steps=2)
    [voc] = system.respond([item(2)])
    [gl] = AcousticDecoder(str(mara), n_steps=2).respond([item(2)])
    assert system.describe()["vocoder"] == {str(folder): str(folder / "vocoder")}
    assert len(voc.wave) == len(gl.wave) and not np.allclose(voc.wave, gl.wave)
    # The untrained baseline hears through the same vocoder, so the two rows differ in the decoder alone.
    untrained = UntrainedDecoder(like=str(folder), n_steps=2)
    untrained.respond([item(2)])
    assert untrained.describe()["vocoder"] == {"untrained:0": str(folder / "vocoder")}


def test_untrained_copies_the_architecture_with_fixed_random_weights(exported):
    mara, _ = exported
    torch.manual_seed(123)
    before = torch.rand(1)
    a = UntrainedDecoder(like=str(mara), init_seed=7, n_steps=2)
    outs = a.respond([item(0)])
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), before)  # seeding the init left the global RNG alone
    same = UntrainedDecoder(config=FlowDecoder.load(mara).config, init_seed=7, n_steps=2).respond([item(0)])
    other_seed = UntrainedDecoder(like=str(mara), init_seed=8, n_steps=2).respond([item(0)])
    trained = AcousticDecoder(str(mara), n_steps=2).respond([item(0)])
    assert np.array_equal(outs[0].wave, same[0].wave)
    assert not np.allclose(outs[0].wave, other_seed[0].wave)
    assert not np.allclose(outs[0].wave, trained[0].wave)
    assert a.describe()["parameters"] == FlowDecoder.load(mara).num_parameters()
    with pytest.raises(AudioroleError, match="needs the architecture"):
        UntrainedDecoder()


# ---- multi-turn consistency ----------------------------------------------------------------------

def test_spread_on_hand_checked_numbers():
    std, msd = spread([0.8, 0.6, 0.7])
    assert math.isclose(std, math.sqrt(0.02 / 3)) and math.isclose(msd, 0.15)
    assert spread([0.5, 0.9]) == pytest.approx((0.2, 0.4))


def test_consistency_averages_over_scenes_with_two_or_more_replies():
    items = [item(0, scene="A", turn=4), item(1, scene="A", turn=0), item(2, scene="A", turn=2),  # turn order 1, 2, 0
             item(3, scene="B", turn=0),                                                       # alone: left out
             item(4, scene="C", turn=1), item(5, scene="C", turn=3)]
    ap = {"r1": 0.8, "r2": 0.6, "r0": 0.7, "r3": 0.1, "r4": 0.5, "r5": 0.9}
    cp = {"r1": 1.0, "r2": 1.0, "r0": 1.0, "r3": 0.0, "r4": 0.2, "r5": float("nan")}
    per_item = [{"id": k, "ap": ap[k], "cp": cp[k]} for k in ap]
    report = multi_turn_consistency(items, per_item)
    assert report["scenes"] == 2 and report["replies"] == 5
    assert report["ap_std"] == pytest.approx((math.sqrt(0.02 / 3) + 0.2) / 2)
    assert report["ap_msd"] == pytest.approx((0.15 + 0.4) / 2)
    # scene C has one finite CP only, so CP consistency comes from scene A alone
    assert report["cp_std"] == pytest.approx(0.0) and report["cp_msd"] == pytest.approx(0.0)
    other = multi_turn_consistency([item(0, character="otis", scene="A"), item(1, scene="A")], per_item)
    assert other["scenes"] == 0 and other["ap_std"] is None  # different characters never form a run
