"""Comparing a checkpoint's tensors with a model's, for strict loads that fail in one line."""

from __future__ import annotations

from collections.abc import Callable


def first_mismatch(expected: dict, found: dict, display: Callable[[str], str] = str) -> str | None:
    """The first tensor (in ``expected``'s order) missing from ``found`` or shaped differently, then the first
    unexpected one, described in one line with ``display(name)`` (e.g. the public checkpoint's name); else None."""
    for name, tensor in expected.items():
        if name not in found:
            return f"{display(name)} {tuple(tensor.shape)} is missing"
        if tuple(found[name].shape) != tuple(tensor.shape):
            return f"{display(name)} has shape {tuple(found[name].shape)}, expected {tuple(tensor.shape)}"
    extra = next((name for name in found if name not in expected), None)
    return None if extra is None else f"{display(extra)} {tuple(found[extra].shape)} is unexpected"
