"""Offline default diarizer: pyannote's pipeline built only from weights shipped in wheels.

- Segmentation: the pretrained pyannote segmentation checkpoint inside whisperx
  (5 s windows, up to 3 local speakers, multilabel). It gives speech activity,
  the per-frame speaker count and *overlap*, which a VAD→windows design cannot
  model (docs/design.md §9 measured a ~4 % missed-speech floor from that).
- Embeddings: Resemblyzer (256-d), fed the masked speech of each local speaker
  of each chunk through ``ResemblyzerPyannoteEmbedding``.
- Clustering: ours (``clustering.py``), because pyannote's own clustering is the
  part that broke on noisy audio here, on embeddings centred on the episode's
  mean: a room and a music bed add the same component to every voice's
  embedding, which drew two similar voices into one cluster under reverb.
pyannote then stitches the clustered chunks back into a timeline (its
``reconstruct``/``to_annotation``), keeping overlaps the segmentation saw.
"""

import logging
import os
from dataclasses import dataclass

import numpy as np

from audiorole.diarization.labels import drop_short_turns, relabel_by_first_turn
from audiorole.utils.weights import package_file, verified

log = logging.getLogger(__name__)

SEGMENTATION_SHA256 = "0b5b3216d60a2d32fc086b47ea8c67589aaeb26b7e07fcbe620d6d0b83e209ea"  # whisperx 3.8.6 assets/pytorch_model.bin
SAMPLE_RATE = 16000


class OfflineDiarizer:
    """``diarizer(waveform, sample_rate, uri) -> Annotation`` with labels ``SPK_00…``.

    Inputs shorter than ``min_input_seconds`` or without speech give an empty
    annotation (not an error): a silent or tiny episode simply has no turns.
    """

    name = "offline-pyannote-seg+resemblyzer+ahc"

    def __init__(
        self,
        hop: float = 2.5,  # seconds between 5 s segmentation windows (the window is the model's); 50 % overlap
        onset: float = 0.5,  # segmentation activity threshold
        min_duration_off: float = 0.5,  # bridge same-speaker pauses shorter than this (one turn, as annotators do)
        threshold: float = 0.8,  # cosine distance (of centred embeddings) where average linkage stops merging
        center: bool = True,  # subtract the episode's mean embedding first (docs/robustness.md)
        min_cluster_size: int = 3,  # chunk embeddings a cluster needs to count as a speaker
        cannot_link_distance: float = 2.0,  # distance imposed on two speakers of one chunk
        constrained_assignment: bool = False,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        min_segment_duration: float = 0.0,  # drop output turns shorter than this
        background_gap_db: float | None = None,  # drop a cluster whose median level sits this far below the dialogue's
        min_input_seconds: float = 0.5,
        embedding_batch_size: int = 32,
        device: str = "cpu",
        feature_cache: str | None = None,  # folder keeping each input's segmentation and embeddings (sweeps)
        embedding_enhancer=None,  # ``enhancer(wave, sr) -> wave``: embed speakers from the enhanced input
        count_clusters: bool = False,  # two local speakers of one chunk in one cluster count as one voice
    ):
        self.hop = float(hop)
        self.onset = float(onset)
        self.min_duration_off = float(min_duration_off)
        self.threshold = float(threshold)
        self.center = bool(center)
        self.min_cluster_size = int(min_cluster_size)
        self.cannot_link_distance = float(cannot_link_distance)
        self.constrained_assignment = bool(constrained_assignment)
        self.num_speakers = num_speakers
        self.min_speakers = min_speakers
        self.max_speakers = max_speakers
        self.min_segment_duration = float(min_segment_duration)
        self.background_gap_db = None if background_gap_db is None else float(background_gap_db)
        self.min_input_seconds = float(min_input_seconds)
        self.embedding_batch_size = int(embedding_batch_size)
        self.device = str(device)
        self.feature_cache = feature_cache
        self.embedding_enhancer = embedding_enhancer
        self.count_clusters = bool(count_clusters)
        self._pipeline = None

    @property
    def pipeline(self):
        if self._pipeline is None:
            self._pipeline = self._build()
        return self._pipeline

    def _build(self):
        os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from pyannote.audio import Audio, Model
        from pyannote.audio.pipelines import SpeakerDiarization

        from audiorole.diarization.pyannote_blocks import placeholder_plda
        from audiorole.diarization.resemblyzer_adapter import ResemblyzerPyannoteEmbedding

        path = verified(package_file("whisperx", "assets", "pytorch_model.bin"), SEGMENTATION_SHA256, "whisperx")
        # The checkpoint predates Lightning 2; its upgrade notice is noise here.
        logging.getLogger("lightning.pytorch.utilities.migration.utils").setLevel(logging.ERROR)
        segmentation = Model.from_pretrained(str(path))
        window = segmentation.specifications.duration
        # "OracleClustering" makes the constructor skip loading a hub embedder;
        # the embedder and clustering blocks are then swapped for ours.
        pipeline = SpeakerDiarization(
            segmentation=segmentation,
            segmentation_step=min(1.0, self.hop / window),
            embedding="resemblyzer",
            plda=placeholder_plda(),
            clustering="OracleClustering",
            embedding_batch_size=self.embedding_batch_size,
            segmentation_batch_size=16,
        )
        pipeline._embedding = ResemblyzerPyannoteEmbedding(device=self.device)
        pipeline._audio = Audio(sample_rate=SAMPLE_RATE, mono="downmix")
        # Clustering is ours and runs in ``assemble``; the pipeline keeps the placeholder it was built with.
        pipeline._expects_num_speakers = False
        pipeline.instantiate({"segmentation": {"threshold": self.onset, "min_duration_off": self.min_duration_off}})
        pipeline.to(torch.device(self.device))
        return pipeline

    def clustering_block(self):
        from audiorole.diarization.pyannote_blocks import OwnAgglomerativeClustering

        return OwnAgglomerativeClustering(
            threshold=self.threshold, min_cluster_size=self.min_cluster_size,
            cannot_link_distance=self.cannot_link_distance,
            constrained_assignment=self.constrained_assignment, center=self.center,
        )

    def __call__(self, waveform: np.ndarray, sample_rate: int, uri: str):
        return self.assemble(self.features(waveform, sample_rate), uri)

    def features(self, waveform: np.ndarray, sample_rate: int) -> "Features | None":
        """The heavy part, computed once per episode: segmentation and chunk embeddings
        (``None`` when the input is too short or silent). Everything after it
        (``assemble``) is cheap, so clustering settings can be compared on cached features."""
        wave = np.asarray(waveform, dtype=np.float32)
        if wave.ndim == 2:  # (channels, samples) → mono
            wave = wave.mean(axis=0)
        if sample_rate != SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, sample_rate, SAMPLE_RATE).astype(np.float32)
        if wave.size < self.min_input_seconds * SAMPLE_RATE or not np.any(wave):
            return None
        if self.feature_cache is None:
            return self._features(wave)
        import hashlib
        import pickle
        from pathlib import Path

        from audiorole.utils.atomic import atomic_path

        enhancer = getattr(self.embedding_enhancer, "name", type(self.embedding_enhancer).__name__)
        settings = (self.onset, self.hop, SEGMENTATION_SHA256, FEATURES_VERSION) + ((enhancer,) if self.embedding_enhancer else ())
        key = hashlib.sha256(wave.tobytes() + repr(settings).encode()).hexdigest()[:24]
        path = Path(self.feature_cache) / f"{key}.pkl"
        if path.is_file():
            return pickle.loads(path.read_bytes())
        features = self._features(wave)
        with atomic_path(path) as tmp:
            tmp.write_bytes(pickle.dumps(features))
        return features

    def _features(self, wave: np.ndarray) -> "Features | None":
        import torch
        from pyannote.audio.utils.signal import binarize

        pipeline = self.pipeline
        file = {"waveform": torch.from_numpy(wave)[None], "sample_rate": SAMPLE_RATE, "uri": "features"}
        # The steps of pyannote's SpeakerDiarization.apply, split where its output is worth keeping.
        segmentations = pipeline.get_segmentations(file)
        binarized = binarize(segmentations, onset=self.onset, initial_state=False)
        count = pipeline.speaker_count(binarized, pipeline._segmentation.model.receptive_field, warm_up=(0.0, 0.0))
        if np.nanmax(count.data) == 0.0:
            return None
        if self.embedding_enhancer is not None:
            # Who speaks is found in the original; what each voice sounds like, without the noise around it.
            clean = np.asarray(self.embedding_enhancer(wave, SAMPLE_RATE), dtype=np.float32)
            file = {**file, "waveform": torch.from_numpy(clean)[None]}
        embeddings = pipeline.get_embeddings(file, binarized, exclude_overlap=pipeline.embedding_exclude_overlap)
        return Features(segmentations, binarized, count, embeddings, frame_levels(wave))

    def assemble(self, features: "Features | None", uri: str):
        """Cluster the chunk embeddings and stitch the chunks into an annotation (labels ``SPK_00…``)."""
        from pyannote.audio.pipelines.utils.diarization import set_num_speakers
        from pyannote.core import Annotation

        if features is None:
            return Annotation(uri=uri)
        pipeline = self.pipeline
        num_speakers, min_speakers, max_speakers = set_num_speakers(
            num_speakers=self.num_speakers, min_speakers=self.min_speakers, max_speakers=self.max_speakers)
        hard_clusters, _, _ = self.clustering_block()(
            embeddings=features.embeddings, segmentations=features.binarized, num_clusters=num_speakers,
            min_clusters=min_speakers, max_clusters=max_speakers)
        count = type(features.count)(np.minimum(features.count.data, max_speakers).astype(np.int8),
                                     features.count.sliding_window)
        hard_clusters = hard_clusters.copy()
        hard_clusters[np.sum(features.binarized.data, axis=1) == 0] = -2  # inactive local speakers
        if self.count_clusters:
            count = cluster_count(features.binarized, hard_clusters, count, pipeline._segmentation.model.receptive_field)
        discrete = pipeline.reconstruct(features.segmentations, hard_clusters, count)
        annotation = pipeline.to_annotation(discrete, min_duration_on=0.0, min_duration_off=self.min_duration_off)
        annotation = drop_short_turns(annotation, self.min_segment_duration)
        if self.background_gap_db is not None:
            annotation = drop_background_clusters(annotation, features.level_db, self.background_gap_db)
        annotation.uri = uri
        return relabel_by_first_turn(annotation)


def cluster_count(binarized, hard_clusters: np.ndarray, count, frames):
    """The instantaneous speaker count with each cluster counted once per chunk, never above ``count``.

    In noise the segmentation sometimes gives one voice two local speakers of a chunk at once; pyannote's
    count then says two people talk, and the reconstruction hands the second place to whichever other
    cluster scores next, so the voice's turn is marked overlapped by a voice that is not there. When
    the clustering puts both local speakers in one cluster, they are one voice and count once."""
    from pyannote.audio.pipelines.utils.diarization import SpeakerDiarizationMixin
    from pyannote.core import SlidingWindowFeature

    chunks, num_frames, _ = binarized.data.shape
    distinct = np.zeros((chunks, num_frames, 1), dtype=np.float32)
    for c in range(chunks):
        for k in np.unique(hard_clusters[c]):
            if k >= 0:
                distinct[c, :, 0] += np.max(binarized.data[c][:, hard_clusters[c] == k], axis=1)
    per_cluster = SpeakerDiarizationMixin.speaker_count(SlidingWindowFeature(distinct, binarized.sliding_window),
                                                        frames, warm_up=(0.0, 0.0))
    n = min(len(per_cluster.data), len(count.data))
    data = count.data.copy()
    data[:n] = np.minimum(data[:n], per_cluster.data[:n])
    return type(count)(data.astype(np.int8), count.sliding_window)


LEVEL_HOP = 0.1  # seconds per frame of ``frame_levels``
FEATURES_VERSION = 2  # bump when Features changes: cached features of older versions are recomputed


def frame_levels(wave: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of every ``LEVEL_HOP`` frame of a 16 kHz signal."""
    hop = int(LEVEL_HOP * SAMPLE_RATE)
    n = len(wave) // hop
    frames = wave[: n * hop].astype(np.float64).reshape(n, hop)
    return (10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)).astype(np.float32)


def drop_background_clusters(annotation, level_db: np.ndarray, gap_db: float):
    """Without the clusters whose median level lies ``gap_db`` or more below the median level of all
    labelled speech: a crowd under the dialogue is speech to the segmentation, but quieter than the
    people in the scene, and it gathers in a cluster of its own (docs/robustness.md). Judged per
    cluster over the whole input, never per segment (single quiet lines are common)."""
    levels: dict = {}
    for segment, _, label in annotation.itertracks(yield_label=True):
        a, b = int(segment.start / LEVEL_HOP), int(np.ceil(segment.end / LEVEL_HOP))
        levels.setdefault(label, []).append(level_db[a:b])
    per_label = {k: np.concatenate(v) for k, v in levels.items() if sum(map(len, v))}
    if len(per_label) < 2:
        return annotation
    dialogue = float(np.median(np.concatenate(list(per_label.values()))))
    background = [k for k, v in per_label.items() if float(np.median(v)) <= dialogue - gap_db]
    return annotation.subset(background, invert=True) if background else annotation


@dataclass
class Features:
    """What segmentation and embedding give for one episode (pyannote ``SlidingWindowFeature``s and an array)."""

    segmentations: object  # (chunks, frames, local speakers) activations
    binarized: object  # the same, thresholded at the onset
    count: object  # (frames, 1) instantaneous speaker count
    embeddings: np.ndarray  # (chunks, local speakers, dimension); NaN where a local speaker is too brief
    level_db: np.ndarray  # (frames,) input level every LEVEL_HOP seconds
