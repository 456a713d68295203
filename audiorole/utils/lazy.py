"""Lazy package exports: ``from audiorole.x import Name`` without importing torch until Name is used."""

import importlib


def lazy_getattr(package: str, exports: dict[str, str]):
    """A module-level ``__getattr__`` that imports ``exports[name]`` (a module path) on first access."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
