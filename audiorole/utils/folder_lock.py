"""An exclusive lock on a folder for the length of a job.

Jobs of a sweep with the same data config share one prepared dataset. Run in
parallel (a parallel Hydra launcher, several ``train.py`` at once), each would
prepare it at the same time and their writes would collide (measured: a clip
deleted under another job, 68 of 196 replies left). With this lock they take
turns: the first prepares, the next ones find everything cached. Advisory
``flock`` on ``<folder>/.lock``: released by the kernel when a job dies, so a
killed job never leaves the folder locked.
"""

import contextlib
import fcntl
import logging
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def folder_lock(folder: str | Path, doing: str):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("%s: another job is %s; waiting for it to finish", folder, doing)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
