"""The pipeline's mechanics: per-step caching, reruns, config changes, failures, shards, SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import prep_fakes
from audiorole.errors import SeriesError
from audiorole.prep.pipeline import prepare, shard_of
from conftest import ROOT


def run(series, out, **steps_cfg):
    steps = {"measure": {"kind": "measure"}, "double": {"kind": "double"}}
    for name, cfg in steps_cfg.items():
        steps[name] = cfg
    return prepare(series, out, steps=steps, order=["measure", "double"], build=prep_fakes.build)


@pytest.fixture
def series(tmp_path):
    prep_fakes.CALLS.clear()
    return prep_fakes.make_series(tmp_path / "show")


def test_rerun_recomputes_nothing(series, tmp_path):
    first = run(series, tmp_path / "out")
    assert len(prep_fakes.CALLS) == 6 and first.ok
    prep_fakes.CALLS.clear()
    second = run(series, tmp_path / "out")
    assert prep_fakes.CALLS == []
    assert second.results == first.results


def test_changed_config_reruns_only_affected_steps(series, tmp_path):
    run(series, tmp_path / "out")
    prep_fakes.CALLS.clear()
    run(series, tmp_path / "out", double={"kind": "double", "scale": 3.0})
    assert sorted(prep_fakes.CALLS) == [("double", "ep0"), ("double", "ep1"), ("double", "ep2")]
    prep_fakes.CALLS.clear()
    run(series, tmp_path / "out", measure={"kind": "measure", "scale": 2.0})
    assert len(prep_fakes.CALLS) == 6  # upstream change invalidates downstream


def test_changed_input_file_reruns_that_episode(series, tmp_path):
    run(series, tmp_path / "out")
    prep_fakes.CALLS.clear()
    ep = series / "episodes" / "ep1.wav"
    os.utime(ep, ns=(time.time_ns(), time.time_ns() + 10**9))
    run(series, tmp_path / "out")
    assert sorted(prep_fakes.CALLS) == [("double", "ep1"), ("measure", "ep1")]


def test_bad_episode_is_recorded_and_the_rest_goes_on(series, tmp_path):
    (series / "episodes" / "broken.mp3").write_bytes(b"not audio at all")
    (series / "episodes" / "empty.wav").write_bytes(b"")
    result = run(series, tmp_path / "out")
    assert set(result.results) == {"ep0", "ep1", "ep2"}
    errors = {os.path.basename(f["file"]): f for f in result.failures}
    assert set(errors) == {"broken.mp3", "empty.wav"}
    assert errors["broken.mp3"]["step"] == "measure" and "cannot decode" in errors["broken.mp3"]["error"]
    assert "empty file" in errors["empty.wav"]["error"]
    assert all("\n" not in f["error"] for f in result.failures)


def test_shards_partition_the_episodes():
    items = list(range(10))
    parts = [shard_of(items, i, 3) for i in range(3)]
    assert sorted(sum(parts, [])) == items
    with pytest.raises(SeriesError, match="bad shard"):
        shard_of(items, 3, 3)


KILL_SCRIPT = """
import sys, prep_fakes
from audiorole.prep.pipeline import prepare
series, out = sys.argv[1:3]
steps = {"measure": {"kind": "measure", "sleep": 0.4}, "double": {"kind": "double", "sleep": 0.4}}
r = prepare(series, out, steps=steps, order=["measure", "double"], build=prep_fakes.build)
import json; print(json.dumps(r.results, sort_keys=True))
"""


def _run_script(series, out, log, **kw):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'tests'}:{os.environ.get('PYTHONPATH', '')}", "PREP_FAKES_LOG": str(log)}
    return subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(series), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, **kw)


@pytest.mark.slow  # a killed prepare subprocess and its rerun (~7 s); runs with the slow tests in CI
def test_sigkill_then_rerun_finishes_with_the_same_results(series, tmp_path):
    log = tmp_path / "calls.log"
    reference = _run_script(series, tmp_path / "ref", tmp_path / "ref.log").communicate(timeout=120)[0]
    proc = _run_script(series, tmp_path / "out", log)
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.05)
    time.sleep(0.2)  # land somewhere inside a step
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = log.read_text().splitlines()
    assert len(before) < 6, "killed too late to test anything"
    resumed = _run_script(series, tmp_path / "out", log).communicate(timeout=120)[0]
    after = log.read_text().splitlines()[len(before):]
    # Results equal an uninterrupted run (paths aside), and finished steps were not redone.
    norm = lambda s: json.loads(s.replace(str(tmp_path / "ref"), "X").replace(str(tmp_path / "out"), "X"))
    assert norm(resumed) == norm(reference)
    done_before = before[:-1]  # the last logged call may have been the one killed
    assert not set(done_before) & set(after)
    assert len(after) + len(done_before) in (6, 7)


def test_parallel_workers_give_the_same_results(series, tmp_path):
    steps = {"measure": {"kind": "measure"}, "double": {"kind": "double"}}
    (series / "episodes" / "broken.wav").write_bytes(b"junk")
    one = prepare(series, tmp_path / "a", steps=steps, build=prep_fakes.build, workers=1)
    two = prepare(series, tmp_path / "b", steps=steps, build=prep_fakes.build, workers=2)
    strip = lambda r: json.loads(json.dumps(r.results).replace(str(tmp_path / "a"), "X").replace(str(tmp_path / "b"), "X"))
    assert strip(one) == strip(two)
    assert [f["file"] for f in one.failures] == [f["file"] for f in two.failures]
