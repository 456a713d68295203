"""DNSMOS: parity with speechmos, ranking, determinism and the documented edge cases."""

import numpy as np
import pytest

from audiorole.quality import DNSMOS, QualityError
from conftest import espeak_speech

TEXT = "Good morning. I have been waiting for you all day, and the tea is getting cold."


@pytest.fixture(scope="module")
def speech16k(tmp_path_factory):
    return espeak_speech(tmp_path_factory.mktemp("speech"), TEXT)


def add_noise(clean, snr_db, seed=0):
    noise = np.random.default_rng(seed).standard_normal(clean.size).astype(np.float32)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return (clean + noise).astype(np.float32)


@pytest.fixture(scope="module")
def dnsmos():
    return DNSMOS()


def test_ranks_clean_above_noisy_and_batch_matches_single(dnsmos, speech16k):
    clips = [speech16k, add_noise(speech16k, 20), add_noise(speech16k, 5)]
    scores = dnsmos.score_many(clips, 16000)
    ovrl = [s["ovrl"] for s in scores]
    assert ovrl[0] > ovrl[1] > ovrl[2], scores
    assert scores[0]["bak"] > scores[2]["bak"]
    assert dnsmos(clips[2], 16000) == scores[2]  # batching and order change nothing; deterministic
    assert set(scores[0]) == {"ovrl", "sig", "bak", "p808"} and all(1 <= v <= 5 for v in scores[0].values())


def test_matches_speechmos_reference(dnsmos, speech16k):
    from speechmos import dnsmos as reference

    long = np.concatenate([speech16k] * 3)  # several 9.01 s windows
    ref = reference.run(long, sr=16000)
    ours = dnsmos(long, 16000)
    for k in ("ovrl", "sig", "bak", "p808"):
        assert ours[k] == pytest.approx(float(ref[f"{k}_mos"]), abs=1e-4)


@pytest.mark.slow  # tens of seconds on 2 cores; the fast suite keeps its 5-minute budget
def test_short_clips_at_own_length_close_to_reference_tiling(dnsmos, speech16k):
    """A short clip scored at its own length against the reference's tiling up to 9.01 s."""
    from speechmos import dnsmos as reference

    clips = [speech16k[: int(s * 16000)] for s in (1.5, 3.0, 4.5)] + [add_noise(speech16k, 10)[:4 * 16000]]
    ours = dnsmos.score_many(clips, 16000)
    tiled = DNSMOS(tile_short_clips=True).score_many(clips, 16000)
    for clip, own, ref in zip(clips, ours, tiled):
        published = reference.run(clip, sr=16000)
        assert ref["ovrl"] == pytest.approx(float(published["ovrl_mos"]), abs=0.01)  # tiling is the reference
        for k in ("ovrl", "sig", "bak", "p808"):
            assert own[k] == pytest.approx(ref[k], abs=0.3), (k, own, ref)
    assert ours[0]["ovrl"] != tiled[0]["ovrl"]  # really a different (cheaper) computation
    assert ours[2]["ovrl"] > ours[3]["ovrl"]  # still ranks clean above noisy
    assert [dnsmos(c, 16000) for c in clips] == ours  # one by one equals batched


def test_resamples_other_rates(dnsmos, speech16k):
    import soxr

    at48 = soxr.resample(speech16k, 16000, 48000).astype(np.float32)
    a, b = dnsmos(speech16k, 16000), dnsmos(at48, 48000)
    assert abs(a["ovrl"] - b["ovrl"]) < 0.05


def test_edge_cases(dnsmos, speech16k):
    assert dnsmos(np.zeros(3 * 16000, np.float32), 16000) == dict.fromkeys(("ovrl", "sig", "bak", "p808"), 1.0)
    too_short = dnsmos(speech16k[:4000], 16000)  # 0.25 s < min_seconds
    assert all(np.isnan(v) for v in too_short.values())
    assert all(np.isnan(v) for v in dnsmos(np.zeros(0, np.float32), 16000).values())
    sub_window = dnsmos(speech16k[:3 * 16000], 16000)  # scored at its own length
    assert all(np.isfinite(v) for v in sub_window.values())
    with pytest.raises(QualityError, match="NaN"):
        dnsmos(np.array([0.1, np.nan] * 16000, np.float32), 16000)
    with pytest.raises(QualityError, match="1-D"):
        dnsmos(np.zeros((2, 16000), np.float32), 16000)


def test_model_hash_is_checked(monkeypatch):
    from audiorole.quality import dnsmos as mod
    from audiorole.utils.weights import WeightsError

    monkeypatch.setitem(mod.MODELS, "p808", (mod.MODELS["p808"][0], "0" * 64))
    mod._session.cache_clear()
    with pytest.raises(WeightsError, match="sha256"):
        mod._session("p808", 1)
    mod._session.cache_clear()
