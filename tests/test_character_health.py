"""The dataset report flags a character whose kept audio collapsed, with or without ground truth."""

import json

from audiorole.prep.stats import attributed_seconds, character_health, compute_stats, write_report


def _reply(ep, character, start, end):
    return {"id": f"{ep}-{start}", "episode": ep, "character": character, "start": start, "end": end, "duration": end - start}


def test_collapse_against_screen_time_and_recall(tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    turns = [{"start": 10 * i, "end": 10 * i + 8, "character": c, "text": ""}
             for i, c in enumerate(["ann"] * 5 + ["bob"] * 5 + ["cy"] * 5 + [None] * 2)]
    (folder / "ep1.jsonl").write_text("".join(json.dumps(t) + "\n" for t in turns))
    attributed = attributed_seconds([folder])
    assert attributed == {"ann": 40.0, "bob": 40.0, "cy": 40.0}
    # ann and bob keep four of five turns; cy keeps one, though diarization gave it as much speech.
    kept = [_reply("ep1", t["character"], t["start"], t["end"]) for t in turns[:4] + turns[5:9] + turns[10:11]]
    script = {"ep1": [{"speaker": t["character"] or "extra", "start": t["start"], "end": t["end"]} for t in turns]}
    health = character_health(kept, attributed, ["ann", "bob", "cy", "dee"], script)
    assert health["ann"]["flag"] is None and health["ann"]["recall"] == 0.8 and health["ann"]["precision"] == 1.0
    assert "kept 20 % of its attributed speech" in health["cy"]["flag"] and "recall 20 %" in health["cy"]["flag"]
    assert health["dee"]["flag"] == "no speech attributed"
    without_truth = character_health(kept, attributed, ["ann", "bob", "cy"])
    assert "recall" not in without_truth["cy"] and without_truth["cy"]["flag"].startswith("kept 20 %")

    stats = compute_stats(kept, [], [], 300.0, 1, health=health)
    write_report(stats, tmp_path, "show")
    report = (tmp_path / "report.md").read_text()
    assert "**Characters whose audio collapsed:**" in report and "- cy: kept 20 %" in report
