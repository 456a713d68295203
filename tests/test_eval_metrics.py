"""ARP-Eval torchmetrics: batch-size independence, n / coverage / intervals, NaN handling, DDP reduction across 2 CPU processes."""

import math
import os

import numpy as np
import pytest
import torch

from audiorole.eval.metrics import APMetric, CPMetric, arp_metrics

RNG = np.random.default_rng(0)
N = 23
SCORES = {"ap": RNG.uniform(0.4, 0.95, N), "ap_margin": RNG.uniform(-0.2, 0.3, N),
          "aq": RNG.uniform(1, 5, N), "cq": RNG.uniform(0, 1, N), "cp": RNG.uniform(-0.1, 0.2, N)}
SCORES["aq"][[3, 17]] = np.nan  # two clips the backend could not score
STATS = ("n", "coverage", "ci_low", "ci_high", "unscoreable")


def expected():
    return {k: float(np.nanmean(v)) for k, v in SCORES.items()}


def run(batches):
    metrics = arp_metrics(prefix="val/")
    for idx in batches:
        metrics.update(**{k: v[idx] for k, v in SCORES.items()})
    return {k: float(v) for k, v in metrics.compute().items()}


def test_one_batch_equals_three_batches_equals_nanmean():
    one = run([np.arange(N)])
    three = run([np.arange(0, 5), np.arange(5, 16), np.arange(16, N)])
    assert set(one) == {f"val/{k}{s}" for k in SCORES for s in ("", *(f"_{x}" for x in STATS))}
    assert one == pytest.approx(three, rel=1e-12)  # intervals too: the values are sorted before resampling
    for key, value in expected().items():
        assert one[f"val/{key}"] == pytest.approx(value, rel=1e-12)
        assert one[f"val/{key}_ci_low"] < value < one[f"val/{key}_ci_high"]
    assert one["val/aq_n"] == N - 2 and one["val/aq_coverage"] == pytest.approx((N - 2) / N)
    assert one["val/ap_n"] == N and one["val/ap_coverage"] == 1.0


def test_interval_is_the_percentile_bootstrap_and_shrinks_with_n():
    from audiorole.eval.uncertainty import mean_summary

    rng = np.random.default_rng(1)
    small, large = rng.normal(0.5, 0.2, 20), rng.normal(0.5, 0.2, 800)
    s, big = mean_summary(small), mean_summary(large)
    # by hand: 2000 resamples of the mean, 2.5th / 97.5th percentiles; close to the normal interval
    means = rng.choice(small, (2000, small.size)).mean(axis=1)
    assert s["ci_low"] == pytest.approx(np.percentile(means, 2.5), abs=0.02)
    assert s["ci_high"] == pytest.approx(np.percentile(means, 97.5), abs=0.02)
    half = 1.96 * small.std(ddof=1) / np.sqrt(small.size)
    assert s["ci_high"] - s["ci_low"] == pytest.approx(2 * half, rel=0.2)
    assert big["ci_high"] - big["ci_low"] == pytest.approx(2 * 1.96 * large.std(ddof=1) / np.sqrt(800), rel=0.1)
    assert mean_summary([0.3, np.nan]) == {"mean": 0.3, "n": 1, "coverage": 0.5, "ci_low": pytest.approx(math.nan,
                                           nan_ok=True), "ci_high": pytest.approx(math.nan, nan_ok=True)}


def test_paired_difference_sees_a_small_consistent_gain_that_unpaired_intervals_miss():
    from audiorole.eval.uncertainty import mean_summary, paired_difference

    rng = np.random.default_rng(2)
    difficulty = rng.uniform(0.2, 0.9, 30)  # items vary a lot; system a is better on each by ~0.03
    a, b = difficulty + 0.03 + rng.normal(0, 0.01, 30), difficulty
    d = paired_difference(a, b)
    assert d["n"] == 30 and d["diff"] == pytest.approx(np.mean(a - b)) and d["ci_low"] > 0
    assert mean_summary(a)["ci_low"] < mean_summary(b)["ci_high"]  # separately the intervals overlap
    assert paired_difference(b, a)["ci_high"] < 0
    b_missing = b.copy()
    b_missing[:5] = np.nan
    assert paired_difference(a, b_missing)["n"] == 25  # only items scored in both
    with pytest.raises(ValueError, match="pair the same items"):
        paired_difference(a, b[:10])


def test_unscoreable_flags_are_counted_in_the_mean():
    metric = arp_metrics(["cp"])
    metric.update(cp=[0.1, 0.2, -2.0], cp_unscoreable=[False, False, True])
    out = {k: float(v) for k, v in metric.compute().items()}
    assert out["cp"] == pytest.approx(-1.7 / 3) and out["cp_unscoreable"] == 1 and out["cp_n"] == 3


def test_nan_scores_are_skipped_and_counted_and_empty_is_nan():
    metric = arp_metrics(["aq"])["aq"]
    metric.update(aq=SCORES["aq"])
    out = metric.compute()
    assert int(out["aq_n"]) == N - 2 and float(out["aq_coverage"]) == pytest.approx((N - 2) / N)
    empty = CPMetric()
    empty.update(cp=[float("nan")])
    got = empty.compute()
    assert math.isnan(float(got["cp"])) and float(got["cp_coverage"]) == 0.0
    assert math.isnan(float(CPMetric().compute()["cp"]))  # nothing asked


def test_collection_does_not_merge_metrics_with_equal_states():
    # cq and cp see identical first updates; compute groups would then feed cp with cq's update.
    metrics = arp_metrics(["cq", "cp"])
    metrics.update(cq=[0.5], cp=[0.5])
    metrics.update(cq=[1.0], cp=[0.0])
    out = metrics.compute()
    assert float(out["cq"]) == pytest.approx(0.75) and float(out["cp"]) == pytest.approx(0.25)


def test_quality_backends_share_one_aq_metric():
    metrics = arp_metrics(["aq"], extra_quality=("dnsmos",))
    metrics.update(aq=[3.0, 4.0], aq_dnsmos=[2.0, 2.5])
    out = metrics.compute()
    assert float(out["aq"]) == 3.5 and float(out["aq_dnsmos"]) == 2.25


def test_reset_starts_over():
    metric = APMetric()
    metric.update(ap=[0.9], ap_margin=[0.1], ap_unscoreable=[True])
    metric.reset()
    metric.update(ap=[0.5], ap_margin=[0.0])
    out = metric.compute()
    assert float(out["ap"]) == pytest.approx(0.5) and float(out["ap_unscoreable"]) == 0 and float(out["ap_n"]) == 1


def _ddp_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        metrics = arp_metrics()
        idx = np.arange(N)[rank::world]  # each rank scores every other item
        for chunk in np.array_split(idx, 2):
            metrics.update(**{k: v[chunk] for k, v in SCORES.items()})
        result = {k: float(v) for k, v in metrics.compute().items()}
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_two_processes_reduce_to_the_single_process_result(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # fork: the workers inherit the imported modules (spawn re-imports torchmetrics, ~10 s per process here)
    torch.multiprocessing.start_processes(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True,
                                          start_method="fork")
    single = run([np.arange(N)])
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        for key, value in single.items():
            assert got[key.removeprefix("val/")] == pytest.approx(value, rel=1e-12), (rank, key)
        assert got["ap_ci_low"] < got["ap"] < got["ap_ci_high"]
