"""The acoustic stage's data: train and dev parts by whole scenes, minute caps, aligned (tokens, mel) batches."""

import numpy as np
import pytest
import soundfile as sf
from omegaconf import OmegaConf

from audiorole.prep.manifests import write_manifests
from audiorole.tokenizers.cache import build_token_cache
from datamodules.acoustic_datamodule import AcousticDataModule
from test_token_cache import CountingTokenizer
from audiorole.utils.atomic import write_jsonl


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    rng = np.random.default_rng(0)
    episode = root / "ep1.flac"
    sf.write(episode, (0.05 * rng.standard_normal(16000 * 60)).astype(np.float32), 16000)
    kept = []
    for i in range(12):
        seconds = 1.5 + (i % 4)
        clip = root / "audio" / f"r{i}.flac"
        clip.parent.mkdir(exist_ok=True)
        sf.write(clip, (0.2 * rng.standard_normal(int(16000 * seconds))).astype(np.float32), 16000)
        kept.append({"id": f"ep1-r{i}", "episode": "ep1", "scene": f"ep1-s{i // 3}", "turn": i % 3,
                     "character": "ann" if i % 6 else "bob", "start": 5.0 * i, "end": 5.0 * i + seconds,
                     "duration": seconds, "text": "hello there", "audio": str(clip), "context": []})
    write_jsonl(root / "kept.jsonl", kept)
    write_manifests(kept, {"ep1": str(episode)}, root)
    build_token_cache(root, CountingTokenizer())
    return root


def module(prepared, **kw):
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", **kw)
    dm.setup("fit")
    return dm


def test_split_holds_whole_scenes_out_and_keeps_one_character(prepared):
    dm = module(prepared)
    scenes = lambda cuts: {c.supervisions[0].custom["scene"] for c in cuts}
    assert dm.val_cuts and dm.train_cuts
    assert not scenes(dm.train_cuts) & scenes(dm.val_cuts)
    assert {c.supervisions[0].speaker for c in list(dm.train_cuts) + list(dm.val_cuts)} == {"ann"}


def test_max_minutes_takes_nested_subsets(prepared):
    small = {c.id for c in module(prepared, max_minutes=0.1).train_cuts}
    large = {c.id for c in module(prepared, max_minutes=0.2).train_cuts}
    full = {c.id for c in module(prepared).train_cuts}
    assert small < large <= full and sum(1 for _ in small) >= 1


def test_batches_are_aligned_and_padded(prepared):
    dm = module(prepared, crop_seconds=1.0, max_duration=8.0)
    batch = next(iter(dm.train_dataloader()))
    assert batch["tokens"].shape[1] == 12  # 1 s at 12.5 Hz, cropped
    ratio = batch["mel_lens"].float() / batch["token_lens"].float()
    assert torch_allclose(ratio, 22050 / 256 / 12.5, tol=0.5)
    full = next(iter(dm.val_dataloader()))
    assert int(full["mel_lens"].max()) == full["mel"].shape[-1]
    assert (full["tokens"][0, full["token_lens"][0]:] == 0).all()


def torch_allclose(values, target, tol):
    return bool(((values - target).abs() <= tol).all())


def test_padding_efficiency_counts_padded_area():
    from types import SimpleNamespace

    from audiorole.data.padding import padding_efficiency

    cut = lambda d: SimpleNamespace(duration=d)
    assert padding_efficiency([[cut(1.0), cut(3.0)]]) == 4.0 / 6.0
    assert padding_efficiency([[cut(1.0)], [cut(3.0)]]) == 1.0
    assert padding_efficiency([[cut(1.0), cut(3.0)]], crop_seconds=1.0) == 1.0
    assert padding_efficiency([]) == 1.0
