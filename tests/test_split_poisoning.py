"""Nothing that selects or fits reads the test part: garbage in test replies changes none of it.

A copy of a prepared dataset has its test replies' audio (clips and episode spans) and
text replaced by garbage. Checkpoint selection (tiny acoustic fits with ARP-Eval on dev),
CP's training lines and the offline tokenizer's fit come out the same on both. The same
garbage in dev replies does change the selection, so the comparison can fail.
"""

import functools
import json
import shutil

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import OmegaConf

from audiorole.data.splits import load_splits
from audiorole.eval.eval_set import training_lines
from audiorole.prep.manifests import write_manifests
from audiorole.tokenizers.cache import build_token_cache
from audiorole.utils.atomic import write_jsonl
from callbacks.arp_eval import ARPEvalCallback
from datamodules.acoustic_datamodule import AcousticDataModule
from eval_fakes import DEMO_SERIES, PITCH, SR, ToneEvaluator, make_prepared, one_torch_thread, tone  # noqa: F401
from lightning_modules.acoustic_module import AcousticModule
from test_acoustic_module import tiny_decoder
from test_token_cache import CountingTokenizer


def _rebuild(root, kept):
    """Manifests, token cache and split of ``root`` from ``kept`` (its clips and episode already written)."""
    write_jsonl(root / "kept.jsonl", kept)
    write_manifests(kept, {"ep1": str(root / "ep1.flac")}, root)
    shutil.rmtree(root / "tokens", ignore_errors=True)
    (root / "splits.json").unlink(missing_ok=True)
    build_token_cache(root, CountingTokenizer())


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The eval fakes' dataset, its episode holding each reply's tone where the reply was said."""
    root = make_prepared(tmp_path_factory.mktemp("clean"), scenes=10)
    kept = [json.loads(line) for line in (root / "kept.jsonl").read_text().splitlines()]
    episode, _ = sf.read(root / "ep1.flac", dtype="float32")
    for reply in kept:
        start = int(reply["start"] * SR)
        wave = tone(PITCH[reply["character"]], reply["duration"])
        episode[start:start + len(wave)] = wave
    sf.write(root / "ep1.flac", episode, SR)
    _rebuild(root, kept)
    return root


def poisoned(clean, dst, part: str):
    """A copy of ``clean`` whose ``part`` replies hold noise and nonsense text (in clips and in the episode)."""
    shutil.copytree(clean, dst)
    splits = load_splits(clean)
    rng = np.random.default_rng(7)
    episode, _ = sf.read(dst / "ep1.flac", dtype="float32")
    kept = []
    for reply in (json.loads(line) for line in (dst / "kept.jsonl").read_text().splitlines()):
        reply["audio"] = str(dst / "audio" / reply["character"] / f"{reply['id']}.flac")
        if splits.part(reply["scene"]) == part:
            noise = rng.uniform(-0.9, 0.9, int(reply["duration"] * SR)).astype(np.float32)
            sf.write(reply["audio"], noise, SR)
            episode[int(reply["start"] * SR):int(reply["start"] * SR) + len(noise)] = noise
            reply["text"] = "qzx vbnm " * 5
        kept.append(reply)
    sf.write(dst / "ep1.flac", episode, SR)
    _rebuild(dst, kept)
    return dst


def select(root, tmp_path) -> dict:
    """A tiny selection step: fit 3 epochs, validate each, keep the best on val/ap (ARP-Eval on dev)."""
    L.seed_everything(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(root), "series_dir": str(DEMO_SERIES)}), "june",
                            crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2)
    arp = ARPEvalCallback(ToneEvaluator(), max_items=4, log_audio=0)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/ap", mode="max", save_top_k=1,
                                 filename="{epoch}")
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[arp, checkpoint],
                        default_root_dir=tmp_path, deterministic=True)
    trainer.fit(module, dm)
    return {"best": checkpoint.best_model_path.rsplit("/", 1)[-1], "score": float(checkpoint.best_model_score),
            "val": {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")},
            "weights": [p.detach().clone() for p in module.parameters()]}


def same_selection(a: dict, b: dict) -> bool:
    return (a["best"] == b["best"] and a["score"] == b["score"] and a["val"] == b["val"]
            and all(torch.equal(x, y) for x, y in zip(a["weights"], b["weights"])))


def test_selection_and_references_ignore_test_replies(clean, tmp_path):
    bad = poisoned(clean, tmp_path / "bad_test", "test")
    before, after = load_splits(clean), load_splits(bad)
    assert before.fingerprint == after.fingerprint and before.dataset_fingerprint != after.dataset_fingerprint
    assert training_lines(bad) == training_lines(clean)
    assert same_selection(select(clean, tmp_path / "a"), select(bad, tmp_path / "b"))

    dev_bad = poisoned(clean, tmp_path / "bad_dev", "dev")  # the control: dev is what selection reads
    assert not same_selection(select(clean, tmp_path / "c"), select(dev_bad, tmp_path / "d"))


@pytest.mark.slow  # fits a tokenizer twice (~4 s); runs with the slow tests in CI
def test_tokenizer_fit_ignores_test_replies(clean, tmp_path):
    from audiorole.prep.run import train_audio
    from audiorole.tokenizers.offline_fit import fit_or_load

    bad = poisoned(clean, tmp_path / "bad", "test")
    assert not np.array_equal(sf.read(clean / "ep1.flac")[0], sf.read(bad / "ep1.flac")[0])  # a whole-episode fit would see it
    clips = {name: train_audio(root, 16000)() for name, root in (("clean", clean), ("bad", bad))}
    assert len(clips["clean"]) == len(clips["bad"]) > 0
    assert all(np.array_equal(x, y) for x, y in zip(clips["clean"], clips["bad"]))
    settings = {"codebook_size": 8, "seed": 0, "max_frames": 500}
    fitted = [fit_or_load(tmp_path / name / "tok", clips[name], fit_on=name, **settings) for name in ("clean", "bad")]
    assert fitted[0].fingerprint == fitted[1].fingerprint
