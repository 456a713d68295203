"""The token cache: computed once, keyed by the tokenizer's fingerprint, read back exactly."""

import gzip
import json

import numpy as np
import soundfile as sf

from audiorole.tokenizers.base import SpeechTokenizer
from audiorole.tokenizers.cache import TokenCache, build_token_cache


class CountingTokenizer(SpeechTokenizer):
    """Codes from the signal's level per frame: cheap, deterministic, content-dependent."""

    name = "counting"
    codebook_size = 16

    def __init__(self, salt: int = 0):
        self.salt = salt
        self.fingerprint = f"counting-{salt}"
        self.calls = 0

    def _encode_windows(self, windows):
        self.calls += len(windows)
        hop = int(self.sample_rate / self.frame_rate)
        out = []
        for w in windows:
            n = int(np.ceil(len(w) / hop))
            frames = np.pad(w, (0, n * hop - len(w))).reshape(n, hop)
            out.append(((np.abs(frames).mean(axis=1) * 100).astype(np.int64) + self.salt) % 16)
        return out


def make_prepared(tmp_path):
    prepared = tmp_path / "prepared"
    (prepared / "audio").mkdir(parents=True)
    rng = np.random.default_rng(0)
    episode = tmp_path / "ep1.flac"
    sf.write(episode, (0.1 * rng.standard_normal(16000 * 10)).astype(np.float32), 16000)
    kept = []
    for i, (start, end) in enumerate([(1.0, 2.5), (4.0, 6.0)]):
        clip = prepared / "audio" / f"r{i}.flac"
        sf.write(clip, (0.2 * rng.standard_normal(int(16000 * (end - start)))).astype(np.float32), 16000)
        kept.append({"id": f"r{i}", "episode": "ep1", "audio": str(clip), "start": start, "end": end,
                     "context": [{"speaker": "x", "text": "t", "audio": {"episode": "ep1", "start": 0.2, "end": 0.9}}]})
    (prepared / "kept.jsonl").write_text("".join(json.dumps(k) + "\n" for k in kept))
    with gzip.open(prepared / "episodes.jsonl.gz", "wt") as f:
        f.write(json.dumps({"id": "ep1", "sources": [{"type": "file", "channels": [0], "source": str(episode)}]}) + "\n")
    return prepared


def test_cache_builds_once_and_reads_back(tmp_path):
    prepared = make_prepared(tmp_path)
    tok = CountingTokenizer()
    root = build_token_cache(prepared, tok)
    assert root.name == tok.fingerprint and tok.calls == 3  # two replies + one shared context span
    cache = TokenCache(root)
    assert cache.index["replies"] == 2 and cache.index["context_turns"] == 1
    reply = cache.reply("ep1", "r1")
    assert len(reply) == np.ceil(2.0 * 12.5) and reply.dtype == np.int64
    assert np.array_equal(reply, tok.encode(sf.read(prepared / "audio" / "r1.flac", dtype="float32")[0]))
    assert len(cache.context("ep1", 0.2, 0.9)) == np.ceil(0.7 * 12.5)
    calls = tok.calls
    build_token_cache(prepared, tok)
    assert tok.calls == calls  # nothing recomputed


def test_changed_tokenizer_gets_its_own_cache(tmp_path):
    prepared = make_prepared(tmp_path)
    a = build_token_cache(prepared, CountingTokenizer(0))
    b = build_token_cache(prepared, CountingTokenizer(3))
    assert a != b and a.is_dir() and b.is_dir()
    assert not np.array_equal(TokenCache(a).reply("ep1", "r0"), TokenCache(b).reply("ep1", "r0"))


def test_context_turns_are_tokenized_only_when_asked(tmp_path):
    import pytest

    from audiorole.errors import AudioroleError

    prepared = make_prepared(tmp_path)
    tok = CountingTokenizer()
    root = build_token_cache(prepared, tok, contexts=False)  # the acoustic stage
    assert tok.calls == 2 and TokenCache(root).index["context_turns"] == 0
    assert len(TokenCache(root).reply("ep1", "r0")) == np.ceil(1.5 * 12.5)
    with pytest.raises(AudioroleError, match="context.npz.*python -m audiorole.prepare"):
        TokenCache(root).context("ep1", 0.2, 0.9)
    build_token_cache(prepared, tok)  # a later semantic run adds the context turns, replies stay cached
    assert tok.calls == 3 and len(TokenCache(root).context("ep1", 0.2, 0.9)) == np.ceil(0.7 * 12.5)


def test_a_re_prepared_episode_re_tokenizes_what_changed_and_drops_what_is_gone(tmp_path):
    import pytest

    from audiorole.errors import AudioroleError

    prepared = make_prepared(tmp_path)
    tok = CountingTokenizer()
    root = build_token_cache(prepared, tok, contexts=False)
    kept = [json.loads(line) for line in (prepared / "kept.jsonl").read_text().splitlines()]
    # Prepared again: r0 is cut elsewhere (same id, other audio), r1 is gone, r2 is new.
    sf.write(kept[0]["audio"], np.full(16000, 0.5, np.float32), 16000)
    new = prepared / "audio" / "r2.flac"
    sf.write(new, np.full(8000, 0.3, np.float32), 16000)
    kept = [kept[0], {**kept[1], "id": "r2", "audio": str(new)}]
    (prepared / "kept.jsonl").write_text("".join(json.dumps(k) + "\n" for k in kept))
    calls = tok.calls
    build_token_cache(prepared, tok, contexts=False)
    assert tok.calls == calls + 2  # r0 (changed audio) and r2 (new); nothing else
    cache, fresh = TokenCache(root), CountingTokenizer()
    assert np.array_equal(cache.reply("ep1", "r0"), fresh.encode(np.full(16000, 0.5, np.float32)))
    assert np.array_equal(cache.reply("ep1", "r2"), fresh.encode(np.full(8000, 0.3, np.float32)))
    with pytest.raises(AudioroleError, match=r"ep1.npz has no tokens for reply r1: .*python -m audiorole.prepare"):
        cache.reply("ep1", "r1")
    build_token_cache(prepared, tok, contexts=False)
    assert tok.calls == calls + 2


def test_a_cache_file_without_source_digests_is_re_tokenized_once(tmp_path):
    prepared = make_prepared(tmp_path)
    tok = CountingTokenizer()
    root = build_token_cache(prepared, tok, contexts=False)
    with np.load(root / "ep1.npz") as data:  # as caches were written before digests: codes only
        codes = {k: data[k] for k in data.files if k != "__sources__"}
    np.savez(root / "ep1.npz", **codes)
    calls = tok.calls
    build_token_cache(prepared, tok, contexts=False)
    build_token_cache(prepared, tok, contexts=False)
    assert tok.calls == calls + 2
