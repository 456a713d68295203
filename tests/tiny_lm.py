"""Tiny random causal LMs for tests: a bare GLM, and a small Llama taught the chat like the demo's SmolLM2.

``tiny_chat_lm`` is SmolLM2's recipe at test size: a byte-level BPE with ``<|endoftext|>``
fitted on the synthetic dataset's lines, a random ``LlamaForCausalLM`` with tied embeddings,
then the same ``add_chat_tokens`` that extends SmolLM2 (role and audio rows, ``NEW_TOKEN_IDS``).
"""

from pathlib import Path


def tiny_glm(vocab_size: int, special_id: int, hidden_size: int = 128, layers: int = 2, heads: int = 4,
             kv_heads: int = 2, intermediate_size: int = 256, max_positions: int = 4096, seed: int = 0):
    import torch
    from transformers import GlmConfig, GlmForCausalLM

    # Tiny GlmConfigs need explicit pad/eos/bos ids inside the vocabulary (the defaults are GLM-4's 151k ids).
    config = GlmConfig(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                       head_dim=hidden_size // heads, max_position_embeddings=max_positions,
                       pad_token_id=special_id, eos_token_id=special_id, bos_token_id=special_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GlmForCausalLM(config)


def _text_tokenizer(texts: list[str], vocab: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   clean_up_tokenization_spaces=False)


def tiny_chat_lm(prepared_dir: str | Path, hidden_size: int = 64, layers: int = 2, seed: int = 0):
    """(model, tokenizer) with the chat and audio tokens added as ``load_smollm2`` adds them."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from audiorole.models.lm.lora import NEW_TOKEN_IDS
    from audiorole.models.lm.smollm2 import add_chat_tokens
    from audiorole.tokenizers.cache import TokenCache, latest_cache
    from semantic_fakes import LINES

    tokenizer = _text_tokenizer([line for lines in LINES.values() for line in lines] + ["system user assistant audio"])
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True, pad_token_id=0, eos_token_id=0, bos_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    n_audio = int(TokenCache(latest_cache(prepared_dir)).index["codebook_size"])
    setattr(model, NEW_TOKEN_IDS, add_chat_tokens(model, tokenizer, n_audio, seed))
    return model.eval(), tokenizer
