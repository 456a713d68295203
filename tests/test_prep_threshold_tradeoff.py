"""Threshold trade-off: the filter's own rules rerun on recorded replies, unscored ones counted apart."""

import json

import pytest

from audiorole.errors import SeriesError
from audiorole.prep.filter import ReplyFilter
from audiorole.prep.threshold_tradeoff import (KEPT, NOT_SCORED, load_thresholds, main, tradeoff, verdict)

# Truth: ann 0-10, bob 10-20, ann 20-30, bob 30-40.
SCRIPT = [("ann", 0, 10), ("bob", 10, 20), ("ann", 20, 30), ("bob", 30, 40)]
# The filter's defaults, less language ID (no model in a unit test), at a quality threshold of 2.5.
THRESHOLDS = {"language": None, "min_dnsmos": 2.5}


def reply(i, character, start, end, ovrl=None, reason=None, overlap=0.0):
    row = {"id": f"ep1-{i}", "episode": "ep1", "character": character, "start": start, "end": end,
           "text": "cast off the lines", "overlap": overlap}
    if ovrl is not None:
        row["dnsmos"] = {"ovrl": ovrl}
    return {**row, "reason": reason} if reason else row


KEPT_REPLIES = [reply(0, "ann", 0, 4, ovrl=3.0),
                reply(1, "ann", 10, 12.5, ovrl=2.6)]  # bob speaks there: misattributed
OVERLAPPED = reply(4, "ann", 22, 26, reason="overlap", overlap=1.0)  # a quarter overlapped; never scored
DROPPED_REPLIES = [reply(2, "bob", 30, 33, ovrl=2.2, reason="low_dnsmos"),
                   reply(3, "ann", 20, 20.6, reason="too_short"),  # never scored
                   OVERLAPPED]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def dataset(tmp_path):
    prepared, truth = tmp_path / "prepared", tmp_path / "truth"
    prepared.mkdir()
    truth.mkdir()
    write_jsonl(prepared / "kept.jsonl", KEPT_REPLIES)
    write_jsonl(prepared / "dropped.jsonl", DROPPED_REPLIES)
    write_jsonl(truth / "ep1.script.jsonl", [{"speaker": s, "start": a, "end": b, "text": "x"} for s, a, b in SCRIPT])
    (truth / "ep1.rttm").write_text("".join(f"SPEAKER ep1 1 {a} {b - a} <NA> <NA> {s} <NA> <NA>\n" for s, a, b in SCRIPT))
    return prepared, truth


def rows_by_value(table, name):
    return {r["value"]: r for r in table[name]}


def test_moving_one_threshold_changes_what_is_kept(dataset):
    table = tradeoff(*dataset, THRESHOLDS)
    dnsmos = rows_by_value(table, "min_dnsmos")
    now = dnsmos[2.5]
    assert now["configured"] and (now["kept"], now["precision"], now["not_scored"]) == (2, 0.5, 0)
    assert now["minutes"] == pytest.approx(6.5 / 60) and now["mean_ovrl"] == pytest.approx(2.8)
    assert now["minutes_per_character"] == pytest.approx({"ann": 6.5 / 60, "bob": 0.0})
    # Lower: bob's low-quality reply (rightly attributed) comes back; higher: the misattributed one goes.
    assert (dnsmos[2.0]["kept"], dnsmos[2.0]["precision"]) == (3, pytest.approx(2 / 3))
    assert dnsmos[2.0]["minutes_per_character"]["bob"] == pytest.approx(3 / 60)
    assert (dnsmos[2.75]["kept"], dnsmos[2.75]["precision"]) == (1, 1.0)
    assert dnsmos[None]["not_scored"] == 0  # the unscored replies still fail their cheaper rules


def test_replies_never_scored_are_counted_apart_not_guessed(dataset):
    table = tradeoff(*dataset, THRESHOLDS)
    overlap = rows_by_value(table, "max_overlap_ratio")
    assert (overlap[0.1]["kept"], overlap[0.1]["not_scored"]) == (2, 0)
    looser = overlap[0.3]  # the overlapping reply passes the overlap rule, but DNSMOS never scored it
    assert (looser["kept"], looser["not_scored"], looser["not_scored_precision"]) == (2, 1, 1.0)
    assert looser["not_scored_minutes"] == pytest.approx(4 / 60)
    short = rows_by_value(table, "min_seconds")
    assert (short[0.5]["not_scored"], short[1.0]["not_scored"]) == (1, 0)
    assert short[3.0]["precision"] == 1.0  # the misattributed reply is shorter than 3 s
    # With the quality rule off no score is needed: the verdict is known.
    assert verdict(ReplyFilter(**THRESHOLDS, max_overlap_ratio=0.3), OVERLAPPED) == NOT_SCORED
    assert verdict(ReplyFilter(**{**THRESHOLDS, "min_dnsmos": None}, max_overlap_ratio=0.3), OVERLAPPED) == KEPT


def test_thresholds_that_do_not_reproduce_the_recorded_decisions_are_refused(dataset):
    with pytest.raises(SeriesError, match="ep1-2 was low_dnsmos but these thresholds give kept"):
        tradeoff(*dataset, {**THRESHOLDS, "min_dnsmos": 2.0})


def test_cli_reads_the_filter_config_with_overrides_and_writes_markdown(dataset, tmp_path, capsys):
    assert load_thresholds(overrides=["max_subtitle_wer=null"])["max_subtitle_wer"] is None
    out = tmp_path / "table.md"
    assert main([*map(str, dataset), "language=null", "min_dnsmos=2.5", "--out", str(out)]) == 0
    text = out.read_text()
    assert "### min_dnsmos" in text and "| **2.5** | 2 | 0.11 | 50.0 | 2.80 | 0 |" in text
    assert main([*map(str, dataset), "language=null", "min_dnsmos=2.0"]) == 1
    assert "pass the filter settings it was prepared with" in capsys.readouterr().err


def test_the_robustness_sweep_writes_it_with_the_filter_overrides_it_prepared_with(dataset, tmp_path, capsys):
    from audiorole.demo.robustness import write_tradeoff

    out = tmp_path / "tradeoff.md"
    write_tradeoff(*dataset, ["data.workers=2", "data.prep.postprocess.filter.language=null",
                              "data.prep.postprocess.filter.min_dnsmos=2.5"], out)
    assert "| **2.5** | 2 |" in out.read_text()
    out.unlink()
    write_tradeoff(*dataset, ["data.prep.postprocess.filter.language=null", "++data.prep.postprocess.filter.min_dnsmos=2"], out)
    assert not out.exists() and "ep1-2 was low_dnsmos" in capsys.readouterr().err
