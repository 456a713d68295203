"""Diarization backends, RTTM I/O and DER; offline, CPU.

The offline default must stay pretrained and accurate: DER on pyannote's real
two-speaker sample ≤ 25 % and on each demo episode ≤ 10 % (collar 0.25 s total).
"""

import os
from pathlib import Path

import numpy as np
import pytest

from audiorole.diarization.clustering import cluster_embeddings
from audiorole.diarization.der import diarization_error_rate
from audiorole.diarization.errors import DiarizationError
from audiorole.diarization.rttm import read_rttm, write_rttm
from audiorole.utils.weights import package_file

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
SAMPLE_DIR = Path(package_file("pyannote.audio", "sample", "sample.wav")).parent
DEMO = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"
SR = 16000


@pytest.fixture(scope="module")
def offline():
    from audiorole.diarization import OfflineDiarizer

    return OfflineDiarizer()


@pytest.fixture(scope="module")
def sample_wave():
    from audiorole.audio.decode import load_audio

    return load_audio(SAMPLE_DIR / "sample.wav", sample_rate=SR)


def test_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, audiorole.diarization; print(any(m in sys.modules for m in ('torch', 'pyannote.audio')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_offline_default_on_pyannote_sample(offline, sample_wave):
    hyp = offline(sample_wave, SR, "sample")
    ref = read_rttm(SAMPLE_DIR / "sample.rttm")
    assert hyp.uri == "sample" and set(hyp.labels()) == {"SPK_00", "SPK_01"}
    der = diarization_error_rate(ref, hyp, collar=0.25)
    assert der <= 0.25, f"DER {der:.1%}"


def test_offline_resamples_input(offline, sample_wave):
    import soxr

    wave8k = soxr.resample(sample_wave[: 12 * SR], SR, 8000)
    hyp = offline(wave8k, 8000, "sample8k")
    assert hyp.get_timeline().extent().end <= 12.5
    assert len(hyp.labels()) >= 1


@pytest.mark.slow  # ~6 min of audio each: 5-40 s on 2 busy cores
@pytest.mark.parametrize("episode", ["ep01.mp3", "ep02.ogg", "ep03.mp3"])
def test_offline_default_on_demo_episodes(offline, episode):
    from audiorole.diarization import diarize_file

    audio, truth = DEMO / "episodes" / episode, DEMO / "truth" / f"{Path(episode).stem}.rttm"
    if not audio.is_file():
        pytest.skip("demo series not generated")
    hyp = diarize_file(offline, audio)
    ref = read_rttm(truth)
    assert diarization_error_rate(ref, hyp, collar=0.25) <= 0.10
    # Without a collar the boundaries of the demo's overlapped, quickly alternating turns add 3-4 points.
    assert diarization_error_rate(ref, hyp, collar=0.0) <= 0.15
    assert len(hyp.labels()) == len(ref.labels())  # 3 cast voices + the extra


def test_silence_and_sub_second_give_empty_annotation(offline):
    rng = np.random.default_rng(0)
    assert len(offline(np.zeros(0, dtype=np.float32), SR, "empty")) == 0
    assert len(offline(0.1 * rng.standard_normal(SR // 4).astype(np.float32), SR, "tiny")) == 0  # < 0.5 s
    assert len(offline(np.zeros(10 * SR, dtype=np.float32), SR, "silence")) == 0
    quiet = (1e-4 * rng.standard_normal(6 * SR)).astype(np.float32)  # near-silent noise: no speech
    assert len(offline(quiet, SR, "quiet")) == 0


def test_rttm_round_trip(tmp_path):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri="ep01")
    ann[Segment(0.5, 2.25)] = "SPK_00"
    ann[Segment(2.0, 4.125)] = "SPK_01"
    ann[Segment(5.0, 6.0)] = "mara"
    path = write_rttm(ann, tmp_path / "out" / "ep01.rttm")
    lines = path.read_text().splitlines()
    assert lines[0] == "SPEAKER ep01 1 0.500 1.750 <NA> <NA> SPK_00 <NA> <NA>"
    back = read_rttm(path)
    assert back.uri == "ep01" and sorted(back.labels()) == sorted(ann.labels())
    assert diarization_error_rate(ann, back, collar=0.0) == 0.0
    assert [p.name for p in path.parent.iterdir()] == ["ep01.rttm"]  # no temp file left beside it
    with pytest.raises(DiarizationError, match="whitespace"):
        write_rttm(Annotation(uri="has space"), tmp_path / "x.rttm")


def test_read_rttm_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.rttm"
    bad.write_text("hello world\n")
    with pytest.raises(DiarizationError, match=r"bad\.rttm:1"):
        read_rttm(bad)
    with pytest.raises(DiarizationError, match="no such RTTM"):
        read_rttm(tmp_path / "missing.rttm")


def test_der_collar_and_perfect():
    from pyannote.core import Annotation, Segment

    ref, hyp = Annotation(uri="x"), Annotation(uri="x")
    ref[Segment(0, 10)] = "a"
    hyp[Segment(0.1, 10)] = "B"  # label names don't matter, 0.1 s missed at the boundary
    assert diarization_error_rate(ref, hyp, collar=0.0) == pytest.approx(0.01)
    assert diarization_error_rate(ref, hyp, collar=0.25) == 0.0


def _blobs(rng, centres, n, spread=0.05):
    return np.concatenate([c + spread * rng.standard_normal((n, len(c))) for c in centres])


def test_clustering_threshold_bounds_and_tiny_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(16)[:3] + 0.2  # three well-separated voices
    x = _blobs(rng, centres, 20)
    outlier = np.eye(16)[[5]] + 0.2
    labels = cluster_embeddings(np.concatenate([x, outlier]), threshold=0.3, min_cluster_size=3)
    assert len(set(labels)) == 3  # the lone outlier joins a speaker instead of becoming one
    for k in range(3):
        assert len(set(labels[20 * k : 20 * (k + 1)])) == 1
    assert len(set(cluster_embeddings(x, threshold=0.3, num_clusters=2))) == 2
    assert len(set(cluster_embeddings(x, threshold=0.3, max_clusters=1))) == 1
    assert len(set(cluster_embeddings(x, threshold=0.3, max_clusters=2))) == 2
    assert len(set(cluster_embeddings(x, threshold=0.3, min_clusters=4))) == 4
    assert cluster_embeddings(np.zeros((0, 16))).shape == (0,)


def test_clustering_cannot_link_separates_similar_voices():
    rng = np.random.default_rng(1)
    base = np.abs(rng.standard_normal(16))
    a = base + 0.02 * rng.standard_normal((10, 16))
    b = base + 0.08 * np.abs(rng.standard_normal(16)) + 0.02 * rng.standard_normal((10, 16))
    x = np.concatenate([a, b])
    assert len(set(cluster_embeddings(x, threshold=0.15))) == 1  # too close for the threshold alone
    groups = np.concatenate([np.arange(10), np.arange(10)])  # each chunk holds one a and one b
    labels = cluster_embeddings(x, threshold=0.15, groups=groups, cannot_link_distance=2.0)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]


@pytest.mark.parametrize("center", [False, True])
def test_centring_separates_voices_that_share_a_room(center):
    """Two voices plus one large component they share (a room, a music bed): raw cosine sees one
    speaker at the default threshold; centred on the episode's mean, two."""
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from audiorole.diarization.pyannote_blocks import OwnAgglomerativeClustering

    rng = np.random.default_rng(0)
    room, voice = 3.0 * rng.standard_normal(32), rng.standard_normal(32)
    chunks = 30
    embeddings = np.stack([np.stack([room + voice, room - voice]) for _ in range(chunks)])
    embeddings = embeddings + 0.1 * rng.standard_normal(embeddings.shape)  # (chunks, 2 local speakers, dim)
    activity = np.zeros((chunks, 294, 2))
    activity[:, :147, 0] = activity[:, 147:, 1] = 1  # they take turns in each chunk
    segmentations = SlidingWindowFeature(activity, SlidingWindow(start=0.0, duration=5.0, step=2.5))
    clustering = OwnAgglomerativeClustering(threshold=0.8, min_cluster_size=3, center=center)
    hard, _, _ = clustering(embeddings, segmentations=segmentations)
    if center:
        assert len(set(hard[:, 0])) == 1 and len(set(hard[:, 1])) == 1 and hard[0, 0] != hard[0, 1]
    else:
        assert len(np.unique(hard)) == 1


# --- pretrained backend -----------------------------------------------------


def _tiny_embedding_checkpoint(path: Path) -> Path:
    """A randomly initialised pyannote x-vector model saved as a local checkpoint (loading test only)."""
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC

    model = XVectorMFCC(sample_rate=SR, dimension=32)
    model.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=2.0)
    ckpt = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning.__version__}
    model.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path


def _identity_plda(folder: Path, dim: int, lda_dim: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "xvec_transform.npz", mean1=np.zeros(dim), mean2=np.zeros(lda_dim), lda=np.eye(dim)[:, :lda_dim])
    np.savez(folder / "plda.npz", mu=np.zeros(lda_dim), tr=np.eye(lda_dim), psi=np.ones(lda_dim))
    return folder


def test_pretrained_loads_local_pipeline_dir(tmp_path, sample_wave):
    import yaml

    from audiorole.diarization import PretrainedDiarizer

    # docs/design.md §5: pyannote routes embeddings on "wespeaker"/"speechbrain"/"nvidia"
    # substrings, so the local names avoid them.
    pipe_dir = tmp_path / "pipe"
    pipe_dir.mkdir()
    emb = _tiny_embedding_checkpoint(pipe_dir / "xvector.ckpt")
    plda = _identity_plda(pipe_dir / "plda", dim=32, lda_dim=16)
    config = {
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization", "params": {
            "segmentation": str(package_file("whisperx", "assets", "pytorch_model.bin")),
            "embedding": str(emb), "plda": str(plda), "clustering": "AgglomerativeClustering",
            "segmentation_step": 0.5, "embedding_batch_size": 8}},
        "params": {"segmentation": {"threshold": 0.5, "min_duration_off": 0.0},
                   "clustering": {"method": "average", "threshold": 0.7, "min_cluster_size": 2}},
    }
    (pipe_dir / "config.yaml").write_text(yaml.safe_dump(config))
    backend = PretrainedDiarizer(source=str(pipe_dir), token_env="AUDIOROLE_TEST_NO_SUCH_TOKEN")
    assert backend.name == f"pyannote:{pipe_dir}"
    hyp = backend(sample_wave[: 10 * SR], SR, "sample")
    assert hyp.uri == "sample" and len(hyp) > 0
    assert all(label.startswith("SPK_") for label in hyp.labels())


def test_pretrained_errors_name_the_fix(tmp_path, monkeypatch):
    from audiorole.diarization import PretrainedDiarizer

    monkeypatch.delenv("AUDIOROLE_TEST_TOKEN", raising=False)
    with pytest.raises(DiarizationError, match="set the AUDIOROLE_TEST_TOKEN environment variable") as err:
        PretrainedDiarizer("pyannote/speaker-diarization-3.1", token_env="AUDIOROLE_TEST_TOKEN").pipeline
    assert "\n" not in str(err.value)
    with pytest.raises(DiarizationError, match="pipeline directory not found"):
        PretrainedDiarizer(str(tmp_path / "nope")).pipeline
    with pytest.raises(DiarizationError, match="no config.yaml"):
        PretrainedDiarizer(str(tmp_path)).pipeline


def test_pretrained_hub_failure_never_leaks_token(monkeypatch):
    from audiorole.diarization import PretrainedDiarizer

    secret = "hf_supersecret_value_123"
    monkeypatch.setenv("AUDIOROLE_TEST_TOKEN", secret)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DiarizationError) as err:
        PretrainedDiarizer("pyannote/speaker-diarization-3.1", token_env="AUDIOROLE_TEST_TOKEN").pipeline
    assert secret not in str(err.value)


def test_a_cluster_far_below_the_dialogue_is_background():
    from pyannote.core import Annotation, Segment

    from audiorole.diarization.offline import LEVEL_HOP, drop_background_clusters

    levels = np.full(int(60 / LEVEL_HOP), -25.0, dtype=np.float32)
    levels[int(40 / LEVEL_HOP):int(50 / LEVEL_HOP)] = -38.0  # a crowd, 13 dB under the dialogue
    levels[int(20 / LEVEL_HOP):int(21 / LEVEL_HOP)] = -45.0  # one quiet second of a cast voice
    a = Annotation(uri="ep")
    for start, end, label in [(0, 20, "A"), (20, 30, "B"), (30, 40, "A"), (40, 50, "C")]:
        a[Segment(start, end)] = label
    assert set(drop_background_clusters(a, levels, gap_db=8.0).labels()) == {"A", "B"}
    assert set(drop_background_clusters(a, levels, gap_db=15.0).labels()) == {"A", "B", "C"}


def test_two_local_speakers_in_one_cluster_count_as_one_voice():
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from audiorole.diarization.offline import cluster_count

    frames = SlidingWindow(start=0.0, duration=0.5, step=0.5)
    chunks = SlidingWindow(start=0.0, duration=5.0, step=5.0)  # two chunks side by side, 10 frames each
    binarized = np.zeros((2, 10, 3), dtype=np.float32)
    binarized[:, :, 0] = binarized[:, :, 1] = 1.0  # two local speakers at once in both chunks
    binarized = SlidingWindowFeature(binarized, chunks)
    count = SlidingWindowFeature(np.full((20, 1), 2, dtype=np.int8), frames)
    # chunk 0: clustering put both in cluster 0 (one voice the segmentation doubled); chunk 1: two voices
    hard = np.array([[0, 0, -2], [0, 1, -2]])
    fixed = cluster_count(binarized, hard, count, frames).data[:, 0]
    assert list(fixed[:10]) == [1] * 10 and list(fixed[10:]) == [2] * 10
    # never above the segmentation's own count
    one = SlidingWindowFeature(np.ones((20, 1), dtype=np.int8), frames)
    assert cluster_count(binarized, hard, one, frames).data.max() == 1
