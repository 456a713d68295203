"""Joining base corpora: train clips from all, held-out clips from the last, ids unique, clips present."""

import numpy as np
import pytest
import soundfile as sf

from audiorole.demo.base_corpus import Utterance, read_cuts, write_manifests
from audiorole.demo.join_corpora import join, main
from audiorole.errors import AudioroleError


def corpus(root, prefix, voices_splits):
    """A corpus folder as base_corpus writes it, with short tones for clips."""
    utterances = []
    for i, (voice, split) in enumerate(voices_splits):
        utt = Utterance(id=f"{prefix}-{i:05d}", voice=voice, speed=1.0, text=f"line {i} of {prefix}")
        path = root / "clips" / voice / f"{utt.id}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.1 * np.sin(np.arange(12000) / 10)).astype("float32"), 24000)
        utterances.append(utt)
    write_manifests(root, utterances)
    return root


def test_join_takes_train_from_all_and_held_out_from_the_last(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("audiorole.demo.base_corpus.DEV_VOICES", ("bf_lily",))
    monkeypatch.setattr("audiorole.demo.base_corpus.TEST_VOICES", ("af_sarah",))
    everyday = corpus(tmp_path / "everyday", "base0", [("af_alloy", "train"), ("bf_lily", "dev"), ("af_sarah", "test")])
    broad = corpus(tmp_path / "broad", "broad0", [("af_alloy", "train"), ("am_adam", "train"), ("bf_lily", "dev"),
                                                  ("af_sarah", "test")])
    counts = join(tmp_path / "joined", [everyday, broad])
    assert counts == {"train": 3, "dev": 1, "test": 1}
    cuts = read_cuts(tmp_path / "joined")
    held_out = sorted(c.recording.id for c in cuts if c.supervisions[0].custom["split"] != "train")
    assert held_out == ["broad0-00002", "broad0-00003"]
    assert {c.recording.id for c in cuts if c.supervisions[0].custom["split"] == "train"} == {"base0-00000", "broad0-00000",
                                                                                     "broad0-00001"}
    assert all(c.load_audio().shape[-1] == 12000 for c in cuts)
    main(["--out", str(tmp_path / "again"), str(everyday), str(broad)])
    assert "'train': 3" in capsys.readouterr().out


def test_join_refuses_shared_ids_and_missing_clips(tmp_path):
    a = corpus(tmp_path / "a", "base0", [("af_alloy", "train")])
    b = corpus(tmp_path / "b", "base0", [("af_alloy", "train")])
    with pytest.raises(AudioroleError, match="also in an earlier corpus"):
        join(tmp_path / "joined", [a, b])
    next((tmp_path / "b" / "clips").rglob("*.flac")).unlink()
    c = corpus(tmp_path / "c", "broad0", [("af_alloy", "train")])
    next((tmp_path / "c" / "clips").rglob("*.flac")).unlink()
    with pytest.raises(AudioroleError, match="is missing"):
        join(tmp_path / "joined", [a, c])
    with pytest.raises(AudioroleError, match="at least one"):
        join(tmp_path / "joined", [])
