"""ARP-Eval backends loaded by path (TorchScript speaker model, UTMOS, pyannote) and the MiniLM text embedder."""

from pathlib import Path

import numpy as np
import pytest
import torch

from audiorole.errors import ConfigError
from audiorole.speakers import SpeakerClipError

SR = 16000


class BandEnergy(torch.nn.Module):
    """A stand-in speaker model: log energy in 16 frequency bands, averaged over time (pitch identifies a 'voice')."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave, n_fft=512, hop_length=256, window=torch.hann_window(512), return_complex=True)
        power = spec.abs().pow(2).mean(dim=-1)  # (B, 257)
        bands = power[:, :256].reshape(power.shape[0], 16, 16).sum(-1)
        logs = torch.log(bands + 1e-6)
        return logs - logs.mean(dim=-1, keepdim=True)


class MeanLevelMOS(torch.nn.Module):
    """A stand-in MOS model with one parameter: offset + RMS."""

    def __init__(self):
        super().__init__()
        self.offset = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.offset + wave.pow(2).mean(dim=-1).sqrt() + 0.0 * wave.shape[-1]


def tone(freq, seconds=1.5, phase=0.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


@pytest.fixture
def scripted_speaker(tmp_path):
    path = tmp_path / "band_energy.pt"
    torch.jit.script(BandEnergy()).save(str(path))
    return path


def test_torchscript_speaker_embedder(scripted_speaker, tmp_path):
    from audiorole.eval.backends.speaker_local import TorchScriptSpeakerEmbedder

    emb = TorchScriptSpeakerEmbedder(str(scripted_speaker))
    assert emb.name == "torchscript:band_energy.pt" and emb._model is None  # nothing loaded until used
    v = emb.embed_many([tone(220), tone(220, phase=1.0, seconds=2.0), tone(1800)])
    assert v.shape == (3, 16) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.05  # same 'voice' closer than another
    with pytest.raises(SpeakerClipError, match="shorter than"):
        emb.embed(tone(220, seconds=0.2))
    with pytest.raises(ConfigError, match="not found"):
        TorchScriptSpeakerEmbedder(str(tmp_path / "missing.pt")).embed(tone(220))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a TorchScript file"):
        TorchScriptSpeakerEmbedder(str(junk)).embed(tone(220))


def test_local_speaker_model_drives_ap(scripted_speaker, tmp_path):
    import soundfile as sf

    from audiorole.eval.backends.speaker_local import TorchScriptSpeakerEmbedder
    from audiorole.eval.evaluator import ARPEvaluator
    from audiorole.eval.items import EvalItem, Output

    voices = {"low": 200.0, "high": 1500.0}
    enrollment = {}
    for name, freq in voices.items():
        enrollment[name] = []
        for k in range(2):
            path = tmp_path / f"{name}_{k}.wav"
            sf.write(path, tone(freq * (1 + 0.01 * k), seconds=2.0), SR)
            enrollment[name].append(path)
    ev = ARPEvaluator(speaker_embedder=TorchScriptSpeakerEmbedder(str(scripted_speaker)), metrics=["ap"])
    ev.prepare(enrollment)
    items = [EvalItem(id=str(k), character=c, episode="e", scene="s", turn=k, text="", audio=tmp_path)
             for k, c in enumerate(["low", "high", "low"])]
    # outputs at 8 kHz: the evaluator resamples to the embedder's rate
    outputs = [Output(tone(f, sr=8000), 8000) for f in (205.0, 1490.0, 1500.0)]
    result = ev.score(items, outputs)
    margins = [r["ap_margin"] for r in result.per_item]
    assert margins[0] > 0 and margins[1] > 0 and margins[2] < 0  # the third speaks in the other voice
    assert result.backends["ap"] == "torchscript:band_energy.pt"


def test_utmos_from_torchscript_and_from_state_dict(tmp_path):
    from audiorole.eval.backends.quality_utmos import UTMOSQuality

    scripted = tmp_path / "mos.pt"
    torch.jit.script(MeanLevelMOS()).save(str(scripted))
    q = UTMOSQuality(str(scripted))
    loud, quiet = tone(300) * 2, tone(300) * 0.5
    s = q.score_many([loud, quiet, tone(300, seconds=0.1)], SR)
    assert s[0] > s[1] and np.isnan(s[2])  # too short: not scored
    assert q.score_many([tone(300, sr=8000)], 8000)[0] == pytest.approx(s[0] / 2, rel=0.02)  # resampled, same level
    module = MeanLevelMOS()
    with torch.no_grad():
        module.offset.fill_(3.0)
    state = tmp_path / "mos_state.pt"
    torch.save(module.state_dict(), state)
    fresh = UTMOSQuality(str(state), module=MeanLevelMOS())
    assert fresh.score_many([quiet], SR)[0] == pytest.approx(3.0 + s[1], abs=1e-5)
    with pytest.raises(ConfigError, match="UTMOS weights not found"):
        UTMOSQuality(str(tmp_path / "nope.pt")).score_many([loud], SR)
    with pytest.raises(ConfigError, match="cannot load"):
        UTMOSQuality(str(state)).score_many([loud], SR)  # a state dict is not TorchScript


def test_pyannote_missing_checkpoint_is_one_clear_line(tmp_path):
    from audiorole.eval.backends.speaker_local import PyannoteSpeakerEmbedder

    with pytest.raises(ConfigError, match=r"missing\.bin: speaker embedding checkpoint not found; set eval\.speaker_embedder\.path"):
        PyannoteSpeakerEmbedder(str(tmp_path / "missing.bin")).embed(tone(220))


@pytest.mark.slow
def test_pyannote_embedding_checkpoint_loads_by_path(tmp_path):
    import os

    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC

    from audiorole.eval.backends.speaker_local import PyannoteSpeakerEmbedder

    torch.manual_seed(0)
    model = XVectorMFCC(sample_rate=SR, dimension=32)
    model.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=2.0)
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                  "pytorch-lightning_version": "2.6.0"}
    model.on_save_checkpoint(checkpoint)  # adds pyannote's architecture record, as training would
    path = tmp_path / "tiny_xvector.ckpt"
    torch.save(checkpoint, path)
    emb = PyannoteSpeakerEmbedder(str(path))
    v = emb.embed_many([tone(220), tone(220)])
    assert v.shape == (2, 32) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) == pytest.approx(1.0, abs=1e-5)
    assert emb.name == "pyannote:tiny_xvector.ckpt"


def test_minilm_backends_agree_and_rank_meaning():
    from audiorole.eval.backends.text_minilm import MiniLMEmbedder

    texts = ["Haul in the mooring lines, we sail at dusk.", "Pull the ropes aboard; we leave at sunset.",
             "The archive of the customs house is in a curious state of disrepair."]
    st = MiniLMEmbedder(backend="sentence-transformers").embed(texts)
    tf = MiniLMEmbedder(backend="transformers").embed(texts)
    assert st.shape == (3, 384) and np.abs(st - tf).max() < 1e-5  # same vectors either way
    assert float(st[0] @ st[1]) > float(st[0] @ st[2]) + 0.2  # a paraphrase is closer than an unrelated line
    emb = MiniLMEmbedder()
    assert np.array_equal(emb.embed([texts[0]])[0], emb.embed(texts)[0])  # a text's vector does not depend on its batch


def test_minilm_weights_are_pinned(monkeypatch):
    from audiorole.eval.backends import text_minilm
    from audiorole.utils.weights import WeightsError

    monkeypatch.setattr(text_minilm, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(WeightsError, match="sha256"):
        text_minilm.model_dir()
    assert Path(text_minilm.package_file(text_minilm.PACKAGE, "model", "model.safetensors")).is_file()


def test_embedding_cq_and_centroid_cp(tmp_path):
    from audiorole.errors import AudioroleError
    from audiorole.eval.backends.content_embedding import CentroidCP, EmbeddingCQ
    from audiorole.eval.backends.text_minilm import MiniLMEmbedder
    from audiorole.eval.items import ContextTurn, EvalItem

    emb = MiniLMEmbedder()
    turn = ContextTurn(speaker="otis", text="When do we leave the harbour?", episode="e", start=0, end=1)
    items = [EvalItem(id="a", character="mara", episode="e", scene="s", turn=1, text="We sail at dusk.", audio=tmp_path,
                      context=(turn,)),
             EvalItem(id="b", character="mara", episode="e", scene="s", turn=0, text="Haul in the lines.", audio=tmp_path)]
    cq = EmbeddingCQ(emb, context=True).score_with_context(items, ["We leave the harbour at sunset.", "Sure."])
    assert cq["cq"][0] > 0.5 > cq["cq"][1]
    assert cq["cq_context"][0] > 0.3
    assert EmbeddingCQ.scale == (-1.0, 1.0) and CentroidCP.scale == (-2.0, 2.0)  # empty replies: the evaluator floors
    no_reply = EmbeddingCQ(emb, context=True).score_with_context(items[1:], ["Aye."])
    assert np.isnan(no_reply["cq_context"][0])  # no context turn: nothing to compare with
    cp = CentroidCP(emb)
    with pytest.raises(AudioroleError, match="call evaluator.prepare"):
        cp.score(items, ["x", "y"])
    with pytest.raises(AudioroleError, match="at least two characters"):
        cp.prepare({"mara": ["Go."]})
    cp.prepare({"mara": ["Haul in the lines. Go.", "Secure the hatch. Now."],
                "otis": ["It is not entirely impossible that the archive may, in point of fact, explain it."]})
    terse, verbose = cp.score(items[:1] * 2, ["Cast off. Now.", "One might venture, with some hesitation, that it could."])
    assert terse > 0 > verbose
