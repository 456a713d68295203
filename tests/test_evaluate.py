"""evaluate.py: the config composes and builds its systems; the orchestration writes the report files."""

import csv
import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf, open_dict

from audiorole.data.splits import load_splits
from audiorole.errors import ConfigError
from audiorole.eval.run import flat_metrics, run_evaluation
from audiorole.eval.systems import AcousticDecoder, GroundTruth, UntrainedDecoder
from audiorole.models.flow.decoder import FlowDecoder
from audiorole.utils.instantiate import instantiate_group
from audiorole.utils.task import check_required
from eval_fakes import DEMO_SERIES, PITCH, ToneEvaluator, make_prepared, one_torch_thread  # noqa: F401
from test_eval_systems import TINY


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("prepared"))


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory):
    torch.manual_seed(0)
    return str(FlowDecoder(**TINY).save(tmp_path_factory.mktemp("run") / "decoder"))


# ---- config --------------------------------------------------------------------------------------

def test_default_systems_compose_and_build(make_cfg, decoder_dir):
    cfg = make_cfg([f"decoder={decoder_dir}"], config_name="evaluate")
    assert list(cfg.systems) == ["ground_truth", "untrained", "decoder"]
    assert list(cfg.characters) == ["otis"] and cfg.return_metric is None and cfg.part == "test"
    assert cfg.eval._target_.endswith("ARPEvaluator")
    check_required(cfg)
    systems = instantiate_group(cfg.systems)
    assert [type(s) for s in systems] == [GroundTruth, UntrainedDecoder, AcousticDecoder]
    assert [s.name for s in systems] == ["ground_truth", "untrained", "decoder"]
    assert systems[1].config == FlowDecoder.load(decoder_dir).config  # the baseline copies the trained shape
    assert systems[2].source == decoder_dir and systems[2].seed == cfg.seed


def test_untrained_without_a_decoder_takes_the_stage_model(make_cfg):
    cfg = make_cfg(["systems=[untrained]"], config_name="evaluate")
    [system] = instantiate_group(cfg.systems)
    assert system.config["vocab_size"] == cfg.model.decoder.vocab_size == 1024


def test_glm4voice_decoder_system_speaks_with_the_public_folder(make_cfg):
    """The public decoder as a baseline; the authors'-code fixture folder stands in for THUDM/glm-4-voice-decoder."""
    from pathlib import Path

    import numpy as np

    from audiorole.eval.items import EvalItem

    cfg = make_cfg(["systems=[glm4voice_decoder]"], config_name="evaluate")
    check_required(cfg)  # nothing to give: paths.glm4voice is the hub unless a local copy is given
    assert cfg.systems.glm4voice_decoder.source == cfg.systems.glm4voice_decoder.vocoder == "THUDM/glm-4-voice-decoder"
    # The public folder holds flow.pt and hift.pt; the authors'-code fixtures keep them in two folders.
    fixtures = Path(__file__).parent / "fixtures"
    cfg = make_cfg(["systems=[glm4voice_decoder]", f"systems.glm4voice_decoder.source={fixtures / 'glm4voice_flow'}",
                    f"systems.glm4voice_decoder.vocoder={fixtures / 'glm4voice_hift'}",
                    "systems.glm4voice_decoder.n_steps=2"], config_name="evaluate")
    [system] = instantiate_group(cfg.systems)
    assert isinstance(system, AcousticDecoder) and system.name == "glm4voice_decoder"
    item = EvalItem(id="r0", character="mara", episode="ep1", scene="s", turn=0, text="hi", audio=None,
                    tokens=np.arange(13) % 32)
    [out] = system.respond([item])
    assert out.sample_rate == 22050 and len(out.wave) == int(13 / 12.5 * 22050 / 256) * 256


def test_other_character_is_named_and_its_keys_are_required(make_cfg, decoder_dir):
    cfg = make_cfg(["systems=[ground_truth,other_character]"], config_name="evaluate")
    with pytest.raises(ConfigError, match="systems.other_character.source, systems.other_character.voice"):
        check_required(cfg)
    cfg = make_cfg(["systems=[other_character]", "systems.other_character.voice=june",
                    f"systems.other_character.source={decoder_dir}"], config_name="evaluate")
    [system] = instantiate_group(cfg.systems)
    assert system.name == "decoder:june→otis" and system.voice == "june"


def test_several_characters_and_a_decoder_per_character_compose(make_cfg, decoder_dir):
    cfg = make_cfg(["characters=all", f"decoder={{mara: {decoder_dir}, otis: {decoder_dir}}}",
                    "systems=[decoder]"], config_name="evaluate")
    assert cfg.characters == "all"
    [system] = instantiate_group(cfg.systems)
    assert system.sources == {"mara": decoder_dir, "otis": decoder_dir}


# ---- orchestration -------------------------------------------------------------------------------

class PitchVoice:
    """Speaks every item at one pitch: a stand-in for a decoder with a known voice."""

    def __init__(self, name, pitch):
        self.name, self.pitch = name, pitch

    def respond(self, items):
        from audiorole.eval.items import Output
        from eval_fakes import tone

        return [Output(wave=tone(self.pitch, 1.0), sample_rate=16000) for _ in items]


def test_run_writes_json_table_csv_and_plots(prepared, tmp_path, decoder_dir):
    evaluator = ToneEvaluator()
    systems = [GroundTruth(), PitchVoice("otis_voice", PITCH["otis"]), AcousticDecoder(decoder_dir, n_steps=2)]
    report = run_evaluation(evaluator, systems, prepared, DEMO_SERIES, "all", tmp_path, save_audio=1,
                            compare=[["ground_truth", "otis_*"], ["ground_truth", "missing"]])

    saved = json.loads((tmp_path / "eval.json").read_text())
    assert [s["name"] for s in saved["systems"]] == ["ground_truth", "otis_voice", "decoder"]
    assert set(saved["characters"]) == {"june", "mara", "otis"}
    held = {c: saved["characters"][c]["held_out_items"] for c in PITCH}
    counts = load_splits(prepared).counts  # replies per part; every reply lasts 1.2 s
    for c in PITCH:
        assert held[c] == counts[c]["test"] and saved["split"]["part"] == "test"
        assert saved["characters"][c]["train_hours"] == pytest.approx(counts[c]["train"] * 1.2 / 3600)
    gt, otis_voice, decoder = saved["systems"]
    assert gt["per_character"]["mara"]["metrics"]["cq"] == 1.0 and gt["metrics"]["ap"] > 0.75
    # otis's voice scores on otis's lines only: its overall AP is the item-weighted mean
    ap = {c: otis_voice["per_character"][c]["metrics"]["ap"] for c in PITCH}
    assert ap["otis"] > 0.9 > ap["mara"]
    assert otis_voice["metrics"]["ap"] == pytest.approx(sum(ap[c] * held[c] for c in PITCH) / sum(held.values()))
    pooled = otis_voice["metrics"]  # over all items: n, coverage and the interval beside the mean
    assert pooled["ap_n"] == sum(held.values()) and pooled["ap_coverage"] == 1.0
    assert pooled["ap_ci_low"] < pooled["ap"] < pooled["ap_ci_high"]
    # the configured comparisons: ground truth vs the otis voice on the same items, paired
    compared = {(c["character"], c["metric"]): c for c in saved["comparisons"]}
    assert {c["a"] + "|" + c["b"] for c in saved["comparisons"]} == {"ground_truth|otis_voice"}
    on_mara = compared[("mara", "ap")]
    assert on_mara["n"] == held["mara"] and on_mara["ci_low"] > 0  # the right voice wins on mara's lines
    assert compared[("otis", "ap")]["diff"] == pytest.approx(gt["per_character"]["otis"]["metrics"]["ap"] - ap["otis"])
    test_scenes = sum(part == "test" for part in load_splits(prepared).scenes.values())
    assert gt["consistency"]["scenes"] == 3 * test_scenes and gt["consistency"]["ap_std"] is not None  # 3 characters
    assert len(gt["per_item"]) == sum(held.values()) and decoder["config"]["vocoder"]
    assert saved["backends"] == {k: "tone" for k in ("ap", "ap_margin", "aq", "cq", "cp")}
    assert saved["counts"]["items"] == 3 * sum(held.values())

    table = (tmp_path / "eval.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| System"))
    for column in ("AQ", "CQ", "AP", "AP margin", "CP", "AP std", "CP std", "Train h"):
        assert f"| {column}" in header
    assert "## Per character" in table and "decoder" in table and "Backends: ap=tone" in table
    assert "## Coverage" in table and "## Comparisons" in table and "| ground_truth | otis_voice | mara | ap |" in table
    all_row = next(line for line in table.splitlines() if line.startswith("| otis_voice |"))
    assert f"{pooled['ap']:.3f} [{pooled['ap_ci_low']:.3f}, {pooled['ap_ci_high']:.3f}]" in all_row

    rows = list(csv.DictReader(open(tmp_path / "eval.csv")))
    assert len(rows) == 3 * 4  # each system: all + three characters
    assert {r["character"] for r in rows} == {"all", "june", "mara", "otis"}
    mara_gt = next(r for r in rows if r["system"] == "ground_truth" and r["character"] == "mara")
    assert float(mara_gt["ap"]) == pytest.approx(gt["per_character"]["mara"]["metrics"]["ap"])
    all_otis = next(r for r in rows if r["system"] == "otis_voice" and r["character"] == "all")
    assert float(all_otis["ap_ci_low"]) == pytest.approx(pooled["ap_ci_low"]) and int(all_otis["ap_n"]) == pooled["ap_n"]

    for metric in ("aq", "cq", "ap", "ap_margin", "cp"):
        assert (tmp_path / "plots" / f"{metric}.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "samples").rglob("*.wav"))) == 3 * 3

    flat = flat_metrics(report)
    assert flat["otis_voice/otis/ap"] == pytest.approx(ap["otis"]) and "decoder/ap" in flat
    assert "ground_truth/consistency/ap_std" in flat
    assert flat["otis_voice/ap_ci_high"] == pytest.approx(pooled["ap_ci_high"])
    assert flat["compare/ground_truth_vs_otis_voice/ap_diff"] == pytest.approx(
        next(c["diff"] for c in saved["comparisons"] if c["character"] == "all" and c["metric"] == "ap"))


def test_one_character_table_has_one_row_per_system(prepared, tmp_path):
    evaluator = ToneEvaluator(metrics=("ap", "aq"))
    run_evaluation(evaluator, [GroundTruth(), PitchVoice("low", 100.0)], prepared, DEMO_SERIES, ["mara"], tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "eval.csv")))
    assert [(r["system"], r["character"]) for r in rows] == [("ground_truth", "mara"), ("low", "mara")]
    assert "cq" not in rows[0] and float(rows[0]["ap"]) > float(rows[1]["ap"])
    assert "CQ" not in (tmp_path / "eval.md").read_text().splitlines()[2]
    assert sorted(p.stem for p in (tmp_path / "plots").glob("*.png")) == ["ap", "aq"]


def test_bad_runs_are_explained(prepared, tmp_path):
    with pytest.raises(ConfigError, match="no systems"):
        run_evaluation(ToneEvaluator(), [], prepared, DEMO_SERIES, ["mara"], tmp_path)
    with pytest.raises(ConfigError, match="names repeat"):
        run_evaluation(ToneEvaluator(), [GroundTruth(), GroundTruth()], prepared, DEMO_SERIES, ["mara"], tmp_path)

    class Lazy(PitchVoice):
        def respond(self, items):
            return super().respond(items)[:-1]

    from audiorole.errors import AudioroleError

    n = load_splits(prepared).counts["mara"]["test"]
    with pytest.raises(AudioroleError, match=f"answered {n - 1} of {n}"):
        run_evaluation(ToneEvaluator(), [Lazy("lazy", 100.0)], prepared, DEMO_SERIES, ["mara"], tmp_path)


# ---- the entry point ---------------------------------------------------------------------------

def test_evaluate_entry_point_returns_the_optimised_metric(make_cfg, prepared, decoder_dir):
    import evaluate

    cfg = make_cfg([f"decoder={decoder_dir}", "logger=csv", "systems.decoder.n_steps=2", "systems.untrained.n_steps=2"],
                   config_name="evaluate")
    with open_dict(cfg):
        cfg.data.out_dir = str(prepared)
        cfg.data.series_dir = str(DEMO_SERIES)
        cfg.datamodule = OmegaConf.create({"_target_": "eval_fakes.PreparedData", "data": cfg.data,
                                           "character": "mara"})
        cfg.eval = OmegaConf.create({"_target_": "eval_fakes.ToneEvaluator"})
    metrics = evaluate.evaluate(cfg)
    out = cfg.paths.output_dir
    assert cfg.return_metric == "ground_truth/ap"  # unset: the first selected system's AP
    assert {"ground_truth/ap", "untrained/ap", "decoder/ap"} <= set(metrics)
    assert np.isfinite(metrics["decoder/ap"])
    saved = json.load(open(f"{out}/eval.json"))
    assert [s["name"] for s in saved["systems"]] == ["ground_truth", "untrained", "decoder"]
    logged = list(csv.DictReader(open(f"{out}/csv/version_0/metrics.csv")))
    assert float(logged[0]["test/decoder/ap"]) == pytest.approx(metrics["decoder/ap"])

    with open_dict(cfg):
        cfg.systems = {"ground_truth": cfg.systems.ground_truth}
        cfg.return_metric = "decoder/ap"
    with pytest.raises(SystemExit):  # return_metric=decoder/ap but no decoder: a one-line config error
        evaluate.evaluate(cfg)


def test_a_decoder_trained_on_another_split_is_refused(prepared, decoder_dir, tmp_path, caplog):
    import shutil

    from audiorole.data.trained_on import write_trained_on
    from audiorole.errors import AudioroleError

    splits = load_splits(prepared)
    own, other = tmp_path / "own", tmp_path / "other"
    for folder, split_fingerprint in ((own, splits.fingerprint), (other, "f" * 64)):
        shutil.copytree(decoder_dir, folder)
        write_trained_on(folder, {"split_fingerprint": split_fingerprint,
                                  "dataset_fingerprint": splits.dataset_fingerprint, "character": "mara"})
    with pytest.raises(AudioroleError, match=r"other/trained_on\.json: trained on split ffffffffffff .* may be among "
                                             r"the test items; evaluate it with the data=\.\.\. it was trained on"):
        run_evaluation(ToneEvaluator(), [AcousticDecoder(str(other), n_steps=2)], prepared, DEMO_SERIES, ["mara"],
                       tmp_path / "a")
    report = run_evaluation(ToneEvaluator(), [AcousticDecoder(str(own), n_steps=2)], prepared, DEMO_SERIES, ["mara"],
                            tmp_path / "b", max_items=1)
    assert report["split"]["split_fingerprint"] == splits.fingerprint
    with caplog.at_level("WARNING"):  # no record (an older export): scored, with a warning
        run_evaluation(ToneEvaluator(), [AcousticDecoder(decoder_dir, n_steps=2)], prepared, DEMO_SERIES, ["mara"],
                       tmp_path / "c", max_items=1)
    assert "no record of the prepared dataset it was trained on" in caplog.text
    # A record of other data than a prepared dataset (the shipped base decoder: its base corpus): scored, warned.
    corpus = tmp_path / "corpus"
    shutil.copytree(decoder_dir, corpus)
    write_trained_on(corpus, {"character": "base", "speech_tokens": "a" * 64})
    caplog.clear()
    with caplog.at_level("WARNING"):
        run_evaluation(ToneEvaluator(), [AcousticDecoder(str(corpus), n_steps=2)], prepared, DEMO_SERIES, ["mara"],
                       tmp_path / "d", max_items=1)
    assert "corpus: no record of the prepared dataset" in caplog.text


@pytest.mark.parametrize("part, prefix", [("test", "test"), ("dev", "val")])
def test_a_dev_part_run_logs_as_validation_not_as_test(tmp_path, part, prefix):
    """Scores of the dev part (choosing a setting) are logged val/..., so a selection run is never read as a
    reported test figure."""
    from lightning.pytorch.loggers import CSVLogger

    from callbacks.logger_media import log_eval_report

    logger = CSVLogger(tmp_path)
    report = {"split": {"part": part}, "systems": [], "characters": {"mara": {"train_hours": 0.1}}, "backends": {}}
    log_eval_report([logger], report, {"lm/cq": 0.5})
    logged = list(csv.DictReader(open(f"{logger.log_dir}/metrics.csv")))
    assert float(logged[0][f"{prefix}/lm/cq"]) == 0.5
    assert any(k.startswith("test/") for k in logged[0]) is (part == "test")
