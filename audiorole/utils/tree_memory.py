"""Peak resident memory of a child process and all its descendants together (dataset workers
run side by side, so the peak of any one process understates what the machine needs)."""

import subprocess
import threading

import psutil


def run_with_peak_memory(cmd: list[str], interval: float = 0.5) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``cmd`` to completion (raising on a non-zero exit, as ``check=True``); return it and the peak, in
    bytes, of the summed RSS of its process tree, sampled every ``interval`` seconds."""
    process = subprocess.Popen(cmd)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.wait(interval):
            total = 0
            try:
                for p in (root, *root.children(recursive=True)):
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        continue  # a worker that ended between listing and reading
            except psutil.Error:
                break
            peak = max(peak, total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if code:
        raise subprocess.CalledProcessError(code, cmd)
    return subprocess.CompletedProcess(cmd, code), peak
