"""ARP-Eval torchmetrics: batch-size independence, NaN handling, DDP reduction across 2 CPU processes."""

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
    assert set(one) == {"val/ap", "val/ap_margin", "val/aq", "val/cq", "val/cp"}
    for key, value in expected().items():
        assert one[f"val/{key}"] == pytest.approx(value, rel=1e-12)
        assert three[f"val/{key}"] == pytest.approx(value, rel=1e-12)


def test_nan_scores_are_skipped_and_counted_and_empty_is_nan():
    metric = arp_metrics(["aq"])["aq"]
    metric.update(aq=SCORES["aq"])
    assert int(metric.aq_skipped) == 2 and int(metric.aq_count) == N - 2
    empty = CPMetric()
    empty.update(cp=[float("nan")])
    assert math.isnan(float(empty.compute()))


def test_collection_does_not_merge_metrics_with_equal_states():
    # cq and cp see identical first updates; compute groups would then feed cp with cq's update.
    metrics = arp_metrics(["cq", "cp"])
    metrics.update(cq=[0.5], cp=[0.5])
    metrics.update(cq=[1.0], cp=[0.0])
    out = metrics.compute()
    assert float(out["cq"]) == pytest.approx(0.75) and float(out["cp"]) == pytest.approx(0.25)


def test_reset_starts_over():
    metric = APMetric()
    metric.update(ap=[0.9], ap_margin=[0.1])
    metric.reset()
    metric.update(ap=[0.5], ap_margin=[0.0])
    assert float(metric.compute()["ap"]) == pytest.approx(0.5)


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
