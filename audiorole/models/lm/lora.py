"""LoRA on the speech LLM with peft: wrap, check what trains, save adapters only, merge and export.

Rows a loader added to the vocabulary (a small LM taught the chat and audio tokens,
``audiorole.models.lm.smollm2``) have no pretrained value, so they train too: a loader
lists their ids on the model (``NEW_TOKEN_IDS``) and they become peft trainable tokens
(``trainable_token_indices``: a delta for those rows only, shared by tied input and output
embeddings, saved in the adapter), never the whole embedding matrix.

An adapter folder is peft's (``adapter_config.json`` + ``adapter_model.safetensors``)
plus ``base.yaml``, the config node that loads the base model (so
``python -m audiorole.reply --adapter DIR`` can rebuild it), the tokenizer, and
``chat.json``, the prompt format the model was trained with, and ``generation.json``, the
decoding it was validated with (``model.generation``), which ``audiorole.reply``, the app
and ``evaluate.py`` start from. A merged export is a plain transformers folder with the
tokenizer and both JSON files.
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
GENERATION_CONFIG = "generation.json"


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


def start_from(peft_model, adapter: str | Path) -> None:
    """Load another run's adapter weights into ``peft_model`` (the same ``model.lora`` and base) to train on from
    there: e.g. a cast-wide adapter, then one character's lines."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = Path(adapter) / "adapter_model.safetensors"
    if not path.is_file():
        raise AudioroleError(f"model.init_from={adapter}: no adapter_model.safetensors there; pass a semantic "
                             "run's lm/adapter folder")
    try:
        result = set_peft_model_state_dict(peft_model, load_file(str(path)))
    except RuntimeError as exc:  # torch's size mismatch: another rank or another base
        first = next((line.strip() for line in str(exc).splitlines() if "size mismatch" in line), str(exc)[:200])
        raise AudioroleError(f"model.init_from={adapter}: its adapter does not fit this model.lora ({first}); "
                             "train both with the same model.lora and base") from None
    tied = getattr(peft_model.get_base_model().config, "tie_word_embeddings", False)
    # With tied embeddings the output layer's added rows are the input layer's, saved once under the latter.
    missing = [k for k in result.missing_keys if is_adapter_key(k) and not (tied and "lm_head.token_adapter" in k)]
    if missing or result.unexpected_keys:
        raise AudioroleError(f"model.init_from={adapter}: its adapter does not fit this model.lora ("
                             f"{len(missing)} missing, {len(result.unexpected_keys)} unexpected weights, e.g. "
                             f"{(missing or result.unexpected_keys)[0]}); train both with the same model.lora and base")


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


def _write_settings(folder: Path, chat: dict | None, generation: dict | None) -> None:
    for name, settings in ((CHAT_CONFIG, chat), (GENERATION_CONFIG, generation)):
        if settings is not None:
            (folder / name).write_text(json.dumps(settings, indent=2, sort_keys=True))


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AudioroleError(f"{path}: not valid JSON ({exc.msg}); re-export the model or delete the file") from exc


def read_chat(folder: str | Path) -> dict:
    """The prompt format an exported model was trained with ({} when the folder has none)."""
    return _read_json(Path(folder) / CHAT_CONFIG)


def read_generation(folder: str | Path) -> dict:
    """The decoding an exported model was validated with ({} when the folder predates it)."""
    return _read_json(Path(folder) / GENERATION_CONFIG)


def save_adapter(peft_model, path: str | Path, tokenizer=None, base_config: dict | None = None,
                 chat: dict | None = None, generation: dict | None = None) -> Path:
    with atomic_dir(path) as tmp:
        _write_settings(tmp, chat, generation)
        # The base's embeddings and head are not trained (LoRA on them trains factors), so never copy them.
        peft_model.save_pretrained(tmp, save_embedding_layers=False)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if base_config is not None:
            from omegaconf import OmegaConf

            OmegaConf.save(OmegaConf.create(base_config), tmp / BASE_CONFIG)
    return Path(path)


def load_adapter(path: str | Path, base_model=None, merge: bool = False):
    """(peft model, tokenizer) from an adapter folder; the base is built from ``base.yaml`` unless given.

    ``merge``: fold the adapter into the base and return the plain model, for answering only (same outputs;
    the demo LM generates about 3x faster on CPU without peft's per-step LoRA and trainable-token work)."""
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
    model = PeftModel.from_pretrained(base_model, path)
    return (model.merge_and_unload() if merge else model), tokenizer


def merged_copy(peft_model):
    """A plain transformers model with the adapters folded into the weights (the training model is untouched)."""
    return copy.deepcopy(peft_model).merge_and_unload()


def export_merged(peft_model, tokenizer, path: str | Path, chat: dict | None = None,
                  generation: dict | None = None) -> Path:
    """Merge and write a plain transformers folder that ``AutoModelForCausalLM.from_pretrained`` reads."""
    merged = merged_copy(peft_model)
    with atomic_dir(path) as tmp:
        _write_settings(tmp, chat, generation)
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(path)
