"""A tiny GLM and its tokenizer, made from the demo series' own text: the semantic stage's CPU stand-in for GLM-4-Voice-9B.

The tokenizer is a byte-level BPE trained on the transcripts of the dataset
split's train part (replies and their context turns; dev and test text never
shapes the vocabulary) and the characters' personas, plus GLM-4-Voice's role tokens and one
``<|audio_k|>`` token per code of the dataset's speech tokenizer (the count is
read from the token cache). The model is a randomly initialised transformers
``GlmForCausalLM`` (the architecture of GLM-4-Voice's LM), seeded, so the same
inputs give the same weights. Both are written once, atomically, under
``<prepared>/lm/demo-<key>/`` as a plain transformers folder; the key hashes
the texts and the configuration.
"""

import hashlib
import json
import logging
from pathlib import Path

from audiorole.models.lm.folders import atomic_dir
from audiorole.text.vocab import ROLE_TOKENS, audio_token

log = logging.getLogger(__name__)


def demo_texts(prepared_dir: str | Path, series_dir: str | Path | None = None) -> list[str]:
    """The train part's text (replies, their context turns) and the personas, in a fixed order.

    Subtitles are left out: they hold every scene's lines, dev and test included.
    """
    from audiorole.data.replies import load_cuts
    from audiorole.data.splits import load_splits, part_cuts

    texts = []
    for cut in part_cuts(load_cuts(prepared_dir), load_splits(prepared_dir), "train"):
        sup = cut.supervisions[0]
        texts += [sup.text or ""] + [c["text"] for c in sup.custom.get("context") or []]
    if series_dir is not None:
        from audiorole.data.series import SeriesFolder

        series = SeriesFolder.load(series_dir)
        texts += [c.persona for _, c in sorted(series.registry.characters.items())]
    return [t for t in texts if t]


def train_tokenizer(texts: list[str], n_audio: int, text_vocab: int = 1000):
    """Byte-level BPE + the chat's special tokens + ``n_audio`` audio tokens (contiguous ids)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from audiorole.text.vocab import END_OF_TEXT

    specials = [*ROLE_TOKENS, *(audio_token(k) for k in range(n_audio))]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=len(specials) + text_vocab, special_tokens=specials, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=END_OF_TEXT, pad_token=END_OF_TEXT,
                                   bos_token=END_OF_TEXT, clean_up_tokenization_spaces=False)


def tiny_glm(vocab_size: int, special_id: int, hidden_size: int = 128, layers: int = 2, heads: int = 4,
             kv_heads: int = 2, intermediate_size: int = 256, max_positions: int = 4096, seed: int = 0):
    import torch
    from transformers import GlmConfig, GlmForCausalLM

    # Tiny GlmConfigs need explicit pad/eos/bos ids inside the vocabulary (the defaults are GLM-4's 151k ids).
    config = GlmConfig(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                       head_dim=hidden_size // heads, max_position_embeddings=max_positions,
                       pad_token_id=special_id, eos_token_id=special_id, bos_token_id=special_id)
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's random state
        torch.manual_seed(seed)
        return GlmForCausalLM(config)


def demo_lm_dir(prepared_dir: str | Path, series_dir: str | Path | None = None, text_vocab: int = 1000,
                seed: int = 0, **model_options) -> Path:
    """Build (once) and return the demo LM's folder."""
    from audiorole.tokenizers.cache import TokenCache, latest_cache

    n_audio = int(TokenCache(latest_cache(prepared_dir)).index["codebook_size"])
    texts = demo_texts(prepared_dir, series_dir)
    spec = {"n_audio": n_audio, "text_vocab": text_vocab, "seed": seed, **model_options,
            "texts": hashlib.sha256("\n".join(texts).encode()).hexdigest()}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(prepared_dir) / "lm" / f"demo-{key}"
    if (path / "config.json").is_file():
        return path
    tokenizer = train_tokenizer(texts, n_audio, text_vocab)
    model = tiny_glm(len(tokenizer), tokenizer.eos_token_id, seed=seed, **model_options)
    # A concurrent builder (another rank) that finishes first wins; the content is the same.
    with atomic_dir(path, replace=False) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "audiorole_demo_lm.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
    log.info("built the demo LM (%d tokens, %.2f M parameters) at %s", len(tokenizer), model.num_parameters() / 1e6, path)
    return path


def load_pretrained_lm(path: str | Path, dtype: str | None = None):
    """(model, tokenizer) from a plain transformers folder (the demo LM, or a merged export)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype) if dtype else None
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype), AutoTokenizer.from_pretrained(path)


def load_demo_lm(prepared_dir: str | Path, series_dir: str | Path | None = None, text_vocab: int = 1000, seed: int = 0,
                 **model_options):
    """(model, tokenizer) of the demo LM, built on first use."""
    return load_pretrained_lm(demo_lm_dir(prepared_dir, series_dir, text_vocab, seed, **model_options))
