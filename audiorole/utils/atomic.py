"""Atomic file writes: a reader (or a rerun after a crash) sees the old file or the new one, never half."""

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name ends like the target so libraries that pick a format by
    # extension (".jsonl.gz", ".flac") write the same format.
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_dir(tmp: str | Path, directory: str | Path) -> None:
    """Put the folder ``tmp`` at ``directory`` in renames: a reader sees the old folder or the new one."""
    tmp, directory = Path(tmp), Path(directory)
    # os.replace cannot overwrite a non-empty folder: move the old one aside first.
    old = None
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=f".old-{directory.name}-", dir=directory.parent))
        os.replace(directory, old / directory.name)
    os.replace(tmp, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(directory: str | Path):
    """Yield an empty folder beside ``directory``; on success it replaces ``directory`` (``replace_dir``)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{directory.name}-", dir=directory.parent))
    try:
        yield tmp
        replace_dir(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def link_atomic(src: str | Path, dst: str | Path) -> None:
    """Make ``dst`` a hard link of ``src`` (no copy), or a copy across filesystems; atomically either way.

    Renaming one hard link of a file onto another link of the same file does nothing
    (POSIX), which would leave the temporary name behind: such a ``dst`` is already done.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() and os.path.samefile(src, dst):
        return
    with atomic_path(dst) as tmp:
        try:
            os.unlink(tmp)
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows))
