"""Step: transcribe every turn (replies and context) with word timings.

All turns are transcribed, not only replies, because unknown speakers' turns
are the context a reply answers. The backend (WhisperX large-v3, any
CTranslate2 model dir, or the shipped offline model) is chosen by config.
"""

import json
from pathlib import Path

import soundfile as sf

from audiorole.prep.context import EpisodeContext
from audiorole.prep.turns import Turn
from audiorole.utils.atomic import write_json


def load_turns(path: str | Path) -> list[Turn]:
    return [Turn(**t) for t in json.loads(Path(path).read_text())]


class Transcribe:
    name = "transcribe"

    def __init__(self, backend, min_seconds: float = 0.3):
        self.backend = backend
        self.min_seconds = min_seconds

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        wave, sr = sf.read(ctx.results["standardise"]["audio"], dtype="float32")
        turns = load_turns(ctx.results["attribute"]["turns"])
        todo = [t for t in turns if t.duration >= self.min_seconds]
        transcripts = self.backend.transcribe_spans(wave, [(t.start, t.end) for t in todo], sr)
        for turn, transcript in zip(todo, transcripts):
            turn.text = transcript.text.strip()
            turn.language = transcript.language
            if transcript.segments:
                turn.asr_logprob = round(sum(seg.avg_logprob for seg in transcript.segments) / len(transcript.segments), 4)
            turn.words = [{"start": round(turn.start + w.start, 3), "end": round(turn.start + w.end, 3),
                           "word": w.word, "p": round(w.probability, 3)}
                          for seg in transcript.segments for w in seg.words]
        path = out / "turns.json"
        write_json(path, [t.to_dict() for t in turns])
        return {"turns": str(path), "backend": getattr(self.backend, "name", type(self.backend).__name__)}
