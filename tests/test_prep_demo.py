"""The whole offline pipeline on the shipped demo, scored against the demo's ground truth.

Targets: DER <= 10 %, attribution precision on kept replies >= 95 %, WER of
kept replies <= 15 %, every character keeps >= 4 min and has >= 8 test replies;
a rerun recomputes nothing and writes the same manifests.
"""

import json
from pathlib import Path

import pytest

from audiorole.demo import DEMO_SERIES_DIR
from audiorole.prep.run import prepare_dataset
from audiorole.prep.truth_eval import evaluate_against_truth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(demo_prepared):
    _, cfg, first = demo_prepared
    return cfg, first


def test_demo_meets_the_quality_targets(prepared):
    cfg, result = prepared
    assert result.failures == []
    report = evaluate_against_truth(cfg.data.out_dir, DEMO_SERIES_DIR / "truth", collar=0.25)
    print(json.dumps(report, indent=1))
    every = report["by_regime"]["all"]
    assert max(e["der"] for e in report["episodes"].values()) <= 0.10
    assert every["precision_kept"] >= 0.95
    assert every["wer_kept_text"] <= 0.15  # the text the dataset carries (the subtitle where the check kept a reply)
    assert every["wer_kept_text"] <= every["wer_kept"]  # the demo's subtitles are its script
    stats = result.stats
    assert set(stats["per_character"]) == {"mara", "otis", "june"}
    assert all(c["seconds"] >= 240 for c in stats["per_character"].values()), stats["per_character"]


def test_rerun_is_a_no_op_with_identical_manifests(prepared):
    cfg, first = prepared
    before = {p.name: p.read_bytes() for p in Path(cfg.data.out_dir).glob("*.jsonl*")}
    second = prepare_dataset(cfg.data)
    assert second.timings == {}  # no step ran
    after = {p.name: p.read_bytes() for p in Path(cfg.data.out_dir).glob("*.jsonl*")}
    assert {k for k in before if k.endswith(".jsonl")} <= set(after)
    for name in ("kept.jsonl", "dropped.jsonl"):
        assert after[name] == before[name]


def test_manifests_carry_reply_metadata(prepared):
    from lhotse import load_manifest

    cfg, _ = prepared
    cuts = load_manifest(f"{cfg.data.out_dir}/cuts.jsonl.gz")
    sup = next(iter(cuts)).supervisions[0]
    assert sup.speaker in {"mara", "otis", "june"} and sup.text
    assert {"episode", "scene", "turn", "context", "dnsmos"} <= set(sup.custom)
    assert sup.alignment and sup.alignment["word"]
    for turn in sup.custom["context"]:
        assert {"speaker", "text", "audio"} <= set(turn)


def test_split_is_written_once_and_the_tokenizer_fits_on_its_train_part(prepared):
    from omegaconf import OmegaConf

    from audiorole.data.splits import load_splits
    from conftest import CONF_DIR

    cfg, _ = prepared
    out = Path(cfg.data.out_dir)
    fit = OmegaConf.merge(OmegaConf.load(CONF_DIR / "tokenizer" / "offline_fit.yaml"),
                          {"directory": str(out / "tokenizer" / "offline_fit")})
    prepare_dataset(cfg.data, tokenizer=fit, token_contexts=False)  # tokenizer=offline_fit: fits here (replies only: quicker)
    splits = load_splits(out, cfg.data.splits)
    assert set(splits.counts) == {"mara", "otis", "june"} and all(r["train"] and r["dev"] for r in splits.counts.values())
    assert all(r["test"] >= 8 for r in splits.counts.values()), splits.counts
    fit_on = json.loads((out / "tokenizer" / "offline_fit" / "fit_on.json").read_text())["fit_on"]
    assert splits.fingerprint[:16] in fit_on and splits.dataset_fingerprint[:16] in fit_on
    stamp = (out / "splits.json").stat().st_mtime_ns
    prepare_dataset(cfg.data)
    assert (out / "splits.json").stat().st_mtime_ns == stamp


def test_threshold_tradeoff_reproduces_the_demo_filter(prepared):
    from audiorole.prep.threshold_tradeoff import thresholds_of, tradeoff

    cfg, result = prepared
    table = tradeoff(cfg.data.out_dir, DEMO_SERIES_DIR / "truth", thresholds_of(cfg.data.prep.postprocess.filter))
    for name, rows in table.items():
        configured = next(r for r in rows if r["configured"])
        assert (configured["kept"], configured["not_scored"]) == (result.stats["replies_kept"], 0), name
        kept = [r["kept"] for r in rows]
        assert kept == sorted(kept), name  # rows run from strict to loose
