"""Glue that lets our clustering and a shipped embedder run inside pyannote's pipeline.

Imported only when the offline backend is built (it imports pyannote.audio).
"""

import numpy as np
from pyannote.audio.core.plda import PLDA
from pyannote.audio.pipelines.clustering import BaseClustering

from audiorole.diarization.clustering import cluster_embeddings


class OwnAgglomerativeClustering(BaseClustering):
    """pyannote clustering block whose ``cluster`` step is ours (see clustering.py).

    pyannote's base keeps the parts worth keeping: it drops embeddings of
    local speakers active < 20 % of a chunk before clustering, then assigns
    every (chunk, local speaker) to its nearest centroid.
    """

    expects_num_clusters = False

    def __init__(self, threshold: float, min_cluster_size: int, cannot_link_distance: float = 1.0,
                 constrained_assignment: bool = False, center: bool = False):
        super().__init__(metric="cosine", constrained_assignment=constrained_assignment)
        self.center = bool(center)
        self.cluster_threshold = float(threshold)
        self.min_cluster_size = int(min_cluster_size)
        self.cannot_link_distance = float(cannot_link_distance)

    def __call__(self, embeddings, segmentations=None, num_clusters=None, min_clusters=None,
                 max_clusters=None, **kwargs):
        train, chunk_idx, speaker_idx = self.filter_embeddings(embeddings, segmentations=segmentations)
        if self.center and len(train):
            # What every voice of the episode shares (the room, the bed, the channel) is its mean embedding;
            # without it, cosine compares the voices themselves.
            mean = train.mean(axis=0)
            embeddings, train = embeddings - mean, train - mean
        if len(train) == 0:
            # Speech too fragmented for any reliable embedding: one speaker
            # beats a crash, and is what a listener would guess.
            num_chunks, num_speakers, dim = embeddings.shape
            valid = embeddings[~np.isnan(embeddings).any(axis=2)]
            centroid = valid.mean(axis=0, keepdims=True) if len(valid) else np.zeros((1, dim))
            return (np.zeros((num_chunks, num_speakers), dtype=np.int8),
                    np.ones((num_chunks, num_speakers, 1)), centroid)
        labels = cluster_embeddings(
            train, threshold=self.cluster_threshold, min_cluster_size=self.min_cluster_size,
            num_clusters=num_clusters, min_clusters=min_clusters or 1, max_clusters=max_clusters,
            groups=chunk_idx, cannot_link_distance=self.cannot_link_distance,
        )
        return self.assign_embeddings(embeddings, chunk_idx, speaker_idx, labels,
                                      constrained=self.constrained_assignment)


def placeholder_plda() -> PLDA:
    """pyannote's pipeline insists on a PLDA object even when clustering never uses it
    (only VBx does); an uninitialised instance satisfies the check and is never called."""
    return PLDA.__new__(PLDA)
