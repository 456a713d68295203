"""Dataset scores over the truth: precision over kept and all attributed replies, recall, whole-transcript WER, by regime."""

import json

import pytest

from audiorole.errors import SeriesError
from audiorole.prep.truth_eval import evaluate_against_truth, main

# ep1 (named subtitles): ann 0-4, bob 5-9, ann 10-14, extra 15-18.  ep2 (no subtitles): bob 0-4, ann 5-9.
SCRIPT = {
    "ep1": [("ann", 0, 4, "cast off the lines"), ("bob", 5, 9, "it is not impossible"), ("ann", 10, 14, "mind the shoals"),
            ("extra_dock", 15, 18, "aye captain")],
    "ep2": [("bob", 0, 4, "the archive may explain"), ("ann", 5, 9, "we sail at dusk")],
}


def reply(ep, i, character, start, end, text, reason=None):
    row = {"id": f"{ep}-{i}", "episode": ep, "character": character, "start": start, "end": end, "text": text}
    return {**row, "reason": reason} if reason else row


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def dataset(tmp_path):
    series, prepared = tmp_path / "series", tmp_path / "prepared"
    (series / "truth").mkdir(parents=True)
    (series / "subtitles").mkdir()
    (series / "subtitles" / "ep1.srt").write_text("1\n00:00:00,000 --> 00:00:04,000\nANN: Cast off the lines.\n")
    (series / "characters.yaml").write_text("characters:\n  ann: {}\n  bob: {}\n")
    (prepared / "rttm").mkdir(parents=True)
    for ep, lines in SCRIPT.items():
        write_jsonl(series / "truth" / f"{ep}.script.jsonl",
                    [{"speaker": s, "start": a, "end": b, "text": t} for s, a, b, t in lines])
        rttm = "".join(f"SPEAKER {ep} 1 {a:.3f} {b - a:.3f} <NA> <NA> {s} <NA> <NA>\n" for s, a, b, _ in lines)
        (series / "truth" / f"{ep}.rttm").write_text(rttm)
        (prepared / "rttm" / f"{ep}.rttm").write_text(rttm)  # perfect diarization
    write_jsonl(prepared / "kept.jsonl", [reply("ep1", 0, "ann", 0, 4, "cast off the lines"),
                                          reply("ep2", 0, "bob", 0, 4, "the archive may explain")])
    write_jsonl(prepared / "dropped.jsonl", [reply("ep1", 1, "ann", 5, 9, "it is impossible", "low_dnsmos"),  # wrong speaker
                                             reply("ep2", 1, "ann", 5, 9, "we sail at dusk", "too_short")])
    write_jsonl(prepared / "transcripts" / "ep1.jsonl",  # whole transcript: one deletion, one hallucination
                [{"start": 0, "end": 4, "character": "ann", "text": "cast off the lines"},
                 {"start": 5, "end": 9, "character": "ann", "text": "it is impossible"},
                 {"start": 10, "end": 14, "character": None, "text": "mind the shoals"},
                 {"start": 15, "end": 18, "character": None, "text": "aye captain thank you"}])
    write_jsonl(prepared / "transcripts" / "ep2.jsonl", [{"start": 0, "end": 4, "character": "bob", "text": "the archive may explain"},
                                                         {"start": 5, "end": 9, "character": "ann", "text": "we sail at dusk"}])
    return prepared, series


def test_scores_over_the_truth_by_subtitle_regime(dataset):
    prepared, series = dataset
    report = evaluate_against_truth(prepared, series / "truth")
    assert report["episodes"] == {"ep1": {"regime": "named", "der": 0.0}, "ep2": {"regime": "none", "der": 0.0}}
    every, named, none = (report["by_regime"][k] for k in ("all", "named", "none"))
    assert "unnamed" not in report["by_regime"]
    assert every["precision_kept"] == 1.0 and every["precision_attributed"] == 3 / 4
    assert every["truth_turns"] == 5  # the cast's turns: the extra is not in the registry
    assert every["recall_kept"] == 2 / 5 and every["recall_attributed"] == 3 / 5
    assert named["recall_kept"] == 1 / 3 and none["recall_attributed"] == 2 / 2
    # ep1: 13 reference words, "not" deleted, "thank you" inserted; ep2 exact.
    assert named["wer_all"] == pytest.approx(3 / 13) and none["wer_all"] == 0.0
    assert every["wer_all"] == pytest.approx(3 / 21) and every["wer_kept"] == 0.0
    ann = report["per_character"]["ann"]
    assert {k: v for k, v in ann.items() if k != "turn_fates"} == {
        "truth_turns": 3, "attributed": 3, "attributed_right": 2, "kept": 1, "kept_right": 1}
    assert report["subtitle_filter_dropped"] == 0
    # Where each cast turn went: bob's 5-9 sits in his own cluster named ann; ann's 10-14 in her cluster, unnamed.
    fates = every["turn_fates"]
    assert fates["fates"] == {"kept": 2, "misnamed": 1, "unnamed": 1, "dropped:too_short": 1}
    assert (fates["after_diarization"], fates["after_attribution"], fates["kept"]) == (1.0, 3 / 5, every["recall_kept"])
    assert ann["turn_fates"]["fates"] == {"kept": 1, "unnamed": 1, "dropped:too_short": 1}
    assert report["per_episode"]["ep2"]["recall_kept"] == 1 / 2


def test_a_truth_folder_in_another_layout_is_a_one_line_error(dataset, tmp_path, capsys):
    prepared, series = dataset
    other = tmp_path / "annotations"
    other.mkdir()
    (other / "ep1_speakers.rttm").write_text((series / "truth" / "ep1.rttm").read_text())
    with pytest.raises(SeriesError, match=r"expected ep1\.rttm and ep1\.script\.jsonl"):
        evaluate_against_truth(prepared, other)
    assert main([str(prepared), str(other)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(other) in err
