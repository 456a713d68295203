"""bench/subtitle_check.py: the wrong texts it reads, and the threshold its rule picks."""

import random

import pytest

from conftest import bench_script


@pytest.fixture(scope="module")
def bench():
    return bench_script("subtitle_check")


def test_wrong_texts_change_or_drop_a_third_of_the_words(bench):
    line = "anchor off the north buoy till noon"
    wrong = bench.wrong_texts(line, [line, "another line entirely"], ["gull", "tide"], random.Random(0))
    assert wrong["other_line"] == "another line entirely"
    changed, dropped = wrong["words_changed"].split(), wrong["words_dropped"].split()
    assert len(changed) == 7 and sum(a != b for a, b in zip(changed, line.split())) <= 2 and changed != line.split()
    assert len(dropped) == 5 and all(w in line.split() for w in dropped)


def test_the_rule_picks_the_lowest_threshold_that_keeps_wrong_texts_out(bench):
    def row(judged, subtitle, wrong):
        return {"judged": judged, "subtitle": subtitle, **{k: wrong for k in bench.WRONG}}

    # True subtitles around -2.2; wrong texts at -3.1 on 1 of 10 mismatches, far lower on the rest.
    rows = [row("mismatch", -2.2, -3.1)] + [row("mismatch", -2.2, -6.0) for _ in range(9)] + [row("passed", -0.5, -6.0)]
    lines, chosen = bench.table(rows)
    assert chosen == -3.0  # at -3.25 one wrong text in ten (10 %) gets in
    at = {line["min_logprob"]: line for line in lines}
    assert at[-2.0]["true_mismatch"] == 0.0 and at[-2.5]["true_mismatch"] == 1.0
    assert at[-3.25]["other_line_mismatch"] == pytest.approx(0.1)
    assert bench.table([row("mismatch", -2.2, -1.0)])[1] is None  # wrong texts outscore: no threshold qualifies
