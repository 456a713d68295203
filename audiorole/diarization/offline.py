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
        min_input_seconds: float = 0.5,
        embedding_batch_size: int = 32,
        device: str = "cpu",
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
        self.min_input_seconds = float(min_input_seconds)
        self.embedding_batch_size = int(embedding_batch_size)
        self.device = str(device)
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

        from audiorole.diarization.pyannote_blocks import OwnAgglomerativeClustering, placeholder_plda
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
        pipeline.klustering = "OwnAgglomerativeClustering"
        pipeline.clustering = OwnAgglomerativeClustering(
            threshold=self.threshold, min_cluster_size=self.min_cluster_size,
            cannot_link_distance=self.cannot_link_distance,
            constrained_assignment=self.constrained_assignment, center=self.center,
        )
        pipeline._expects_num_speakers = False
        pipeline.instantiate({"segmentation": {"threshold": self.onset, "min_duration_off": self.min_duration_off}})
        pipeline.to(torch.device(self.device))
        return pipeline

    def __call__(self, waveform: np.ndarray, sample_rate: int, uri: str):
        from pyannote.core import Annotation

        wave = np.asarray(waveform, dtype=np.float32)
        if wave.ndim == 2:  # (channels, samples) → mono
            wave = wave.mean(axis=0)
        if sample_rate != SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, sample_rate, SAMPLE_RATE).astype(np.float32)
        if wave.size < self.min_input_seconds * SAMPLE_RATE or not np.any(wave):
            return Annotation(uri=uri)
        import torch

        file = {"waveform": torch.from_numpy(wave)[None], "sample_rate": SAMPLE_RATE, "uri": uri}
        output = self.pipeline(file, num_speakers=self.num_speakers, min_speakers=self.min_speakers,
                               max_speakers=self.max_speakers)
        annotation = getattr(output, "speaker_diarization", output)
        annotation = drop_short_turns(annotation, self.min_segment_duration)
        annotation.uri = uri
        return relabel_by_first_turn(annotation)
