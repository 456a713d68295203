"""ARP-Eval sanity on the shipped demo series, as accuracies (run with -s to see the figures).

- AP: each character's centroid scores the character's own episode lines above other characters' lines.
- AQ: DNSMOS scores clean clips above copies with white or brown noise at 5 dB SNR.
- CP: each character's training-line centroid scores the character's held-out lines above others' lines.
"""

import dataclasses

import numpy as np
import pytest

from eval_demo import CAST, cast_lines, demo_personas, enrollment, output_for, script_lines

pytestmark = pytest.mark.slow


def build(metrics, overrides=(), tmp_path=None):
    import hydra

    from conftest import compose_config

    cfg = compose_config("evaluate", ["eval=offline", f"eval.metrics=[{','.join(metrics)}]", *overrides], tmp_path)
    return hydra.utils.instantiate(cfg.eval)


def score_matrix(ev, items, outputs, key) -> np.ndarray:
    """(N, C): every output scored as if it were each character's."""
    cols = []
    for character in CAST:
        as_c = [dataclasses.replace(i, character=character) for i in items]
        cols.append([row[key] for row in ev.score(as_c, outputs).per_item])
    return np.array(cols).T


def ranking_accuracy(scores: np.ndarray, truth: list[str]) -> tuple[float, float]:
    """(pairwise: own line above another character's line under the own centroid, nearest-centroid top-1)."""
    truth = np.array(truth)
    wins = total = 0
    for c, character in enumerate(CAST):
        own, other = scores[truth == character, c], scores[truth != character, c]
        wins += int((own[:, None] > other[None, :]).sum())
        total += own.size * other.size
    top1 = float(np.mean(np.array(CAST)[scores.argmax(axis=1)] == truth))
    return wins / total, top1


def test_ap_ranks_own_voice_first(tmp_path):
    ev = build(["ap"], tmp_path=tmp_path)
    ev.prepare(enrollment(), {})
    pairs = cast_lines()
    items, outputs = [i for i, _ in pairs], [output_for(line) for _, line in pairs]
    pairwise, top1 = ranking_accuracy(score_matrix(ev, items, outputs, "ap"), [i.character for i in items])
    print(f"\nAP on {len(items)} demo lines: pairwise ranking accuracy {pairwise:.3f}, nearest-centroid accuracy {top1:.3f}")
    assert pairwise >= 0.9 and top1 >= 0.9


def add_noise(clean: np.ndarray, snr_db: float, colour: str, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    if colour == "brown":
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(1601) / 1601, mode="same")  # drop the drift, keep the 1/f^2 slope
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return (clean + noise).astype(np.float32)


def test_aq_ranks_clean_above_noisy(tmp_path):
    from audiorole.audio.decode import load_audio
    from audiorole.eval.items import EvalItem, Output

    ev = build(["aq"], tmp_path=tmp_path)
    clips = [load_audio(p, 16000) for character in CAST for p in enrollment()[character]]
    variants = {"clean": clips,
                "white": [add_noise(c, 5, "white", k) for k, c in enumerate(clips)],
                "brown": [add_noise(c, 5, "brown", k) for k, c in enumerate(clips)]}
    item = EvalItem(id="x", character="mara", episode="-", scene="-", turn=0, text="", audio=tmp_path)
    scores = {name: np.array([row["aq"] for row in ev.score([item] * len(w), [Output(x, 16000) for x in w]).per_item])
              for name, w in variants.items()}
    accuracy = {name: float(np.mean(scores["clean"] > scores[name])) for name in ("white", "brown")}
    print(f"\nAQ (DNSMOS OVRL) on {len(clips)} clips: clean {scores['clean'].mean():.2f}, white 5 dB "
          f"{scores['white'].mean():.2f}, brown 5 dB {scores['brown'].mean():.2f}; clean ranked higher: "
          f"white {accuracy['white']:.3f}, brown {accuracy['brown']:.3f}")
    for k, character in enumerate(CAST):
        part = slice(4 * k, 4 * k + 4)
        print(f"  {character}: clean {scores['clean'][part].round(2)}, brown {scores['brown'][part].round(2)}")
    assert accuracy["white"] >= 0.9
    # Brown noise puts its power below ~100 Hz. On the thin flite/espeak voices DNSMOS then rates the
    # signal fuller (SIG rises) and OVRL often does not drop (measured 8/12 clips ranked right):
    # a limit of DNSMOS OVRL on synthetic voices, so only the average ordering is required.
    assert scores["clean"].mean() > scores["brown"].mean() and accuracy["brown"] >= 0.6


def test_cp_ranks_own_lines_first(tmp_path):
    from audiorole.eval.items import Output

    ev = build(["cp"], tmp_path=tmp_path)
    lines = [line for line in script_lines() if line["speaker"] in CAST]
    all_items = {i.id: i for i, _ in cast_lines(clean_only=False)}
    scores, truth = [], []
    for held_out in ("ep01", "ep02"):  # two folds: an episode's lines scored against the other episode's
        training = {}
        for line in lines:
            if line["episode"] != held_out:
                training.setdefault(line["speaker"], []).append(line["text"])
        ev.prepare({}, training, demo_personas())
        items = [i for i in all_items.values() if i.episode == held_out]
        outputs = [Output(np.zeros(0, np.float32), 16000, text=i.text) for i in items]
        scores.append(score_matrix(ev, items, outputs, "cp"))
        truth += [i.character for i in items]
    pairwise, top1 = ranking_accuracy(np.concatenate(scores), truth)
    print(f"\nCP on {len(truth)} demo lines (2 folds by episode): pairwise ranking accuracy {pairwise:.3f}, "
          f"nearest-centroid accuracy {top1:.3f}")
    assert pairwise >= 0.85 and top1 >= 0.8
