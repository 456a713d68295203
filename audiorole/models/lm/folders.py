"""Write a model folder atomically: readers see the old folder or the complete new one, never half."""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(path: str | Path, replace: bool = True):
    """Yield a temporary folder beside ``path``; on success it takes ``path``'s place by renames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            if not replace:
                return
            old = Path(tempfile.mkdtemp(prefix=f".old-{path.name}-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, path)
            except OSError:  # another process finished the same folder first
                if not path.exists():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
