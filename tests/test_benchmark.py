"""The exported benchmark and the ``folder`` system: layout, loaders, exactness against ground truth, bad folders."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from audiorole.benchmark.__main__ import main as benchmark_main
from audiorole.data.splits import load_splits
from audiorole.eval.eval_set import enrollment_clips, held_out_items
from audiorole.eval.items import Output
from audiorole.eval.run import evaluate_systems
from audiorole.eval.systems import GroundTruth, ReplyFolder
from eval_fakes import DEMO_SERIES, SR, ToneEvaluator, make_prepared, one_torch_thread, tone  # noqa: F401


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("prepared"), context=True)


@pytest.fixture(scope="module")
def bench(prepared, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "demo"
    assert benchmark_main(["export", "--prepared", str(prepared), "--series", str(DEMO_SERIES), "--out", str(out)]) == 0
    return out


def rows(bench):
    return [json.loads(line) for line in (bench / "items.jsonl").read_text().splitlines()]


def items_by_character(prepared):
    return {c: held_out_items(prepared, c, with_tokens=False) for c in ("june", "mara", "otis")}


def test_export_is_self_contained(bench, prepared):
    items = items_by_character(prepared)
    got = rows(bench)
    assert [r["id"] for r in got] == [i.id for c in items.values() for i in c]
    meta = json.loads((bench / "benchmark.json").read_text())
    assert meta["items"] == len(got) and meta["characters"] == {c: len(v) for c, v in items.items()}
    splits = load_splits(prepared)
    assert meta["split"]["part"] == "test" and meta["errors"] == []
    assert (meta["split"]["split_fingerprint"], meta["split"]["dataset_fingerprint"]) == \
        (splits.fingerprint, splits.dataset_fingerprint)  # what evaluate.py records of the items it scores
    by_id = {i.id: i for c in items.values() for i in c}
    for row in got:
        item = by_id[row["id"]]
        assert row["persona"].startswith(item.character.capitalize())  # the demo registry's personas
        assert row["reference_text"] == item.text == (bench / f"reference/{item.id}.txt").read_text()
        assert [t["text"] for t in row["context"]] == [t.text for t in item.context]
        assert len(item.context) == item.turn  # the scene's earlier turns
        for turn, src in zip(row["context"], item.context):
            wave, sr = sf.read(bench / turn["audio"], dtype="float32")
            assert sr == SR and wave.ndim == 1 and len(wave) == pytest.approx((src.end - src.start) * SR, abs=2)
            assert np.abs(wave).max() > 0.1  # the turn's tone, cut from the episode
    readme = (bench / "README.md").read_text()
    assert "<id>.wav" in readme and "systems.folder.path" in readme and "$" not in readme.replace("\\$", "")


def test_dev_part_is_its_own_benchmark(prepared, tmp_path):
    out = tmp_path / "dev"
    assert benchmark_main(["export", "--prepared", str(prepared), "--series", str(DEMO_SERIES), "--out", str(out),
                           "--part", "dev", "--characters", "mara"]) == 0
    ids = [r["id"] for r in rows(out)]
    assert ids == [i.id for i in held_out_items(prepared, "mara", part="dev", with_tokens=False)]
    assert not set(ids) & {i.id for i in held_out_items(prepared, "mara", with_tokens=False)}
    assert "part=dev" in (out / "README.md").read_text()


def test_parquet_has_the_jsonl_rows_and_datasets_loads_both(bench):
    import pyarrow.parquet as pq

    assert pq.read_table(bench / "items.parquet").to_pylist() == rows(bench)
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed (optional)")
    for kind, name in (("json", "items.jsonl"), ("parquet", "items.parquet")):
        loaded = datasets.load_dataset(kind, data_files=str(bench / name), split="train")
        assert loaded.num_rows == len(rows(bench)) and loaded[0]["id"] == rows(bench)[0]["id"]


def test_rerun_keeps_written_audio(bench, prepared):
    clip = next((bench / "context").rglob("*.wav"))
    before = clip.stat().st_mtime_ns
    assert benchmark_main(["export", "--prepared", str(prepared), "--series", str(DEMO_SERIES),
                           "--out", str(bench)]) == 0
    assert clip.stat().st_mtime_ns == before


def test_reference_folder_scores_exactly_like_ground_truth(bench, prepared, tmp_path):
    items = items_by_character(prepared)
    flat = [i for c in items.values() for i in c]
    truth, folder = GroundTruth().respond(flat), ReplyFolder(bench / "reference", name="folder").respond(flat)
    for a, b in zip(truth, folder):
        assert a.sample_rate == b.sample_rate and a.text == b.text and np.array_equal(a.wave, b.wave)
    evaluator = ToneEvaluator()
    evaluator.prepare({}, {})
    report = evaluate_systems(evaluator, [GroundTruth(), ReplyFolder(bench / "reference", name="folder")], items)
    gt, fo = report["systems"]
    assert gt["metrics"] == fo["metrics"] and gt["per_character"] == fo["per_character"]
    assert [dict(r, system=None) for r in gt["per_item"]] == [dict(r, system=None) for r in fo["per_item"]]
    assert fo["config"]["errors"] == [] and fo["config"]["unknown_files"] == []


@pytest.mark.slow
def test_reference_folder_matches_ground_truth_with_the_offline_evaluator(bench, prepared, tmp_path):
    import hydra

    from audiorole.eval.run import load_references, prepare_evaluator
    from conftest import compose_config

    cfg = compose_config("evaluate", ["eval=offline", "eval.quality_also.dnsmos.hop_seconds=9.01"], tmp_path)
    evaluator = hydra.utils.instantiate(cfg.eval)
    prepare_evaluator(evaluator, load_references(prepared, DEMO_SERIES))
    items = {"mara": held_out_items(prepared, "mara", with_tokens=False)}
    report = evaluate_systems(evaluator, [GroundTruth(), ReplyFolder(bench / "reference", name="folder")], items)
    gt, fo = report["systems"]
    assert gt["metrics"] == fo["metrics"] and all(np.isfinite(v) for v in gt["metrics"].values())
    assert [dict(r, system=None) for r in gt["per_item"]] == [dict(r, system=None) for r in fo["per_item"]]


def test_folder_system_composes_from_config(make_cfg, bench):
    from audiorole.errors import ConfigError
    from audiorole.utils.instantiate import instantiate_group
    from audiorole.utils.task import check_required

    cfg = make_cfg(["systems=[ground_truth,folder]"], config_name="evaluate")
    with pytest.raises(ConfigError, match="systems.folder.path"):
        check_required(cfg)
    cfg = make_cfg(["systems=[ground_truth,folder]", f"systems.folder.path={bench / 'reference'}",
                    "systems.folder.name=gpt4o"], config_name="evaluate")
    _, folder = instantiate_group(cfg.systems)
    assert isinstance(folder, ReplyFolder) and folder.name == "gpt4o" and folder.path == bench / "reference"
    cfg = make_cfg(["systems=[folder]", f"systems.folder.path={bench / 'reference'}"], config_name="evaluate")
    assert instantiate_group(cfg.systems)[0].name == "reference"  # unnamed: the folder's name


def test_bad_folder_errors_name_the_file_and_nothing_else_stops(bench, prepared, tmp_path, caplog):
    flat = [i for c in items_by_character(prepared).values() for i in c]
    answers = tmp_path / "answers"
    shutil.copytree(bench / "reference", answers)
    a, b, c, d, e, f = (i.id for i in flat[:6])
    stereo = np.stack([tone(180.0, 1.0, 48000), tone(180.0, 1.0, 48000)], axis=1)
    sf.write(answers / f"{a}.wav", stereo, 48000)                    # stereo 48 kHz: averaged, scored
    (answers / f"{b}.wav").write_bytes(b"")                          # empty
    (answers / f"{c}.wav").unlink()                                  # text with no audio
    (answers / f"{d}.wav").unlink()
    (answers / f"{d}.txt").unlink()                                  # nothing at all
    (answers / f"{e}.wav").write_bytes(b"RIFF....not audio")         # unreadable
    (answers / f"{f}.txt").write_text("  \n")                        # blank text: transcribed instead
    (answers / "ep9-s99-t00.wav").write_bytes((answers / f"{a}.wav").read_bytes())  # an id not in the benchmark
    (answers / "notes.md").write_text("how we ran it")

    folder = ReplyFolder(answers, name="gpt4o")
    outputs = folder.respond(flat)
    errors = {i.id: o.error for i, o in zip(flat, outputs) if o.error}
    assert set(errors) == {b, c, d, e}
    assert errors[b] == f"{answers / b}.wav: empty file (0 bytes); write the reply's audio"
    assert errors[c].startswith(f"{answers / c}.txt: text with no audio beside it")
    assert errors[d].startswith(f"{answers / d}.wav: no reply for item {d}")
    assert errors[e].startswith(f"{answers / e}.wav: cannot read audio")
    assert all("\n" not in m for m in errors.values())
    stereo_out = outputs[0]
    assert stereo_out.sample_rate == 48000 and stereo_out.wave.ndim == 1 and stereo_out.error is None
    assert outputs[5].text is None and outputs[6].text == flat[6].text
    info = folder.describe()
    assert info["unknown_files"] == ["ep9-s99-t00.wav", "notes.md"] and info["answered"] == len(flat) - 4
    assert any("2 channels, averaged to mono" in n and a in n for n in info["notes"])
    assert info["sample_rates"] == {"16000": len(flat) - 5, "48000": 1}
    assert "answer no item" in caplog.text


class _Embedder:
    name, sample_rate = "mean", 16000

    def embed_many(self, waves):
        return np.array([[float(np.mean(np.abs(w))), 1.0] for w in waves])


class _Quality:
    name, scale = "rms", (0.0, 1.0)

    def score_many(self, waves, sample_rate):
        return [float(np.sqrt(np.mean(np.square(w)))) for w in waves]


class _Text:
    name, scale = "same", (0.0, 1.0)

    def prepare(self, lines, personas=None):
        pass

    def score(self, items, texts):
        return [float(t == i.text) for i, t in zip(items, texts)]


def test_evaluator_scores_failed_outputs_at_the_scale_minimum_with_their_error(prepared):
    from audiorole.eval.evaluator import ARPEvaluator

    ev = ARPEvaluator(speaker_embedder=_Embedder(), quality=_Quality(), content_quality=_Text(),
                      content_persona=_Text())
    ev.prepare(enrollment_clips(DEMO_SERIES), {"mara": ["x"]})
    items = held_out_items(prepared, "mara", with_tokens=False)[:3]
    answered = GroundTruth().respond(items)
    outputs = [answered[0], Output.failed("x/1.wav: empty file"), answered[2]]
    result = ev.score(items, outputs)
    alone = ev.score([items[0], items[2]], [answered[0], answered[2]])
    failed = result.per_item[1]
    assert failed["error"] == "x/1.wav: empty file"
    # a reply that is missing or does not decode is an answer that failed: the bottom of each scale, counted
    assert [failed[k] for k in ("ap", "ap_margin", "aq", "cq", "cp")] == [-1.0, -2.0, 0.0, 0.0, 0.0]
    assert set(failed["unscoreable"].values()) == {"x/1.wav: empty file"}
    assert [result.per_item[0], result.per_item[2]] == alone.per_item
    assert result.metrics["aq_n"] == 3 and result.metrics["aq_unscoreable"] == 1
    assert result.metrics["ap"] == pytest.approx((2 * alone.metrics["ap"] - 1.0) / 3)
    nothing = ev.score(items[:1], [Output.failed("x/0.wav: no reply")])
    assert nothing.metrics["aq"] == 0.0 and nothing.metrics["cq_unscoreable"] == 1
