"""Train / dev / test by whole scenes: the assignment, splits.json written once, and who reads which part."""

import json
import shutil

import pytest

from audiorole.data.splits import (PARTS, SplitSettings, assign_scenes, character_cuts_for, load_splits, part_counts,
                                   scene_spans, train_and_dev, write_splits)
from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.eval_set import held_out_items, training_lines
from eval_fakes import make_prepared

ORDER = ["mara", "otis", "june", "mara", "otis", "mara", "june"]


def replies(scenes: int, order=ORDER):
    return [(f"ep{s % 3}-s{s:03d}", c) for s in range(scenes) for c in order]


def test_scenes_stay_whole_and_every_character_follows_the_ratios():
    pairs = replies(60)
    parts, short = assign_scenes(pairs, SplitSettings(min_test_replies=8))
    assert set(parts.values()) == set(PARTS) and not short
    counts = part_counts(pairs, parts)
    for character, row in counts.items():
        total = sum(row.values())
        assert abs(row["train"] / total - 0.7) < 0.06 and abs(row["dev"] / total - 0.15) < 0.06, (character, row)
    assert parts == assign_scenes(list(reversed(pairs)), SplitSettings(min_test_replies=8))[0]  # order-free
    assert parts != assign_scenes(pairs, SplitSettings(seed=1))[0]


def test_test_part_is_topped_up_to_the_minimum_and_shortfalls_are_reported():
    pairs = replies(12)  # 0.15 of 12 scenes is ~2 scenes: 4 june replies before the top-up
    parts, short = assign_scenes(pairs, SplitSettings(min_test_replies=8))
    counts = part_counts(pairs, parts)
    assert not short and all(row["test"] >= 8 and row["train"] >= row["test"] for row in counts.values()), counts
    assert all(row["dev"] > 0 for row in counts.values())
    few = [("s0", "ann"), ("s0", "bob"), ("s1", "ann"), ("s2", "ann"), ("s3", "ann"), ("s4", "ann")]
    parts, short = assign_scenes(few, SplitSettings(min_test_replies=8))
    assert short["ann"] == part_counts(few, parts)["ann"]["test"] < 8  # too few scenes: said, not hidden


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("splits"), scenes=12)


def test_written_once_with_fingerprints_and_reused(prepared, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(prepared, root)
    splits = write_splits(root, {"ratios": {"train": 0.7, "dev": 0.15, "test": 0.15}, "seed": 0, "min_test_replies": 8})
    doc = json.loads((root / "splits.json").read_text())
    assert doc["fingerprint"] == splits.fingerprint and len(doc["dataset_fingerprint"]) == 64
    assert doc["settings"]["ratios"] == {"train": 0.7, "dev": 0.15, "test": 0.15} and doc["short_test"] == {}
    assert set(doc["counts"]) == {"mara", "otis", "june"} and set(doc["scenes"].values()) == set(PARTS)
    mtime = (root / "splits.json").stat().st_mtime_ns
    again = write_splits(root, {"seed": 0})  # same settings (defaults filled in): kept as is
    assert again.fingerprint == splits.fingerprint and (root / "splits.json").stat().st_mtime_ns == mtime
    assert load_splits(root).fingerprint == splits.fingerprint
    assert load_splits(root).part(next(iter(doc["scenes"]))) in PARTS
    with pytest.raises(ConfigError, match=r"splits\.json was written with .*delete the file"):
        load_splits(root, {"seed": 3})
    with pytest.raises(ConfigError, match=r"splits\.json"):
        write_splits(root, {"ratios": {"train": 0.8, "dev": 0.1, "test": 0.1}})


def test_a_dataset_that_kept_no_reply_gets_an_empty_split(prepared, tmp_path):
    import gzip

    from audiorole.data.replies import cuts_path

    root = tmp_path / "p"
    shutil.copytree(prepared, root)
    with gzip.open(cuts_path(root), "wt"):  # every reply dropped (a noisy series): an empty manifest
        pass
    splits = write_splits(root, {"seed": 0})
    assert splits.counts == {} and splits.scenes == {}
    assert json.loads((root / "splits.json").read_text())["counts"] == {}


def test_missing_split_is_written_by_the_first_loader_and_a_changed_dataset_is_refused(prepared, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(prepared, root)
    (root / "splits.json").unlink(missing_ok=True)
    train, dev = train_and_dev(root, "otis")  # an older dataset: the loader writes the split
    assert (root / "splits.json").is_file() and len(train) and len(dev)
    shutil.copy(make_prepared(tmp_path / "other", scenes=9) / "cuts.jsonl.gz", root / "cuts.jsonl.gz")
    with pytest.raises(AudioroleError, match=r"splits\.json was written for another version of cuts\.jsonl\.gz"):
        load_splits(root)
    write_splits(root)  # the pipeline, having rewritten the manifests, re-splits
    assert load_splits(root).counts["otis"]["train"] > 0


def test_every_reader_gets_its_part(prepared):
    splits = load_splits(prepared)
    for character in ("mara", "otis", "june"):
        parts = {p: character_cuts_for(prepared, character, p) for p in PARTS}
        scenes = {p: {c.supervisions[0].custom["scene"] for c in cuts} for p, cuts in parts.items()}
        assert all(splits.part(s) == p for p, ss in scenes.items() for s in ss)
        assert all(len(c) for c in parts.values())
        assert {i.id for i in held_out_items(prepared, character, with_tokens=False)} == {c.supervisions[0].id for c in parts["test"]}
        assert ({i.id for i in held_out_items(prepared, character, part="dev", with_tokens=False)}
                == {c.supervisions[0].id for c in parts["dev"]})
        assert sorted(training_lines(prepared)[character]) == sorted(c.supervisions[0].text for c in parts["train"])
        capped = character_cuts_for(prepared, character, "train", max_minutes=0.05)
        assert {c.id for c in capped} < {c.id for c in parts["train"]}
    spans = scene_spans(prepared, "train")
    train_cuts = [c for ch in ("mara", "otis", "june") for c in character_cuts_for(prepared, ch, "train")]
    assert all(any(a <= c.supervisions[0].custom["source_start"] < b for a, b in spans["ep1"]) for c in train_cuts)
    test_cuts = character_cuts_for(prepared, "mara", "test")
    assert not any(a <= c.supervisions[0].custom["source_start"] < b for c in test_cuts for a, b in spans["ep1"])


def test_bad_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="train, dev and test"):
        SplitSettings.from_config({"ratios": {"train": 0.8, "test": 0.2}})
    with pytest.raises(ConfigError, match="unknown keys"):
        SplitSettings.from_config({"val_fraction": 0.2})
