"""Sharded runs partition the episodes and merge into one dataset."""

import json

import pytest
from omegaconf import OmegaConf

import prep_fakes
from audiorole.errors import SeriesError
from audiorole.prep.merge import merge_shards
from audiorole.prep.run import prepare_dataset


def data_cfg(series, out, index, count):
    return OmegaConf.create({
        "series_dir": str(series), "out_dir": str(out), "shard": {"index": index, "count": count},
        "prep_order": ["standardise"],
        "prep": {"standardise": {"_target_": "audiorole.prep.standardise.Standardise"}},
    })


def test_shards_then_merge(tmp_path):
    series = prep_fakes.make_series(tmp_path / "show", episodes=5)
    out = tmp_path / "out"
    with pytest.raises(SeriesError, match="no shards"):
        merge_shards(out)
    done = [prepare_dataset(data_cfg(series, out, i, 2)) for i in range(2)]
    assert sorted(sum((list(r.results) for r in done), [])) == [f"ep{i}" for i in range(5)]
    stats = merge_shards(out)
    assert stats["episodes"] == 5
    assert json.loads((out / "stats.json").read_text())["episodes"] == 5
    import gzip

    with gzip.open(out / "episodes.jsonl.gz", "rt") as f:
        assert sorted(json.loads(line)["id"] for line in f) == [f"ep{i}" for i in range(5)]


def test_merge_refuses_missing_shards(tmp_path):
    series = prep_fakes.make_series(tmp_path / "show", episodes=3)
    out = tmp_path / "out"
    prepare_dataset(data_cfg(series, out, 0, 3))
    with pytest.raises(SeriesError, match="missing"):
        merge_shards(out)
