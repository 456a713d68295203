"""The condition grid: casts from voice pools, conditions dealt over scripts, clips spoken once."""

import random
import shutil

import numpy as np
import pytest

from audiorole.demo.conditions import Condition, noise_track
from audiorole.demo.grid import deal, load_config, noisy_conditions
from audiorole.demo.kokoro import blend_parts
from audiorole.demo.voice_sets import make_cast

NAMES = ["Abel", "Brynn", "Cato", "Delia", "Emmett", "Fern", "Gideon", "Hazel", "Ivor", "Juno", "Kit", "Lorna"]


def test_shipped_grid_parts_differ_in_voices_and_names():
    cfg = load_config()
    dev, test = cfg["parts"]["dev"], cfg["parts"]["test"]
    assert not set(dev["names"]) & set(test["names"])
    pools = {p: {v for vs in cfg["parts"][p]["voice_sets"].values() for v in vs.get("pool", ())} for p in ("dev", "test")}
    assert pools["dev"] and not pools["dev"] & pools["test"]
    for part in ("dev", "test"):  # the long episode gathers every voice set's cast: a TV-sized cast
        cast = sum(vs.get("cast", 3) for vs in cfg["parts"][part]["voice_sets"].values())
        assert cfg["parts"][part]["long"] and 8 <= cast <= 12
    conditions = noisy_conditions(cfg)
    assert len(conditions) == 2 + 5 * 4 and len({c.label for c in conditions}) == len(conditions)
    for factor in ("noise", "snr_db"):  # rotated rooms: every noise and every SNR meets every room
        for level in {getattr(c, factor) for c in conditions if c.noise}:
            assert {c.rt60 for c in conditions if getattr(c, factor) == level} == {None, 0.35, 0.6}
    assert len(noisy_conditions({**cfg, "rooms": "all"})) == 2 + 5 * 4 * 3


def test_cast_from_a_pool_with_blends_and_extras():
    spec = {"engine": "kokoro", "pool": ["af_bella", "af_sky", "am_adam", "am_echo", "bf_emma", "bm_george"],
            "cast": 4, "extras": 1, "blends": 2}
    cast, extras = make_cast(spec, random.Random(0), NAMES)
    again, _ = make_cast(spec, random.Random(0), NAMES)
    assert cast == again and len(cast) == 4 and len(extras) == 1
    assert extras[0].slug.startswith("extra_") and not extras[0].is_cast
    blends = [c.voice["voice"] for c in (*cast, *extras) if "+" in c.voice["voice"]]
    assert len(blends) == 2
    for blend in blends:  # two voices of one sex, weights summing to one
        (a, wa), (b, wb) = blend_parts(blend)
        assert a[1] == b[1] and a != b and wa + wb == pytest.approx(1.0)
    assert {c.writer for c in cast} <= {"mara", "otis", "june"} and extras[0].writer == "extra_dockhand"
    with pytest.raises(ValueError, match="pool of 6"):
        make_cast({**spec, "cast": 8, "blends": 0}, random.Random(0), NAMES)


def test_noisy_conditions_are_dealt_round_robin_and_clean_goes_everywhere():
    conditions = [Condition("babble", snr, rt) for snr in (5.0, 8.0, 10.0) for rt in (None, 0.6)]
    scripts = [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    dealt = deal(conditions, scripts, seed=1)
    assert all(d[0].clean for d in dealt.values())
    noisy = [c for d in dealt.values() for c in d[1:]]
    assert sorted(c.label for c in noisy) == sorted(c.label for c in conditions)
    assert {len(d) - 1 for d in dealt.values()} == {1, 2}
    assert dealt == deal(conditions, scripts, seed=1)
    first_only = deal(conditions, scripts, seed=1, clean_scripts=1)
    assert [any(c.clean for c in first_only[s]) for s in scripts] == [True, False, True, False]


def test_wind_is_low_frequency_and_gusty():
    sr = 16000
    x = noise_track("wind", 20 * sr, sr, random.Random(0))
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    assert power[f < 500].sum() / power.sum() > 0.75
    level = np.sqrt(np.mean(x[: 20 * sr].reshape(40, -1) ** 2, axis=1))  # half-second levels
    assert level.max() / level.min() > 2.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)")
def test_clip_cache_speaks_each_line_once(tmp_path, monkeypatch):
    from audiorole.demo import clip_cache

    calls = []
    real = clip_cache.synthesize
    monkeypatch.setattr(clip_cache, "synthesize", lambda *a: calls.append(a) or real(*a))
    cache = clip_cache.ClipCache(tmp_path)
    spec = {"engine": "espeak", "voice": "en-us+Andy", "pitch": 40, "speed": 170}
    first = cache(spec, "Mind the shoals.", 16000)
    second = cache(spec, "Mind the shoals.", 16000)
    assert len(calls) == 1 and np.array_equal(first, second) and first.dtype == np.float32
    assert not list(tmp_path.rglob(".tmp-*"))


def test_voice_sets_sharing_an_episode_name_are_scored_apart(tmp_path):
    import json

    from audiorole.demo.grid import episode_rows
    from audiorole.demo.grid_eval import pooled

    for name, cast in (("harbor", 3), ("kokoro", 4)):
        (tmp_path / name / "truth").mkdir(parents=True)
        row = {"set": name, "episode": "s1_clean", "cast": cast}
        (tmp_path / name / "truth" / "s1_clean.json").write_text(json.dumps({"row": row}))
    # a plain series beside them (the demo's own) carries a condition.json that is not a grid marker
    (tmp_path / "series" / "truth").mkdir(parents=True)
    (tmp_path / "series" / "truth" / "condition.json").write_text(json.dumps({"noise": "music"}))
    assert {k: r["cast"] for k, r in episode_rows(tmp_path).items()} == {("harbor", "s1_clean"): 3,
                                                                         ("kokoro", "s1_clean"): 4}
    rows = [{"set": s, "episode": "s1_clean", "der": 5.0, "kept": 10, "kept_right": right, "turns": 20,
             "recalled": 10, "kept_minutes": 1.0, "by_character": {}, "fates": {}} for s, right in (("a", 10), ("b", 8))]
    figures = pooled(rows)
    assert figures["precision"]["value"] == pytest.approx(0.9) and figures["precision"]["episodes"] == 2
