"""Read HiFi-GAN generator checkpoints in the common public layout.

The public layout (jik876/hifi-gan ``generator_*`` files and its many forks)
is a torch file holding ``{"generator": state_dict}``; module names match ours
and weight norm appears as either ``<m>.weight_g``/``<m>.weight_v`` (the old
``torch.nn.utils.weight_norm``) or ``<m>.parametrizations.weight.original0/1``
(the new parametrization, which our generator uses), or folded into a plain
``<m>.weight``. The generator's shape is read from a ``config.json`` beside the
checkpoint when present, else inferred from the tensors.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from audiorole.errors import ConfigError

from .generator import GeneratorConfig

_OLD_TO_NEW = {".weight_g": ".parametrizations.weight.original0", ".weight_v": ".parametrizations.weight.original1"}


def read_generator_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The generator's state dict from a public checkpoint (or a bare state dict)."""
    if not Path(path).is_file():
        raise ConfigError(f"{path}: no such vocoder checkpoint; give the path of a HiFi-GAN generator file")
    # weights_only: a checkpoint from the internet must not run code on load.
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("generator"), dict):
        obj = obj["generator"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError(f"{path}: expected a dict with key 'generator' holding a state dict")
    if all(k.startswith("generator.") for k in obj):  # e.g. a module that wrapped the generator
        obj = {k[len("generator.") :]: v for k, v in obj.items()}
    if "conv_pre.bias" not in obj:
        raise ConfigError(f"{path}: no 'conv_pre.*' tensors; not a HiFi-GAN generator checkpoint")
    return obj


def rename_suffixes(state: dict[str, torch.Tensor], mapping: dict[str, str]) -> dict[str, torch.Tensor]:
    """Each key ending in a ``mapping`` key gets that ending replaced; order kept."""
    out = {}
    for k, v in state.items():
        for old, new in mapping.items():
            if k.endswith(old):
                k = k[: -len(old)] + new
                break
        out[k] = v
    return out


def to_parametrized_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename old-style ``weight_g``/``weight_v`` to the parametrization names we use."""
    return rename_suffixes(state, _OLD_TO_NEW)


def to_old_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our parametrization names -> old-style ``weight_g``/``weight_v`` (the layout public files use)."""
    return rename_suffixes(state, {new: old for old, new in _OLD_TO_NEW.items()})


def has_weight_norm(state: dict[str, torch.Tensor]) -> bool:
    return any(".parametrizations.weight." in k for k in state)


def _weight(state: dict[str, torch.Tensor], module: str) -> torch.Tensor:
    for suffix in (".weight", ".parametrizations.weight.original1"):
        if module + suffix in state:
            return state[module + suffix]
    raise KeyError(f"checkpoint has no weight for {module!r}")


def infer_config(state: dict[str, torch.Tensor]) -> GeneratorConfig:
    """Generator shape from tensor shapes (after ``to_parametrized_names``).

    Strides and dilations are not in the tensors, so this assumes the public
    conventions: upsample kernel = 2 × rate, and the V1 (type 1) / V3 (type 2)
    dilations. Put the checkpoint's ``config.json`` beside it otherwise.
    """
    n_mels = _weight(state, "conv_pre").shape[1]
    channels = _weight(state, "conv_pre").shape[0]
    n_ups = len({k.split(".")[1] for k in state if k.startswith("ups.")})
    kernels = [_weight(state, f"ups.{i}").shape[-1] for i in range(n_ups)]
    n_blocks = len({k.split(".")[1] for k in state if k.startswith("resblocks.")})
    n_kernels = n_blocks // n_ups
    block_type = "1" if any(k.startswith("resblocks.0.convs1.") for k in state) else "2"
    first = "convs1" if block_type == "1" else "convs"
    rb_kernels = [_weight(state, f"resblocks.{j}.{first}.0").shape[-1] for j in range(n_kernels)]
    if block_type == "1":
        dilations = [[1, 3, 5]] * n_kernels
    elif rb_kernels == [3, 5, 7]:
        dilations = [[1, 2], [2, 6], [3, 12]]
    else:
        raise ConfigError("cannot infer type-2 resblock dilations; put the checkpoint's config.json beside it")
    return GeneratorConfig(
        num_mels=n_mels,
        upsample_rates=[k // 2 for k in kernels],
        upsample_kernel_sizes=kernels,
        upsample_initial_channel=channels,
        resblock=block_type,
        resblock_kernel_sizes=rb_kernels,
        resblock_dilation_sizes=dilations,
    )


def read_public_config(checkpoint: str | Path) -> dict | None:
    """The HiFi-GAN ``config.json`` beside a checkpoint, if there is one."""
    path = Path(checkpoint).with_name("config.json")
    return json.loads(path.read_text()) if path.is_file() else None
