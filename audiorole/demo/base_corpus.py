"""A multi-speaker synthetic corpus to train the demo's base decoder on.

    python -m audiorole.demo.base_corpus --out DIR [--minutes 60] [--seed 0] [--vocabulary everyday|broad]

Kokoro-82M's English voices (``kokoro.py``) that the demo series does not use
(every voice in ``cast.EVERYONE`` is left out) read generated sentences, each
utterance at a slightly different speed: ``everyday`` (``base_sentences.py``, a
template generator of this project over about 440 words) or ``broad``
(``broad_sentences.py``: sentence shapes filled from about 13,000 English lemmas).
No third-party text, so no licence to track. Written:

    DIR/clips/<voice>/<id>.flac     24 kHz mono, trimmed, loudness-normalised
    DIR/recordings.jsonl.gz         Lhotse RecordingSet
    DIR/supervisions.jsonl.gz       Lhotse SupervisionSet: text, speaker (voice), custom.split

Voices are split, not utterances: ``TEST_VOICES`` and ``DEV_VOICES`` are held
out of training so the base decoder is measured on speakers it never heard
(``custom.split``: train | dev | test). The utterance list is a pure function
of (seed, index), so a rerun skips every clip already on disk and only writes
the missing ones; each clip and each manifest is written atomically.
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from audiorole.utils.atomic import atomic_path

from .base_sentences import sentence
from .broad_sentences import sentence as broad_sentence
from .cast import EVERYONE

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000  # Kokoro's own rate: no resampling before the tokenizer and the mel take their own
ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis",
)
CAST_VOICES = frozenset(c.voice["voice"] for c in EVERYONE.values() if c.voice.get("engine") == "kokoro")
BASE_VOICES = tuple(v for v in ENGLISH_VOICES if v not in CAST_VOICES)
# Held out, one per accent/sex group where possible: unseen speakers for selection and for the report.
DEV_VOICES = ("bf_lily",)
TEST_VOICES = ("af_sarah", "am_michael", "bm_lewis")
TRAIN_VOICES = tuple(v for v in BASE_VOICES if v not in DEV_VOICES + TEST_VOICES)
HELD_OUT_EVERY = 8  # one utterance in eight goes to a held-out voice (about 12% of the audio)
SPEED_RANGE = (0.9, 1.1)


@dataclass(frozen=True)
class Utterance:
    id: str
    voice: str
    speed: float
    text: str

    @property
    def split(self) -> str:
        return "test" if self.voice in TEST_VOICES else "dev" if self.voice in DEV_VOICES else "train"


VOCABULARIES = ("everyday", "broad")


def utterance(seed: int, index: int, vocabulary: str = "everyday") -> Utterance:
    """The ``index``-th utterance of the corpus: text, voice and speed from (seed, index, vocabulary) alone."""
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"vocabulary must be one of {VOCABULARIES}, got {vocabulary!r}")
    # the everyday corpus keeps its ids and draws, so corpora written before the option stay valid
    everyday = vocabulary == "everyday"
    rng = random.Random(f"base-corpus-{seed}-{index}" if everyday else f"base-corpus-{vocabulary}-{seed}-{index}")
    if index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1:
        held_out = DEV_VOICES + TEST_VOICES
        voice = held_out[(index // HELD_OUT_EVERY) % len(held_out)]
    else:
        voice = TRAIN_VOICES[index % len(TRAIN_VOICES)]
    return Utterance(id=f"{'base' if everyday else vocabulary}{seed}-{index:05d}", voice=voice,
                     speed=round(rng.uniform(*SPEED_RANGE), 3), text=(sentence if everyday else broad_sentence)(rng))


def clip_path(out: Path, utt: Utterance) -> Path:
    return out / "clips" / utt.voice / f"{utt.id}.flac"


def write_clip(out: Path, utt: Utterance) -> Path:
    from .voices import synthesize

    path = clip_path(out, utt)
    if not path.is_file():
        audio = synthesize({"engine": "kokoro", "voice": utt.voice, "speed": utt.speed}, utt.text, SAMPLE_RATE)
        with atomic_path(path) as tmp:
            sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")
    return path


def write_manifests(out: Path, utterances: list[Utterance]) -> None:
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    recordings = RecordingSet.from_recordings(Recording.from_file(clip_path(out, u), recording_id=u.id)
                                              for u in utterances)
    supervisions = SupervisionSet.from_segments(
        SupervisionSegment(id=u.id, recording_id=u.id, start=0.0, duration=recordings[u.id].duration, channel=0,
                           text=u.text, language="en", speaker=u.voice, custom={"split": u.split, "speed": u.speed})
        for u in utterances)
    for name, manifest in (("recordings", recordings), ("supervisions", supervisions)):
        with atomic_path(out / f"{name}.jsonl.gz") as tmp:
            manifest.to_file(tmp)


def read_cuts(corpus_dir: str | Path):
    """The corpus as a Lhotse CutSet (one cut per clip), or a one-line error if it was not written."""
    from lhotse import CutSet, RecordingSet, SupervisionSet

    from audiorole.errors import AudioroleError

    corpus = Path(corpus_dir)
    paths = [corpus / f"{name}.jsonl.gz" for name in ("recordings", "supervisions")]
    for path in paths:
        if not path.is_file():
            raise AudioroleError(f"{path}: missing; write the corpus with python -m audiorole.demo.base_corpus --out {corpus}")
    return CutSet.from_manifests(recordings=RecordingSet.from_file(paths[0]),
                                 supervisions=SupervisionSet.from_file(paths[1]))


def build(out: str | Path, minutes: float = 60.0, seed: int = 0, vocabulary: str = "everyday") -> list[Utterance]:
    """Write clips until they add up to ``minutes`` of audio, then the manifests."""
    out = Path(out)
    done, seconds, index = [], 0.0, 0
    while seconds < minutes * 60:
        utt = utterance(seed, index, vocabulary)
        seconds += sf.info(str(write_clip(out, utt))).duration
        done.append(utt)
        index += 1
        if index % 50 == 0:
            log.info("%d clips, %.1f of %.0f min", index, seconds / 60, minutes)
    write_manifests(out, done)
    log.info("base corpus: %d clips, %.1f min, %d voices -> %s", len(done), seconds / 60,
             len({u.voice for u in done}), out)
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (created; a rerun resumes)")
    parser.add_argument("--minutes", type=float, default=60.0, help="total audio to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocabulary", choices=VOCABULARIES, default="everyday",
                        help="everyday: ~440-word templates; broad: ~13,000 lemmas (needs .[demo])")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    build(args.out, args.minutes, args.seed, args.vocabulary)


if __name__ == "__main__":
    main()
