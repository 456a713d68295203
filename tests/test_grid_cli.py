"""The condition grid's two commands: `python -m audiorole.demo.grid` writes a part with its truth and resumes;
`python -m audiorole.demo.grid_eval` prepares it and scores every episode (slow: the offline pipeline runs)."""

import json

import pytest
import yaml

from audiorole.demo import grid, grid_eval

pytestmark = pytest.mark.slow  # speaks and mixes episodes (seconds), then prepares them (minutes)

# One espeak voice set of two characters and an extra: one script, clean and one noisy condition.
TINY = {
    "sample_rate": 24000, "noises": ["wind"], "snr_db": [10], "rt60": [0.0], "rooms": "rotate",
    "short": {"episodes": 1, "clean_scripts": 1, "scenes": 1, "scene_sizes": [2]},
    "long": {"scenes": 2, "scene_sizes": [2], "subtitles": "unnamed", "condition": "clean"},
    "parts": {"dev": {"seed": 5, "names": ["Ada", "Bram", "Cora"], "long": False, "voice_sets": {
        "robots": {"engine": "espeak", "pool": ["en-us+Andy", "en-gb+Annie", "en-us+Linda"], "cast": 2, "extras": 1}}}},
}


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    config = out / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    grid.main(["--part", "dev", "--out", str(out), "--config", str(config)])
    return out, config


def test_grid_writes_series_with_truth_and_a_rerun_speaks_nothing(tiny_grid, capsys, monkeypatch):
    out, config = tiny_grid
    series = out / "dev" / "robots"
    rows = grid.episode_rows(out / "dev")
    assert sorted(e for _, e in rows) == ["s1_clean", "s1_wind10"] and {s for s, _ in rows} == {"robots"}
    for _, episode in rows:
        assert (series / "truth" / f"{episode}.rttm").is_file() and (series / "truth" / f"{episode}.script.jsonl").is_file()
    registry = yaml.safe_load((series / "characters.yaml").read_text())
    assert len(registry["characters"]) == 2
    assert all(len(list((series / "characters" / name).glob("*.flac"))) >= 4 for name in registry["characters"])
    assert json.loads((series / "enrollment_voices.json").read_text()).keys() == registry["characters"].keys()

    from audiorole.demo import clip_cache

    monkeypatch.setattr(clip_cache, "synthesize", lambda *a: pytest.fail("a rerun spoke a line again"))
    capsys.readouterr()
    grid.main(["--part", "dev", "--out", str(out), "--config", str(config)])
    assert "[grid] robots/" not in capsys.readouterr().out  # every episode was already there


def test_grid_eval_scores_every_episode_with_intervals_and_memory(tiny_grid):
    out, _ = tiny_grid
    work = out / "eval"
    grid_eval.main(["--grid", str(out), "--part", "dev", "--work", str(work), "--name", "defaults"])
    rows = [json.loads(line) for line in (work / "dev" / "defaults" / "episodes.jsonl").read_text().splitlines()]
    assert sorted(r["episode"] for r in rows) == ["s1_clean", "s1_wind10"]
    for r in rows:
        assert r["set"] == "robots" and r["turns"] > 0 and 0 <= r["recalled"] <= r["turns"] and r["der"] is not None
        assert sum(r["fates"].values()) == r["turns"]  # every cast turn has one fate
    report = (work / "dev" / "defaults" / "report.md").read_text()
    assert "## By snr" in report and "Where the cast's truth turns went" in report
    assert json.loads((work / "dev" / "defaults" / "peak_memory_gb.json").read_text())["robots"] > 0.1
