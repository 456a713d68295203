"""Reference centroids and the cosine scores AP and CP share.

A character's centroid is the mean of its L2-normalised embeddings, itself
normalised, so a dot product with a unit vector is a cosine. The margin is a
vector's cosine to its own character's centroid minus the highest cosine to
any other character's: positive when nearest-centroid classification would
name the right character.
"""

import numpy as np

from audiorole.errors import AudioroleError


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def centroid(vectors: np.ndarray) -> np.ndarray:
    return unit_rows(unit_rows(vectors).mean(axis=0))


class Centroids:
    """Per-character unit centroids; ``cosine_and_margin(vectors, characters)`` scores rows against them."""

    def __init__(self, by_character: dict[str, np.ndarray], what: str):
        if not by_character:
            raise AudioroleError(f"{what}: no references given; pass at least one character's references to prepare()")
        self.what = what
        self.names = sorted(by_character)
        self.matrix = np.stack([np.asarray(by_character[n], dtype=np.float64) for n in self.names])

    def index(self, character: str) -> int:
        try:
            return self.names.index(character)
        except ValueError:
            raise AudioroleError(f"{self.what}: no reference for character '{character}' "
                                 f"(have: {', '.join(self.names)}); add it to what prepare() gets") from None

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        """(N, C) cosines of unit rows to every centroid."""
        return unit_rows(vectors) @ self.matrix.T

    def cosine_and_margin(self, vectors: np.ndarray, characters: list[str]) -> tuple[np.ndarray, np.ndarray]:
        own_idx = np.array([self.index(c) for c in characters], dtype=int)
        if len(own_idx) == 0:
            return np.zeros(0), np.zeros(0)
        cos = self.cosines(vectors)
        rows = np.arange(len(own_idx))
        own = cos[rows, own_idx]
        if len(self.names) < 2:
            return own, np.full(len(own), np.nan)  # no other character: no margin
        others = cos.copy()
        others[rows, own_idx] = -np.inf
        return own, own - others.max(axis=1)
