"""Blockwise streaming synthesis (GLM-4-Voice's flow_inference.py way): timeline, parity with the authors' code.

``fixtures/glm4voice_streaming`` holds the audio the authors' ``AudioDecoder``
produced block by block (made by ``make.py`` there) with the ``LookupFlow``
stand-in and their tiny HiFT from ``fixtures/glm4voice_hift``.
"""

from pathlib import Path

import pytest
import torch

from audiorole.models.streaming import Token2Wav
from audiorole.models.vocoder import Vocoder
from streaming_standins import HOP, LookupFlow, SeededVocoder

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.usefixtures("one_thread")


class FrameVocoder(torch.nn.Module):
    """Each mel frame -> its own 256 samples: no context, so seams show only what the mel did."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(80, HOP)
        torch.nn.init.normal_(self.proj.weight, std=0.05, generator=torch.Generator().manual_seed(0))

    def forward(self, mel):
        return torch.tanh(self.proj(mel.transpose(1, 2) + 6)).reshape(mel.shape[0], -1)


def tokens(n=60, seed=7):
    return torch.randint(0, 64, (n,), generator=torch.Generator().manual_seed(seed))


def test_streaming_matches_the_authors_token2wav():
    ref = torch.load(FIXTURES / "glm4voice_streaming" / "stream.pt", weights_only=True)
    vocoder = SeededVocoder(Vocoder.load_pretrained(FIXTURES / "glm4voice_hift"),
                            lambda v, mel, cache: v.inference(mel, cache))
    t2w = Token2Wav(LookupFlow(), vocoder, upstream_prompt=True)
    chunks = list(t2w.blocks(iter(ref["tokens"].tolist()), tuple(ref["block_sizes"])))
    assert [len(c) for c in chunks] == [len(c) for c in ref["chunks"]]
    for ours, theirs in zip(chunks, ref["chunks"]):
        assert (ours - theirs).abs().max() <= 1e-4


def test_streaming_equals_one_shot_except_the_crossfaded_frames():
    flow, vocoder = LookupFlow(), FrameVocoder()
    t2w = Token2Wav(flow, vocoder)
    sizes, toks = (10, 15, 20), tokens(60)
    streamed = torch.cat(list(t2w.blocks(iter(toks.tolist()), sizes)))
    one_shot = t2w.one_shot(toks)
    assert streamed.shape == one_shot.shape == (flow.frames(60) * HOP,)
    # Expected: the one-shot mel with each seam's frames crossfaded with themselves (the Hamming pair sums to
    # ~1.08, not 1: upstream's window), vocoded frame by frame.
    mel = flow.inference(toks[None], torch.tensor([60]), torch.zeros(1, 0, dtype=torch.long), torch.tensor([0]),
                         torch.zeros(1, 0, 80), torch.tensor([0]), torch.zeros(1, 192))
    n, w, done = t2w.mel_overlap, t2w.window, 0
    for size in sizes:
        done += size
        seam = slice(flow.frames(done) - n, flow.frames(done))
        mel[..., seam] = (mel[..., seam].double() * w[:n] + mel[..., seam].double() * w[n:]).float()
    expected = vocoder(mel).reshape(-1)
    torch.testing.assert_close(streamed, expected, atol=1e-6, rtol=0)
    outside = torch.ones_like(streamed, dtype=torch.bool)
    done = 0
    for size in sizes:
        done += size
        outside[(flow.frames(done) - n) * HOP:flow.frames(done) * HOP] = False
    assert torch.equal(streamed[outside], one_shot[outside])


def test_upstream_prompt_loses_a_frame_per_block_from_the_third():
    flow, vocoder = LookupFlow(), FrameVocoder()
    sizes, toks = (10, 10, 10, 10), tokens(50)
    ours = torch.cat(list(Token2Wav(flow, vocoder).blocks(iter(toks.tolist()), sizes)))
    upstream = torch.cat(list(Token2Wav(flow, vocoder, upstream_prompt=True).blocks(iter(toks.tolist()), sizes)))
    blocks = 5
    assert len(ours) == flow.frames(50) * HOP
    assert len(upstream) == len(ours) - (blocks - 2) * HOP


def test_a_flush_without_pending_tokens_emits_the_held_back_audio():
    flow, vocoder = LookupFlow(), FrameVocoder()
    t2w = Token2Wav(flow, vocoder)
    streamed = torch.cat(list(t2w.blocks(iter(tokens(30).tolist()), (15,))))  # 15 + 15: nothing pending at the end
    assert len(streamed) == flow.frames(30) * HOP


def test_a_block_shorter_than_the_overlap_is_refused():
    stream = Token2Wav(LookupFlow(), FrameVocoder()).stream()
    with pytest.raises(ValueError, match="too short to stream"):
        stream.push([1, 2, 3], finalize=False)


def test_the_flow_decoder_streams_with_its_euler_steps():
    from flow_fakes import tiny_flow

    decoder = tiny_flow().eval()
    t2w = Token2Wav(decoder, Vocoder.from_config("tiny", family="hift").for_inference(), flow_options={"n_timesteps": 2})
    toks = torch.arange(40) % 16
    chunks = list(t2w.blocks(iter(toks.tolist()), (10, 15)))
    assert len(chunks) == 4  # blocks of 10, 15, 15, then the held-back overlap flushed
    frames = int(40 / decoder.input_frame_rate * decoder.sample_rate / decoder.hop_length)
    assert sum(len(c) for c in chunks) == frames * HOP
    assert all(torch.isfinite(c).all() for c in chunks)


