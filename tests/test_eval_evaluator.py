"""ARPEvaluator with the offline backends on demo-series cuts: API, determinism, batch independence, bad outputs
scored at the scale's minimum, intelligibility."""

import math

import numpy as np
import pytest

from eval_demo import cast_lines, demo_personas, enrollment, output_for, script_lines

KEYS = ("ap", "ap_margin", "aq", "aq_dnsmos", "cq", "cp")


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    import hydra

    from conftest import compose_config

    # Non-overlapping DNSMOS windows: ~8x faster than the reference 1 s hop, same behaviour under test.
    cfg = compose_config("evaluate", ["eval=offline", "eval.metrics=[ap,aq,cq,cp]", "eval.quality_also.dnsmos.hop_seconds=9.01"],
                         tmp_path_factory.mktemp("cfg"))
    ev = hydra.utils.instantiate(cfg.eval)
    training = {}
    for line in script_lines():  # ep02 is the CP reference; ep01 lines are scored
        if line["episode"] == "ep02" and line["speaker"] in ("mara", "otis", "june"):
            training.setdefault(line["speaker"], []).append(line["text"])
    ev.prepare(enrollment(), training, demo_personas())
    return ev


@pytest.fixture(scope="module")
def data():
    picked, seen = [], {}
    for item, line in cast_lines(episodes=("ep01",)):
        if seen.get(item.character, 0) < 2:
            seen[item.character] = seen.get(item.character, 0) + 1
            picked.append((item, output_for(line)))
    return [i for i, _ in picked], [o for _, o in picked]


@pytest.fixture(scope="module")
def whole(evaluator, data):
    return evaluator.score(*data)


def test_result_shape_and_backends(whole, data):
    items, outputs = data
    result = whole
    stats = ("n", "coverage", "ci_low", "ci_high", "unscoreable")
    assert set(result.metrics) == {f"{k}{s}" for k in KEYS for s in ("", *(f"_{x}" for x in stats))}
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert result.metrics["ap_n"] == len(items) and result.metrics["ap_unscoreable"] == 0
    assert result.backends == {"ap": "resemblyzer", "ap_margin": "resemblyzer", "aq": "distillmos",
                               "aq_dnsmos": "dnsmos", "cq": "minilm",
                               "cp": "minilm-centroid", "asr": "faster-whisper:tiny.en(offline)"}
    assert [r["id"] for r in result.per_item] == [i.id for i in items]
    row = result.per_item[0]
    assert set(row) == {"id", "character", "text", *KEYS} and row["text"] == items[0].text
    assert isinstance(result.metrics["ap_n"], int)
    assert row["cq"] == pytest.approx(1.0, abs=1e-5)  # the reference reply itself
    assert 1.0 <= row["aq"] <= 5.0 and 1.0 <= row["aq_dnsmos"] <= 5.0 and -1.0 <= row["ap"] <= 1.0
    assert result.counts["transcribed"] == 0 and result.counts["unscored_ap"] == 0
    # the real speaker scores higher than with anyone else's voice: ground truth has positive margins
    assert np.mean([r["ap_margin"] for r in result.per_item]) > 0
    assert result.metrics["ap"] == pytest.approx(np.mean([r["ap"] for r in result.per_item]), abs=1e-9)


@pytest.mark.slow  # tens of seconds on 2 cores; the fast suite keeps its 5-minute budget
def test_same_inputs_same_numbers(evaluator, data, whole):
    again = evaluator.score(*data)
    assert again.metrics == whole.metrics and again.per_item == whole.per_item


@pytest.mark.slow  # tens of seconds on 2 cores; the fast suite keeps its 5-minute budget
def test_one_batch_equals_three_batches(evaluator, data, whole):
    items, outputs = data
    metrics = evaluator.metrics(prefix="val/")
    rows = []
    for part in (slice(0, 1), slice(1, 4), slice(4, None)):
        result = evaluator.score(items[part], outputs[part])
        metrics.update(**result.scores())
        rows.extend(result.per_item)
    for a, b in zip(whole.per_item, rows):
        for key in KEYS:
            assert a[key] == pytest.approx(b[key], abs=1e-5), key
    batched = {k.removeprefix("val/"): float(v) for k, v in metrics.compute().items()}
    for key in (*KEYS, *(f"{k}_ci_low" for k in KEYS)):
        assert batched[key] == pytest.approx(whole.metrics[key], abs=1e-5), key


def test_unscoreable_outputs_score_the_scale_minimum_and_are_counted(evaluator, data, whole):
    from audiorole.eval.items import Output

    items, outputs = data
    broken = list(outputs)
    broken[1] = Output(wave=np.zeros(1600, np.float32), sample_rate=16000, text="")  # 0.1 s of silence, no words
    broken[2] = Output(wave=np.zeros(0, np.float32), sample_rate=16000, text=None)  # nothing at all
    broken[3] = Output(wave=np.zeros(32000, np.float32), sample_rate=16000, text=None)  # 2 s of digital silence
    result = evaluator.score(items, broken)
    good = whole
    for k in (1, 2, 3):
        row = result.per_item[k]
        # silence never beats an attempt: the bottom of each scale (cosine, margin, MOS, cosine, margin)
        assert [row[k] for k in KEYS] == [-1.0, -2.0, 1.0, 1.0, -1.0, -2.0]
        assert set(row["unscoreable"]) == set(KEYS)
    assert result.per_item[1]["unscoreable"]["ap"] == "shorter than 0.5 s"
    assert result.per_item[2]["unscoreable"]["ap"] == "no audio" and result.per_item[3]["unscoreable"]["aq"] == "silent"
    assert result.counts["transcribed"] == 0 and result.counts["empty_text"] == 3  # silence is not sent to the ASR
    for key in KEYS:
        assert result.metrics[f"{key}_unscoreable"] == 3 and result.metrics[f"{key}_n"] == len(items)
    assert result.per_item[0]["ap"] == pytest.approx(good.per_item[0]["ap"], abs=1e-5)
    expected = [r["ap"] for r in result.per_item]
    assert result.metrics["ap"] == pytest.approx(np.mean(expected), abs=1e-6)  # the floors count in the mean
    assert result.metrics["ap"] < good.metrics["ap"] - 3 * 1.5 / len(items)


def test_outputs_without_text_are_transcribed(evaluator, data):
    from audiorole.asr.wer import wer

    items, outputs = data
    speech_only = [output_for_wave(o) for o in outputs[:2]]
    result = evaluator.score(items[:2], speech_only)
    assert result.counts["transcribed"] == 2
    for item, row in zip(items[:2], result.per_item):
        assert wer(item.text, row["text"]) < 0.5, (item.text, row["text"])


def output_for_wave(output):
    from audiorole.eval.items import Output

    return Output(wave=output.wave, sample_rate=output.sample_rate, text=None)


def test_bad_calls_fail_with_one_line_errors(evaluator, data, tmp_path):
    import hydra

    from audiorole.errors import AudioroleError, ConfigError
    from audiorole.eval.evaluator import ARPEvaluator
    from audiorole.eval.items import EvalItem
    from conftest import compose_config

    items, outputs = data
    with pytest.raises(AudioroleError, match="2 items but 1 outputs"):
        evaluator.score(items[:2], outputs[:1])
    stranger = EvalItem(id="x", character="dockhand", episode="ep01", scene="0", turn=0, text="hi", audio=tmp_path)
    with pytest.raises(AudioroleError, match="no reference for character 'dockhand'"):
        evaluator.score([stranger], outputs[:1])
    with pytest.raises(ConfigError, match="unknown"):
        ARPEvaluator(metrics=["ap", "mos"])
    with pytest.raises(ConfigError, match="eval.transcriber is null"):
        ARPEvaluator(metrics=["wer"])
    with pytest.raises(ConfigError, match="eval.quality is null"):
        ARPEvaluator(metrics=["aq"])
    cfg = compose_config("evaluate", ["eval=offline", "eval.metrics=[ap,aq]"], tmp_path)
    fresh = hydra.utils.instantiate(cfg.eval)
    with pytest.raises(AudioroleError, match="call evaluator.prepare"):
        fresh.score(items[:1], outputs[:1])
    assert set(fresh.metrics().keys()) == {"ap", "aq"}


@pytest.mark.slow  # Whisper and espeak-ng on real speech (~6 s); runs with the slow tests in CI
def test_intelligibility_hears_the_words_and_not_the_voice(data, tmp_path):
    """WER / CER of the speech against the text: real lines score low, another line's audio and noise high."""
    import hydra

    from audiorole.eval.items import Output
    from conftest import compose_config

    items, outputs = data
    ev = hydra.utils.instantiate(compose_config("evaluate", ["eval=offline", "eval.metrics=[wer]"], tmp_path).eval)
    right = ev.score(items, outputs)
    speech_only = [output_for_wave(o) for o in outputs]  # no text: the reference reply is what it should say
    shifted = ev.score(items, speech_only[1:] + speech_only[:1])  # each line's audio against the next line's text
    noise = [Output(np.random.default_rng(k).normal(0, 0.1, 32000).astype(np.float32), 16000) for k in range(2)]
    hiss = ev.score(items[:2], noise)
    assert set(right.backends) == {"wer", "cer"} and right.backends["wer"].startswith("faster-whisper")
    assert right.counts["transcribed"] == len(items)  # texts given, the speech is still transcribed for WER
    assert right.metrics["wer"] < 0.35 and right.metrics["cer"] < 0.25
    assert shifted.metrics["wer"] > 0.8 and shifted.metrics["wer"] > right.metrics["wer"] + 0.5
    assert min(r["wer"] for r in hiss.per_item) >= 0.9
    print(f"\nWER/CER on {len(items)} demo lines: {right.metrics['wer']:.3f}/{right.metrics['cer']:.3f}; "
          f"mismatched lines {shifted.metrics['wer']:.3f}; noise {hiss.metrics['wer']:.3f}")
