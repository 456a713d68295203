"""The shipped offline codebook and base decoder (pinned, loadable) and training from a corpus manifest."""

import functools
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from omegaconf import OmegaConf

from audiorole.demo.base_corpus import Utterance, clip_path, write_manifests
from audiorole.errors import AudioroleError
from audiorole.models.flow import base_decoder
from audiorole.tokenizers import shipped
from audiorole.tokenizers.base import TokenizerError
from datamodules.base_corpus_datamodule import BaseCorpusDataModule
from flow_fakes import tiny_flow


def test_shipped_tokenizer_matches_its_pins_and_copies_where_asked(tmp_path):
    from audiorole.tokenizers.artifact import load_tokenizer_dir

    tok = shipped.load_shipped(copy_to=tmp_path / "copy")
    assert tok.codebook_size == 1024 and tok.frame_rate == 12.5
    assert load_tokenizer_dir(tmp_path / "copy").fingerprint == tok.fingerprint
    tampered = tmp_path / "tampered"
    shutil.copytree(shipped.SHIPPED_DIR, tampered)
    (tampered / "config.json").write_text((tampered / "config.json").read_text() + "\n")
    with pytest.raises(TokenizerError, match=r"config.json: sha256 .* is not the pinned"):
        shipped.verify(tampered)


def test_tokenizer_offline_is_the_shipped_codebook(make_cfg):
    cfg = make_cfg([])
    assert cfg.tokenizer._target_ == "audiorole.tokenizers.shipped.load_shipped"
    assert make_cfg(["tokenizer=offline_fit"]).tokenizer._target_ == "audiorole.tokenizers.offline_fit.fit_or_load"


def test_base_decoder_matches_its_pins_and_loads_strictly_into_the_tiny_config(make_cfg):
    import hydra

    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.flow.load import load_state

    folder = base_decoder.base_decoder_dir()
    assert sum(p.stat().st_size for p in base_decoder.BASE_DIR.iterdir()) <= 10 * 2**20
    cfg = make_cfg(["stage=acoustic"])
    assert cfg.model.init_from == folder  # the demo's acoustic stage fine-tunes from it by default
    tiny = hydra.utils.instantiate(cfg.model.decoder)
    base = FlowDecoder.load(folder)
    load_state(tiny, base.state_dict(), "base decoder")  # strict: every tensor, every shape
    assert all(p.dtype == torch.float32 for p in tiny.parameters())
    assert make_cfg(["stage=acoustic", "experiment=decoder_init", "decoder_init=base"]).model.init_from == folder


def test_base_decoder_records_the_shipped_codebook_it_was_trained_on():
    from audiorole.data.trained_on import read_trained_on

    _, record = read_trained_on(base_decoder.base_decoder_dir())
    assert record["speech_tokens"] == shipped.load_shipped().fingerprint


def test_the_base_decoder_recipe_reads_the_corpus_from_scratch(make_cfg, monkeypatch):
    monkeypatch.setenv("AUDIOROLE_BASE_CORPUS", "/corpora/base")
    cfg = make_cfg(["experiment=base_decoder"])
    assert cfg.datamodule._target_ == "datamodules.base_corpus_datamodule.BaseCorpusDataModule"
    assert cfg.data.out_dir == "/corpora/base" and cfg.model.init_from is None
    assert cfg.optimized_metric == "val/cer" and cfg.eval.metrics == ["ap", "wer"]


def test_a_changed_base_decoder_file_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "base"
    shutil.copytree(base_decoder.BASE_DIR, copy)
    (copy / "config.yaml").write_text((copy / "config.yaml").read_text() + "\n# edited\n")
    monkeypatch.setattr(base_decoder, "BASE_DIR", copy)
    with pytest.raises(AudioroleError, match=r"config.yaml: sha256 .* is not the pinned"):
        base_decoder.base_decoder_dir()


@pytest.fixture
def corpus(tmp_path):
    """A small corpus in base_corpus's layout: noise clips stand in for speech (the tokenizer is a fake)."""
    rng = np.random.default_rng(0)
    utterances = [Utterance(id=f"u{i:02d}", voice=voice, speed=1.0, text=f"sentence {i}")
                  for i, voice in enumerate(["am_adam", "af_bella"] * 6 + ["bf_lily", "am_michael"] * 5)]
    for i, utt in enumerate(utterances):
        path = clip_path(tmp_path, utt)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.1 * rng.standard_normal(24000 * (2 + i % 3))).astype(np.float32), 24000)
    write_manifests(tmp_path, utterances)
    return tmp_path


def test_trains_from_a_corpus_manifest(corpus):
    dm = BaseCorpusDataModule(OmegaConf.create({"out_dir": str(corpus)}),
                              tokenizer=OmegaConf.create({"_target_": "test_token_cache.CountingTokenizer"}),
                              max_duration=20.0, num_buckets=2, with_wave=False)
    dm.prepare_data()
    dm.setup("fit")
    assert {c.supervisions[0].speaker for c in dm.train_cuts} == {"am_adam", "af_bella"}
    assert {c.supervisions[0].speaker for c in dm.val_cuts} == {"bf_lily"}
    assert {c.supervisions[0].speaker for c in dm.test_cuts()} == {"am_michael"}
    items = dm.eval_items("test")
    refs = dm.eval_references()
    assert items and not {i.audio for i in items} & set(refs.enrollment["am_michael"])  # enrollment is never scored
    decoder = tiny_flow(vocab_size=16)
    optimizer = functools.partial(torch.optim.Adam, lr=1e-3)(decoder.parameters())
    loader = iter(dm._loader(dm.train_cuts, shuffle=False, crop=2.0))  # the train crops, without a Trainer
    for _ in range(2):
        batch = next(loader)
        loss = decoder.loss(batch["tokens"], batch["token_lens"], batch["mel"], batch["mel_lens"])["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss)
