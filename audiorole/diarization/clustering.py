"""Speaker clustering of chunk embeddings: average-linkage AHC on cosine distance.

Why this and not pyannote's own clustering (docs/design.md §9): on noisy episodes its
clustering let small noise clusters chain real speakers together although the
chunk embeddings still separated them. Average linkage compares whole
clusters, so one stray embedding cannot bridge two voices (complete linkage
failed at 8 dB, single linkage chains by construction). Clusters too small to
be a speaker are not allowed to become one: their members join the nearest
large cluster. When the speaker count is known (or bounded), the dendrogram
is cut at the number of clusters that yields that many *large* clusters, so
outliers take their own tiny clusters instead of consuming a speaker slot.

Cannot-link evidence: two local speakers that pyannote's segmentation found
in the same 5 s chunk are almost surely different people, so their pairwise
distance is raised to ``cannot_link_distance`` before linkage. With average
linkage this is a soft constraint: it pushes apart clusters holding many such
pairs (two similar-sounding voices that do talk to each other) without
forbidding a merge outright when the segmentation split one voice by mistake.
"""

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _large(labels: np.ndarray, min_size: int) -> np.ndarray:
    ids, counts = np.unique(labels, return_counts=True)
    return ids[counts >= min_size]


def cluster_embeddings(
    embeddings: np.ndarray,
    threshold: float = 0.3,
    min_cluster_size: int = 3,
    num_clusters: int | None = None,
    min_clusters: int = 1,
    max_clusters: int | None = None,
    groups: np.ndarray | None = None,
    cannot_link_distance: float = 1.0,
) -> np.ndarray:
    """0-based cluster ids for ``embeddings`` (N, D).

    ``threshold`` is the cosine distance at which average linkage stops
    merging; ``min_cluster_size`` the fewest members a speaker cluster needs
    (capped for small N); ``num_clusters`` overrides the min/max bounds;
    ``groups`` (e.g. chunk index per embedding) marks embeddings that must be
    different speakers when they share a value.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    x = _unit(np.asarray(embeddings, dtype=np.float64))
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    if num_clusters is not None:
        min_clusters = max_clusters = num_clusters
    lo = max(1, min(min_clusters or 1, n))
    hi = max(lo, min(max_clusters or n, n))
    if n == 1 or hi == 1:
        return np.zeros(n, dtype=int)
    # A speaker must own a few embeddings; never demand more than a tenth of
    # them, so short inputs can still have several speakers.
    min_size = max(1, min(min_cluster_size, n // 5))

    dist = np.clip(squareform(pdist(x, metric="cosine"), checks=False), 0.0, 2.0)
    if groups is not None:
        groups = np.asarray(groups)
        same = groups[:, None] == groups[None, :]
        np.fill_diagonal(same, False)
        dist[same] = np.maximum(dist[same], cannot_link_distance)
    tree = linkage(squareform(dist, checks=False), method="average")
    labels = fcluster(tree, threshold, criterion="distance")
    large = _large(labels, min_size)
    if not lo <= len(large) <= hi:
        # Take the cut nearest the threshold's whose number of large clusters
        # fits the bounds (fewer merges if it under-split, more if it over-split).
        current = len(np.unique(labels))
        for k in sorted(range(1, n + 1), key=lambda k: (abs(k - current), k)):
            cut = fcluster(tree, k, criterion="maxclust")
            big = _large(cut, min_size)
            if lo <= len(big) <= hi:
                labels, large = cut, big
                break
    if len(large) == 0:
        return np.zeros(n, dtype=int)

    # Small clusters' members go to the most similar large-cluster centroid.
    centroids = _unit(np.stack([x[labels == k].mean(axis=0) for k in large]))
    keep = np.isin(labels, large)
    out = np.empty(n, dtype=int)
    remap = {k: i for i, k in enumerate(large)}
    out[keep] = [remap[k] for k in labels[keep]]
    if (~keep).any():
        out[~keep] = np.argmax(x[~keep] @ centroids.T, axis=1)
    return out
