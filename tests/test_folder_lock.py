"""Jobs sharing one prepared dataset take turns instead of writing it at the same time."""

import fcntl
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from audiorole.utils.folder_lock import folder_lock

HOLD = ("import sys, time; from audiorole.utils.folder_lock import folder_lock\n"
        "with folder_lock(sys.argv[1], 'testing'):\n"
        "    print('held', flush=True); time.sleep(float(sys.argv[2]))\n")


def _holder(folder, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_job_waits_for_the_first(tmp_path):
    proc = _holder(tmp_path / "ds", 1.5)
    start = time.monotonic()
    with folder_lock(tmp_path / "ds", "testing"):
        waited = time.monotonic() - start
    proc.wait()
    assert waited >= 0.5


def test_a_killed_job_leaves_the_folder_unlocked(tmp_path):
    proc = _holder(tmp_path / "ds", 60)
    proc.kill()
    proc.wait()
    start = time.monotonic()
    with folder_lock(tmp_path / "ds", "testing"):
        assert time.monotonic() - start < 5


@pytest.mark.parametrize("shards", [1, 2])
def test_prepare_dataset_holds_the_lock_of_the_folder_it_writes(tmp_path, monkeypatch, shards):
    import audiorole.prep.run as run

    seen = {}

    def fake_prepare(series_dir, out_dir, **kwargs):
        dest = run.shard_dir(tmp_path / "ds", 0, shards)
        with open(dest / ".lock", "a") as other:  # another open file: flock conflicts even in-process
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen["dest"] = dest
        return SimpleNamespace()

    monkeypatch.setattr(run, "prepare", fake_prepare)
    data = SimpleNamespace(out_dir=str(tmp_path / "ds"), series_dir="unused", shard=SimpleNamespace(index=0, count=shards),
                           get=lambda key, default=None: None)
    run.prepare_dataset(data)
    assert seen["dest"] == run.shard_dir(tmp_path / "ds", 0, shards)
