"""Find and read a GLM-4-Voice tokenizer checkpoint without remote code.

The public ``THUDM/glm-4-voice-tokenizer`` folder holds ``config.json``
(a WhisperConfig plus the WhisperVQ fields), ``preprocessor_config.json``
(a WhisperFeatureExtractor: 128 mel bins, hop 160, 30 s chunks) and one
``model.safetensors`` whose names are the bare encoder's (``conv1.weight``,
``layers.0.fc1.weight``, ``codebook.weight``, plus ``embed_positions2`` and the
EMA buffers, which tokenizing does not need). Prefixed names from a full
WhisperVQ model (``model.encoder.``) are accepted too, as are sharded
safetensors and ``pytorch_model.bin``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from audiorole.tokenizers.base import TokenizerError
from audiorole.utils.hub import local_or_hub, one_line

CONFIG = "config.json"
PREPROCESSOR = "preprocessor_config.json"
PREFIXES = ("model.encoder.", "encoder.", "model.")
def resolve_source(source: str | os.PathLike, token_env: str | None = "HF_TOKEN", revision: str | None = None) -> Path:
    """A local checkpoint dir as is, or a hub id fetched with ``snapshot_download`` (older uploads: a .bin)."""
    return local_or_hub(source, TokenizerError, f"{CONFIG}, {PREPROCESSOR} and model.safetensors",
                        "THUDM/glm-4-voice-tokenizer", (("*.json", "*.safetensors"), ("*.json", "pytorch_model*.bin")),
                        token_env, revision)


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise TokenizerError(f"{path}: missing; a GLM-4-Voice tokenizer dir needs {CONFIG} and {PREPROCESSOR}")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise TokenizerError(f"{path}: not valid JSON ({one_line(e)}); re-download the checkpoint") from None


def weight_files(root: Path) -> list[Path]:
    index = sorted(root.glob("*.safetensors.index.json"))
    if index:
        shards = sorted(set(read_json(index[0]).get("weight_map", {}).values()))
        return [root / s for s in shards]
    found = sorted(root.glob("*.safetensors")) or sorted(root.glob("pytorch_model*.bin"))
    if not found:
        raise TokenizerError(f"{root}: no model.safetensors (or pytorch_model.bin); the weights did not download?")
    return found


def read_state_dict(root: Path) -> dict:
    import torch

    state = {}
    for path in weight_files(root):
        if not path.is_file():
            raise TokenizerError(f"{path}: listed in the shard index but missing; re-download the checkpoint")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state.update(load_file(str(path), device="cpu"))
            else:
                state.update(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as e:
            raise TokenizerError(f"{path}: cannot read weights ({one_line(e)}); re-download the checkpoint") from None
    return state


def select_encoder_weights(state: dict, expected: dict, root: Path) -> dict:
    """Rename to the module's names and keep only what it needs.

    Unneeded entries are dropped on purpose: layers past ``quantize_position``,
    the final ``layer_norm``, ``embed_positions2``, EMA buffers, a decoder.
    """
    renamed = {}
    for key, tensor in state.items():
        name = key
        if name not in expected:
            for prefix in PREFIXES:
                if key.startswith(prefix) and key[len(prefix):] in expected:
                    name = key[len(prefix):]
                    break
        if name in expected:
            renamed[name] = tensor
    missing = [k for k in expected if k not in renamed]
    if missing:
        raise TokenizerError(f"{root}: {len(missing)} encoder weights missing (e.g. {missing[0]}); "
                             f"not a GLM-4-Voice tokenizer checkpoint, or config.json does not match it")
    for name, tensor in renamed.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise TokenizerError(f"{root}: {name} has shape {tuple(tensor.shape)} but config.json implies "
                                 f"{tuple(expected[name].shape)}; config and weights disagree")
    return renamed


def fingerprint(config: dict, preprocessor: dict, weights: dict, dtype: str, version: str) -> str:
    """sha256 over the config files, every used tensor (name, dtype, shape, bytes) and the compute dtype.

    Hashing tensors rather than files keeps the key the same when a checkpoint
    is re-sharded or converted from .bin, and changes it when any used weight
    changes. The compute dtype is included because bf16 and fp32 give slightly
    different codes, and cached tokens should not mix the two.
    """
    import torch

    h = hashlib.sha256()
    h.update(f"{version}\0{dtype}\0".encode())
    h.update(json.dumps(config, sort_keys=True).encode())
    h.update(json.dumps(preprocessor, sort_keys=True).encode())
    for name in sorted(weights):
        t = weights[name].detach().contiguous().cpu()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())  # no copy
    return h.hexdigest()
