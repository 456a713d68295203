"""Convert a ChatGLM-layout checkpoint (GLM-4-Voice-9B) to transformers' native ``GlmForCausalLM``, in memory.

``load_glm4voice`` calls it; ``python -m audiorole.models.lm.convert`` saves its result.
The model is built on the meta device and each tensor is read from its shard, renamed
(fused q/k/v split), cast and moved to its device, then adopted by the module
(``assign=True``): peak memory is the model plus one tensor, never two copies of a 9B model.
"""

from __future__ import annotations

from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.models.lm.glm4voice_layout import (CONFIG, INDEX, SINGLE_FILE, ChatGLMShape, CheckpointError,
                                                  glm_config, glm_tensors, read_json)

DTYPES = {"float32": "float32", "fp32": "float32", "float": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16", "half": "float16"}


def torch_dtype(dtype):
    """``None``, a torch dtype or its name ("bf16", "bfloat16", ...) as a torch dtype (or None)."""
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if str(dtype) not in DTYPES:
        raise CheckpointError(f"dtype={dtype!r} is not one of float32, bfloat16, float16")
    return getattr(torch, DTYPES[str(dtype)])


def shard_files(root: Path) -> list[Path]:
    """The safetensors files of a checkpoint, from its index when it has one."""
    if (root / INDEX).is_file():
        weight_map = read_json(root / INDEX).get("weight_map") or {}
        if not weight_map:
            raise CheckpointError(f"{root / INDEX}: no weight_map; re-download the checkpoint")
        files = [root / name for name in sorted(set(weight_map.values()))]
    elif (root / SINGLE_FILE).is_file():
        files = [root / SINGLE_FILE]
    else:
        raise CheckpointError(f"{root}: no {INDEX} or {SINGLE_FILE}; the weights did not download "
                              "(only safetensors checkpoints are supported)")
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise CheckpointError(f"{absent[0]}: listed in {INDEX} but missing ({len(absent)} of {len(files)} shards); "
                              "the download is incomplete")
    return files


def special_ids(cfg: dict, tokenizer) -> tuple[int, int | list[int]]:
    """pad and eos ids: the config's when it has them, else the tokenizer's ``<|endoftext|>``."""
    endoftext = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    pad = cfg.get("pad_token_id")
    eos = cfg.get("eos_token_id")
    return (endoftext if pad is None else int(pad)), (endoftext if eos is None else eos)


def _placement(device_map, model, dtype):
    """Name -> device for every tensor, and the accelerate map to dispatch with (or None)."""
    import torch

    if device_map is None or isinstance(device_map, (torch.device, int)) or (
            isinstance(device_map, str) and device_map not in ("auto", "balanced", "sequential")):
        device = f"cuda:{device_map}" if isinstance(device_map, int) else str(device_map or "cpu")
        return (lambda name: device), None
    from accelerate import infer_auto_device_map

    if isinstance(device_map, str):
        device_map = infer_auto_device_map(model, no_split_module_classes=model._no_split_modules, dtype=dtype)
    if "disk" in device_map.values():
        raise CheckpointError("device_map offloads to disk, which on-the-fly conversion cannot do; convert once "
                              "(python -m audiorole.models.lm.convert SRC OUT) and load OUT")
    prefixes = sorted(device_map.items(), key=lambda kv: -len(kv[0]))

    def device_of(name):
        for prefix, dev in prefixes:
            if prefix == "" or name == prefix or name.startswith(prefix + "."):
                return dev if not isinstance(dev, int) else f"cuda:{dev}"
        raise CheckpointError(f"device_map places no module holding {name}")

    return device_of, dict(device_map)


def convert_checkpoint(root: str | Path, tokenizer, dtype=None, device_map=None):
    """``GlmForCausalLM`` with the weights of the ChatGLM checkpoint in ``root``, streamed shard by shard.

    ``dtype``: compute/storage dtype (default: the checkpoint's ``torch_dtype``).
    ``device_map``: ``None``/"cpu", a device ("cuda:0"), or "auto"/a dict for accelerate's dispatch.
    """
    import torch
    from safetensors import safe_open
    from transformers import GlmForCausalLM

    root = Path(root)
    cfg = read_json(root / CONFIG)
    shape = ChatGLMShape.from_config(cfg, root / CONFIG)
    dtype = torch_dtype(dtype) or torch_dtype(cfg.get("torch_dtype") or "float32")
    pad, eos = special_ids(cfg, tokenizer)
    config = glm_config(shape, pad_token_id=pad, eos_token_id=eos, dtype=dtype)
    with torch.device("meta"):
        model = GlmForCausalLM(config)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    device_of, dispatch_map = _placement(device_map, model, dtype)
    loaded: set[str] = set()
    for path in shard_files(root):
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                for name in f.keys():
                    for new, tensor in glm_tensors(name, f.get_tensor(name), shape):
                        if new not in expected:
                            raise CheckpointError(f"{path}: {name} maps to {new}, which the model does not have")
                        if tuple(tensor.shape) != tuple(expected[new]):
                            raise CheckpointError(f"{path}: {name} has shape {tuple(tensor.shape)} but config.json "
                                                  f"implies {tuple(expected[new])}; config and weights disagree")
                        tensor = tensor.to(device=device_of(new), dtype=dtype)
                        model.load_state_dict({new: tensor}, strict=False, assign=True)
                        loaded.add(new)
        except AudioroleError:
            raise
        except Exception as e:  # a truncated or corrupt shard
            raise CheckpointError(f"{path}: cannot read weights ({type(e).__name__}: {str(e).splitlines()[0]}); "
                                  "re-download the checkpoint") from None
    missing = sorted(set(expected) - loaded)
    if missing:
        raise CheckpointError(f"{root}: {len(missing)} weights missing from the shards (e.g. {missing[0]}); "
                              "the checkpoint is incomplete")
    # Non-persistent buffers (rotary inverse frequencies) are rebuilt for real on the embedding's device.
    from transformers.models.glm.modeling_glm import GlmRotaryEmbedding

    model.model.rotary_emb = GlmRotaryEmbedding(config, device=model.model.embed_tokens.weight.device)
    model.config.dtype = dtype
    model.eval()
    if dispatch_map is not None:
        from accelerate import dispatch_model

        model = dispatch_model(model, device_map=dispatch_map)
    return model
