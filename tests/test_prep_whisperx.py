"""The ``transcribe=whisperx`` config, run: WhisperX's pipeline and pyannote VAD with the shipped tiny.en, on demo audio."""

import json

import pytest
from hydra import compose, initialize_config_dir

from audiorole.asr.wer import wer
from audiorole.audio.decode import load_audio
from audiorole.demo import DEMO_SERIES_DIR
from conftest import CONF_DIR

pytestmark = pytest.mark.slow  # WhisperX imports torch and pyannote and loads its VAD: about 1-2 min on 2 loaded cores

SR = 16000
OFFLINE_WHISPERX = ["data/prep/transcribe=whisperx", "data.prep.transcribe.backend.model=offline",
                    "data.prep.transcribe.backend.device=cpu", "data.prep.transcribe.backend.compute_type=int8",
                    "data.prep.transcribe.backend.language=en", "data.prep.transcribe.backend.batch_size=4"]


@pytest.fixture(scope="module")
def step():
    import hydra

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("prepare", overrides=OFFLINE_WHISPERX)
    return hydra.utils.instantiate(cfg.data.prep.transcribe, _convert_="partial")


@pytest.fixture(scope="module")
def scene():
    """The shortest scene of ep02 longer than 35 s (more than one 30 s Whisper window, with room):
    its utterances, and the whole scene as one clip."""
    audio = load_audio(next((DEMO_SERIES_DIR / "episodes").glob("ep02.*")), SR)
    lines = [json.loads(x) for x in (DEMO_SERIES_DIR / "truth" / "ep02.script.jsonl").read_text().splitlines()]
    scenes = {}
    for u in lines:
        scenes.setdefault(u["scene"], []).append(u)
    span = {k: v[-1]["end"] - v[0]["start"] for k, v in scenes.items()}
    scene = min((k for k in scenes if span[k] > 35), key=span.get)
    utts = [u for u in scenes[scene] if not u["overlap"]]
    return audio, utts, scenes[scene]


def test_whisperx_pipeline_batches_and_cuts_long_clips_by_its_vad(step, scene):
    audio, utts, whole = scene
    asr = step.backend
    assert asr.name == "whisperx:tiny.en(offline)" and step.vad is not None
    clips = [audio[int(u["start"] * SR):int(u["end"] * SR)] for u in utts]
    batched = asr.transcribe_many(clips)
    assert asr._pipeline is not None  # WhisperX's own pipeline and VAD model were loaded
    assert [t.text for t in batched] == [asr(c).text for c in clips[:2]] + [t.text for t in batched[2:]]
    assert wer([u["text"] for u in utts], [t.text for t in batched]) <= 0.35
    start, end = whole[0]["start"], whole[-1]["end"]
    assert end - start > 30  # more than one Whisper window: WhisperX's VAD cuts it at pauses
    long = asr(audio[int(start * SR):int(end * SR)])
    assert len(long.segments) >= 2 and long.words[-1].end <= end - start
    assert wer(" ".join(u["text"] for u in whole), long.text) <= 0.4
