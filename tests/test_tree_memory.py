"""Peak memory of a process tree: the child's workers count together."""

import subprocess
import sys

import pytest

from audiorole.utils.tree_memory import run_with_peak_memory

HOLD = "import time; b = bytearray({n}); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"


def test_the_peak_sums_a_child_and_its_workers():
    one = HOLD.format(n=200 * 2**20)
    # A parent holding 200 MiB that starts a worker holding 200 MiB at the same time.
    cmd = [sys.executable, "-c", f"import subprocess, sys; w = subprocess.Popen([sys.executable, '-c', {one!r}]); {one}; w.wait()"]
    _, peak = run_with_peak_memory(cmd, interval=0.1)
    assert peak > 380 * 2**20


def test_a_failing_child_raises():
    with pytest.raises(subprocess.CalledProcessError):
        run_with_peak_memory([sys.executable, "-c", "raise SystemExit(3)"])
