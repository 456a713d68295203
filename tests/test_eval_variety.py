"""Reply variety: one line to every scene, or training replies handed back, shows up in the report."""

import pytest

from audiorole.eval.variety import reply_variety


def test_one_line_for_every_scene_is_not_distinct():
    same = reply_variety(["I must say, with respect."] * 4 + ["i MUST say with respect"])
    assert same["distinct"] == pytest.approx(1 / 5) and same["n"] == 5 and same["copied"] == 0.0


def test_copies_of_training_replies_are_counted_with_an_interval():
    training = ["Mind the shoals.", "We sail at dusk."]
    v = reply_variety(["mind the shoals", "We sail at noon.", "Fog by midnight.", "WE SAIL AT DUSK!"], training)
    assert v["distinct"] == 1.0 and v["copied"] == pytest.approx(0.5)
    assert 0.0 <= v["copied_ci_low"] <= 0.5 <= v["copied_ci_high"] <= 1.0


def test_systems_without_text_have_no_variety_and_empty_replies_do_not_count():
    assert reply_variety([None, None]) is None
    assert reply_variety(["", "  ", None]) is None
    assert reply_variety(["", "Aye."])["n"] == 1


class _Counts:
    """An evaluator that scores nothing: the report's structure is what is tested."""

    def score(self, items, outputs):
        from audiorole.eval.result import EvalResult

        return EvalResult(metrics={}, per_item=[{"id": i.id, "character": i.character} for i in items], backends={})


def test_the_report_shows_variety_for_a_writing_system_only():
    from pathlib import Path

    import numpy as np

    from audiorole.eval.items import EvalItem, Output
    from audiorole.eval.run import evaluate_systems, flat_metrics
    from audiorole.eval.table import markdown

    items = [EvalItem(id=f"e-s{k}-t0", character="mara", episode="e", scene=f"s{k}", turn=0, text="Aye.",
                      audio=Path("x.wav")) for k in range(4)]

    class Writes:
        name = "writer"

        def respond(self, batch):
            return [Output(wave=np.zeros(8000, np.float32), sample_rate=16000, text="The same line.") for _ in batch]

    class Speaks:
        name = "speaker"

        def respond(self, batch):
            return [Output(wave=np.zeros(8000, np.float32), sample_rate=16000) for _ in batch]

    report = evaluate_systems(_Counts(), [Writes(), Speaks()], {"mara": items},
                              training_lines={"mara": ["The same line."]})
    writer, speaker = report["systems"]
    assert writer["per_character"]["mara"]["variety"]["copied"] == 1.0
    assert "variety" not in speaker["per_character"]["mara"]
    assert flat_metrics(report)["writer/mara/variety/distinct"] == pytest.approx(1 / 4)
    table = markdown(report).split("## Reply variety")[1]
    assert "| writer | mara | 0.25 | 1.00" in table and "speaker" not in table
