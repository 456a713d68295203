"""LoRA on the speech LLM with peft: wrap, check what trains, save adapters only, merge and export.

Rows a loader added to the vocabulary (a small LM taught the chat and audio tokens,
``audiorole.models.lm.smollm2``) have no pretrained value, so they train too: a loader
lists their ids on the model (``NEW_TOKEN_IDS``) and they become peft trainable tokens
(``trainable_token_indices``: a delta for those rows only, shared by tied input and output
embeddings, saved in the adapter), never the whole embedding matrix.

An adapter folder is peft's (``adapter_config.json`` + ``adapter_model.safetensors``)
plus ``base.yaml``, the config node that loads the base model (so
``python -m audiorole.reply --adapter DIR`` can rebuild it), the tokenizer, and
``chat.json``, the prompt format the model was trained with. A merged export is
a plain transformers folder with the tokenizer and ``chat.json``.
"""

import copy
import json
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.models.lm.folders import atomic_dir

ADAPTER_MARKS = ("lora_", "trainable_tokens_")  # peft's names: lora_A / lora_B / lora_embedding_*, token deltas
NEW_TOKEN_IDS = "audiorole_new_token_ids"  # model attribute set by a loader that added vocabulary rows
BASE_CONFIG = "base.yaml"
CHAT_CONFIG = "chat.json"


def apply_lora(model, lora_config):
    """Wrap ``model`` with a ``peft.LoraConfig``; only the adapters (and rows the loader added) train."""
    import dataclasses

    from peft import get_peft_model

    new_ids = list(getattr(model, NEW_TOKEN_IDS, None) or [])
    if new_ids:
        lora_config = dataclasses.replace(lora_config, trainable_token_indices=new_ids)
    peft_model = get_peft_model(model, lora_config)
    assert_only_adapters_train(peft_model)
    return peft_model


def trainable_names(model) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def assert_only_adapters_train(model) -> None:
    names = trainable_names(model)
    if not names:
        raise AudioroleError("LoRA left nothing to train: model.lora.target_modules matched no layer of this LM")
    wrong = [n for n in names if not is_adapter_key(n)]
    if wrong:
        raise AudioroleError(f"base weights would train ({wrong[:3]}...); keep model.lora.modules_to_save empty")


def is_adapter_key(key: str) -> bool:
    return any(mark in key for mark in ADAPTER_MARKS)


def adapter_state(state_dict: dict) -> dict:
    return {k: v for k, v in state_dict.items() if is_adapter_key(k)}


def _write_chat(folder: Path, chat: dict | None) -> None:
    if chat is not None:
        (folder / CHAT_CONFIG).write_text(json.dumps(chat, indent=2, sort_keys=True))


def read_chat(folder: str | Path) -> dict:
    path = Path(folder) / CHAT_CONFIG
    return json.loads(path.read_text()) if path.is_file() else {}


def save_adapter(peft_model, path: str | Path, tokenizer=None, base_config: dict | None = None,
                 chat: dict | None = None) -> Path:
    with atomic_dir(path) as tmp:
        _write_chat(tmp, chat)
        # The base's embeddings and head are not trained (LoRA on them trains factors), so never copy them.
        peft_model.save_pretrained(tmp, save_embedding_layers=False)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if base_config is not None:
            from omegaconf import OmegaConf

            OmegaConf.save(OmegaConf.create(base_config), tmp / BASE_CONFIG)
    return Path(path)


def load_adapter(path: str | Path, base_model=None):
    """(peft model, tokenizer) from an adapter folder; the base is built from ``base.yaml`` unless given."""
    from peft import PeftModel

    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        raise AudioroleError(f"{path}: not a LoRA adapter folder (no adapter_config.json); pass a run's adapter/ folder")
    tokenizer = None
    if base_model is None:
        if not (path / BASE_CONFIG).is_file():
            raise AudioroleError(f"{path}/{BASE_CONFIG} is missing: the adapter does not say how to load its base; "
                                 "use --model with a merged export instead")
        import hydra
        from omegaconf import OmegaConf

        base_model, tokenizer = hydra.utils.instantiate(OmegaConf.load(path / BASE_CONFIG))
    if (path / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
    return PeftModel.from_pretrained(base_model, path), tokenizer


def merged_copy(peft_model):
    """A plain transformers model with the adapters folded into the weights (the training model is untouched)."""
    return copy.deepcopy(peft_model).merge_and_unload()


def export_merged(peft_model, tokenizer, path: str | Path, chat: dict | None = None) -> Path:
    """Merge and write a plain transformers folder that ``AutoModelForCausalLM.from_pretrained`` reads."""
    merged = merged_copy(peft_model)
    with atomic_dir(path) as tmp:
        _write_chat(tmp, chat)
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(path)
