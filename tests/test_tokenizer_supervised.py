"""The supervised offline tokenizer: packing clips into shared windows, the numpy quantiser equal to the
torch one it was trained as, the artifact, and a CTC training run that learns (synthetic frames)."""

import json

import numpy as np
import pytest
import torch

from audiorole.tokenizers.base import SpeechTokenizer, TokenizerError
from audiorole.tokenizers.characters import ALPHABET, greedy_text, labels, normalise
from audiorole.tokenizers.packing import encode_packed, pack
from audiorole.tokenizers.supervised import ARRAYS, SupervisedTokenizer
from audiorole.tokenizers.supervised_model import SupervisedVQ
from audiorole.tokenizers.vq import VectorQuantizer, usage
from test_base_decoder import corpus  # noqa: F401  (a corpus folder in base_corpus's layout)


class LocalTokenizer(SpeechTokenizer):
    """Codes from each frame's own samples only, so packing cannot change them."""

    name = "local"
    codebook_size = 64
    fingerprint = "local"
    window_seconds = 2.0

    def __init__(self):
        self.windows = 0

    def _encode_windows(self, windows):
        self.windows += len(windows)
        out = []
        for w in windows:
            n = -(-len(w) // 1280)
            frames = np.pad(w, (0, n * 1280 - len(w))).reshape(n, 1280)
            out.append((np.abs(frames).sum(axis=1) * 7).astype(np.int64) % 64)
        return out


def test_pack_places_each_clip_on_whole_frames():
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (3000, 1280, 0, 40000, 500, 20000)]
    windows, places = pack(waves, 32000, 1280)
    assert all(len(w) <= 32000 and len(w) % 1280 == 0 for w in windows)
    for wave, where in zip(waves, places):
        assert sum(p.count for p in where) == -(-len(wave) // 1280)
    assert len(places[3]) == 2  # 40,000 samples: a whole window, then the rest
    assert places[4][0].window == places[3][1].window  # the next clip shares the rest's window


def test_packed_codes_equal_solo_codes_for_a_local_tokenizer():
    rng = np.random.default_rng(1)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (3000, 7000, 50000, 900, 16000)]
    tok = LocalTokenizer()
    solo = tok.encode_many(waves)
    solo_windows, tok.windows = tok.windows, 0
    packed = encode_packed(tok, waves)
    assert all(np.array_equal(a, b) for a, b in zip(solo, packed))
    assert tok.windows < solo_windows


def test_characters_round_trip():
    assert normalise("It's 42 o'clock, Mr. Smith!") == "it's forty two o'clock mr smith"
    ids = labels("Hello world")
    assert min(ids) >= 1 and len(ids) == len("hello world")
    path = [0, ids[0], ids[0], 0, *ids[1:3], 0, 0] + [x for i in ids[3:] for x in (i, 0)]
    assert greedy_text(path) == "hello world"
    assert set(ALPHABET) >= set(normalise("Ünïcode — dashes/slashes"))


def test_vq_initialises_from_kmeans_and_restarts_dead_codes():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 4, decay=0.5)
    centres = torch.randn(8, 4) * 5
    data = centres.repeat_interleave(50, 0) + 0.01 * torch.randn(400, 4)
    vq.init(data, generator=torch.Generator().manual_seed(0))
    vq.eval()
    _, index, commitment = vq(data)
    assert usage(index, 8)[0] == 8 and float(commitment) < 1e-3
    vq.train()
    for _ in range(20):  # only half the clusters are seen: the others die and restart on seen frames
        vq(data[:200])
    assert set(vq(data[:200])[1].tolist()) <= set(range(8))
    assert torch.cdist(vq.codebook, data[:200]).min(dim=1).values.max() < 1.0


def _tokenizer(codebook_size=16, seed=0):
    torch.manual_seed(seed)
    model = SupervisedVQ(codebook_size, input_size=384, hidden_size=32, code_size=8, head_size=16, head_layers=1)
    model.quantizer.vq.init(torch.randn(200, 8), generator=torch.Generator().manual_seed(seed))
    state = model.quantizer.state_dict()
    return model, {k: state[k].numpy() for k in ARRAYS}


class FakeEncoder:
    weights_sha256 = "f" * 64

    def window_frames(self, windows, batch_size=1):
        return [np.random.default_rng(len(w)).standard_normal((4 * -(-len(w) // 1280), 384)).astype(np.float32)
                for w in windows]


def test_numpy_quantiser_equals_the_torch_one():
    model, arrays = _tokenizer()
    tok = SupervisedTokenizer(arrays, encoder=FakeEncoder())
    frames = np.random.default_rng(3).standard_normal((4 * 37, 384)).astype(np.float32)
    with torch.no_grad():
        _, codes, _ = model(torch.from_numpy(frames)[None], torch.tensor([37]))
    assert np.array_equal(tok.codes_from_frames(frames), codes[0].numpy())
    assert len(tok.encode(np.zeros(16000, np.float32))) == 13


def test_artifact_round_trip_and_tamper_check(tmp_path):
    _, arrays = _tokenizer()
    tok = SupervisedTokenizer(arrays, {"corpora": ["x"]}, encoder=FakeEncoder())
    tok.save(tmp_path / "tok")
    from unittest import mock

    with mock.patch("audiorole.tokenizers.supervised.WhisperEncoder", lambda **_: FakeEncoder()):
        loaded = SupervisedTokenizer.load(tmp_path / "tok")
        assert loaded.fingerprint == tok.fingerprint and loaded.codebook_size == 16
        config = json.loads((tmp_path / "tok" / "config.json").read_text())
        config["fingerprint"] = "0" * 64
        (tmp_path / "tok" / "config.json").write_text(json.dumps(config))
        with pytest.raises(TokenizerError, match="fingerprint"):
            SupervisedTokenizer.load(tmp_path / "tok")
    assert SupervisedTokenizer(_tokenizer(seed=1)[1], encoder=FakeEncoder()).fingerprint != tok.fingerprint


def test_ctc_training_moves_the_loss_through_the_quantiser():
    """Frames are a noisy fixed vector per character: after a warm-up epoch the codebook starts from
    k-means, and the CTC loss keeps falling through the straight-through codes (the gradient reaches
    the quantiser). That it learns real speech is measured by the token bound (bench/token_bound.py)."""
    from audiorole.tokenizers.ctc_training import train_ctc

    rng = np.random.default_rng(0)
    table = {c: rng.standard_normal(16).astype(np.float32) for c in ALPHABET}
    words = ["cat", "dog", "bird", "fish", "cow", "hen", "owl", "pig"]
    texts, frames = {}, {}
    for i in range(48):
        text = " ".join(rng.choice(words, 3))
        texts[f"u{i}"] = text
        per_char = np.stack([table[c] for c in text]) + 0.1 * rng.standard_normal((len(text), 16)).astype(np.float32)
        frames[f"u{i}"] = np.repeat(per_char, 8, axis=0)
    torch.manual_seed(0)
    model = SupervisedVQ(32, input_size=16, hidden_size=16, code_size=8, head_size=16, head_layers=1)
    state = {"on": False}

    def forward(ids, training):
        lengths = torch.tensor([len(frames[k]) // 4 for k in ids])
        x = torch.zeros(len(ids), int(lengths.max()) * 4, 16)
        for j, k in enumerate(ids):
            x[j, : len(frames[k])] = torch.from_numpy(frames[k])
        log_probs, _, commitment = model(x, lengths, quantise=state["on"])
        return log_probs, lengths, commitment, model.head.upsample

    def on_epoch(epoch):
        if epoch == 1:
            z = torch.cat([model.quantizer.continuous(torch.from_numpy(frames[k])[None])[0] for k in texts])
            model.quantizer.vq.init(z, generator=torch.Generator().manual_seed(0))
            state["on"] = True

    ids = sorted(texts)
    lengths = {k: len(frames[k]) // 4 for k in ids}
    before = model.quantizer.proj.weight.detach().clone()
    _, history = train_ctc(model, forward, texts, lengths, ids[:40], ids[40:], epochs=8, lr=1e-2,
                           max_frames=300, on_epoch=on_epoch, select_from=1, validate_every=8)
    assert history[-1]["loss"] < 0.8 * history[1]["loss"], history
    assert not torch.equal(before, model.quantizer.proj.weight)
    with torch.no_grad():
        codes = torch.cat([model(torch.from_numpy(frames[k])[None], torch.tensor([lengths[k]]))[1][0] for k in ids])
    assert usage(codes, 32)[0] >= 4  # not collapsed onto one code


@pytest.mark.slow  # trains a tokenizer through the CLI (~4 s); runs with the slow tests in CI
def test_cli_trains_a_tokenizer_folder_from_a_corpus(corpus, tmp_path):
    """``python -m audiorole.tokenizers.train_supervised`` on a corpus folder (noise clips: the run, not
    its quality, is tested) writes a folder ``tokenizer=folder`` loads, with what it measured."""
    from audiorole.audio.decode import load_audio
    from audiorole.tokenizers.artifact import load_tokenizer_dir
    from audiorole.tokenizers.train_supervised import main

    out = tmp_path / "tok"
    main(["--corpus", str(corpus), "--out", str(out), "--codebook-size", "16", "--epochs", "3", "--warmup", "1"])
    tok = load_tokenizer_dir(out)
    assert tok.codebook_size == 16 and tok.packs_clips
    record = json.loads((out / "config.json").read_text())["trained_on"]
    assert record["clips"]["train"] == 12 and {"dev", "test"} <= set(record["head_scores"])
    assert record["code_usage"]["train"]["used"] >= 2
    wave = load_audio(next((corpus / "clips").rglob("*.flac")), 16000)
    codes = tok.encode(wave, 16000)
    assert len(codes) == -(-len(wave) * 25 // 32000) and codes.max() < 16  # ceil(seconds * 12.5)
