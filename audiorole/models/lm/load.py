"""Load GLM-4-Voice-9B (or any GLM-4 ChatGLM-layout checkpoint) with no remote code.

``load_glm4voice(path)`` accepts:

- the public ChatGLM-layout checkpoint (``model_type: chatglm``), a local dir or a
  hub id such as ``THUDM/glm-4-voice-9b``: converted on the fly to transformers'
  ``GlmForCausalLM`` (``convert.py``) and its tiktoken ranks to a fast tokenizer
  (``chatglm_tokenizer.py``);
- a dir written by ``python -m audiorole.models.lm.convert`` (``model_type: glm``):
  read with ``from_pretrained``, which is faster and supports every ``device_map``.

Hub ids are fetched with ``huggingface_hub.snapshot_download`` only when the
path is not a local directory; the token comes from the environment variable
named ``token_env`` and is never logged.
"""

from __future__ import annotations

import os
from pathlib import Path

from audiorole.models.lm.glm4voice_layout import CONFIG, TOKENIZER_CONFIG, TOKENIZER_MODEL, CheckpointError, read_json
from audiorole.utils.hub import local_or_hub

AUDIO_TOKEN = "<|audio_{}|>"
HUB_PATTERNS = ["*.json", "*.safetensors", TOKENIZER_MODEL]


def resolve_checkpoint(path: str | os.PathLike, token_env: str | None = "HF_TOKEN",
                       revision: str | None = None) -> Path:
    """A local checkpoint dir as is, or a hub id downloaded with ``snapshot_download``."""
    return local_or_hub(path, CheckpointError, f"{CONFIG}, {TOKENIZER_MODEL} and the safetensors shards",
                        "THUDM/glm-4-voice-9b", (HUB_PATTERNS,), token_env, revision)


def load_glm4voice(path: str | os.PathLike = "THUDM/glm-4-voice-9b", dtype=None, device_map=None,
                   token_env: str | None = "HF_TOKEN", revision: str | None = None):
    """``(model, tokenizer)``: a transformers ``GlmForCausalLM`` in eval mode and a ``PreTrainedTokenizerFast``.

    ``dtype``: "bfloat16", "float32", ... or a torch dtype (default: the checkpoint's).
    ``device_map``: ``None`` (CPU), a device such as "cuda:0", or "auto"/a dict (accelerate).
    """
    from audiorole.models.lm.chatglm_tokenizer import chatglm_tokenizer
    from audiorole.models.lm.chatglm_to_glm import convert_checkpoint, torch_dtype

    root = resolve_checkpoint(path, token_env=token_env, revision=revision)
    cfg = read_json(root / CONFIG)
    if cfg.get("model_type") == "glm":
        return _load_converted(root, torch_dtype(dtype), device_map)
    tokenizer = chatglm_tokenizer(root, model_max_length=cfg.get("seq_length"))
    model = convert_checkpoint(root, tokenizer, dtype=dtype, device_map=device_map)
    audio_token_offset(tokenizer)  # fail here, not mid-training, if the vocabulary lacks audio tokens
    return model, tokenizer


def _load_converted(root: Path, dtype, device_map):
    from transformers import GlmForCausalLM, PreTrainedTokenizerFast

    if not (root / "tokenizer.json").is_file():
        raise CheckpointError(f"{root / 'tokenizer.json'}: missing; rerun python -m audiorole.models.lm.convert")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(root))
    try:
        model = GlmForCausalLM.from_pretrained(str(root), dtype=dtype or "auto", device_map=device_map)
    except OSError as e:
        raise CheckpointError(f"{root}: cannot load the converted weights ({str(e).splitlines()[0]}); "
                              "rerun python -m audiorole.models.lm.convert") from None
    audio_token_offset(tokenizer)
    return model.eval(), tokenizer


def audio_token_offset(tokenizer) -> int:
    """Id of ``<|audio_0|>``; audio code ``c`` is token ``offset + c``.

    Checks that every ``<|audio_i|>`` the vocabulary holds sits at ``offset + i``,
    since the semantic stage maps codes to ids by that addition alone.
    """
    vocab = tokenizer.get_vocab()
    offset = vocab.get(AUDIO_TOKEN.format(0))
    if offset is None:
        raise CheckpointError(f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no {AUDIO_TOKEN.format(0)} "
                              f"token; not a GLM-4-Voice vocabulary ({TOKENIZER_CONFIG} lacks the audio tokens)")
    i = 1
    while (tid := vocab.get(AUDIO_TOKEN.format(i))) is not None:
        if tid != offset + i:
            raise CheckpointError(f"{AUDIO_TOKEN.format(i)} has id {tid}, expected {offset + i}: audio token ids "
                                  "are not contiguous")
        i += 1
    return offset
