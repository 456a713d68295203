"""Step: transcribe every turn (replies and context) with word timings.

All turns are transcribed, not only replies, because unknown speakers' turns
are the context a reply answers. The backend (WhisperX large-v3, any
CTranslate2 model dir, or the shipped offline model) is chosen by config.

ASR writes text for music, laughter and silence; with a ``vad`` configured,
text where the VAD hears no speech is removed: a turn with less than
``min_speech_seconds`` of VAD speech is marked ``no_speech`` (no text, no reply,
no context turn), and words of other turns that lie wholly outside VAD speech
(by more than ``word_pad`` seconds) are dropped from the text.
"""

import json
from pathlib import Path

import soundfile as sf

from audiorole.asr.vad import speech_within
from audiorole.prep.context import EpisodeContext
from audiorole.prep.turns import Turn, words_text
from audiorole.utils.atomic import write_json


def load_turns(path: str | Path) -> list[Turn]:
    return [Turn(**t) for t in json.loads(Path(path).read_text())]


class Transcribe:
    name = "transcribe"
    reads = ()  # no series-level input (registry, enrollment clips, subtitles)

    def __init__(self, backend, min_seconds: float = 0.3, vad=None, min_speech_seconds: float = 0.2,
                 word_pad: float = 0.2):
        self.backend = backend
        self.min_seconds = min_seconds
        self.vad = vad
        self.min_speech_seconds = min_speech_seconds
        self.word_pad = word_pad

    def gate(self, turn: Turn, regions: list[tuple[float, float]]) -> None:
        """Remove the text of ``turn`` the VAD does not hear as speech."""
        if speech_within(regions, turn.start, turn.end) < self.min_speech_seconds:
            turn.no_speech = True
            turn.text, turn.words, turn.asr_logprob = "", [], None
            return
        if not turn.words:
            return
        heard = [w for w in turn.words if speech_within(regions, w["start"] - self.word_pad, w["end"] + self.word_pad) > 0]
        if len(heard) < len(turn.words):
            turn.words = heard
            turn.text = words_text(heard)

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        wave, sr = sf.read(ctx.results["standardise"]["audio"], dtype="float32")
        turns = load_turns(ctx.results["attribute"]["turns"])
        todo = [t for t in turns if t.duration >= self.min_seconds]
        spans = [(t.start, t.end) for t in todo]
        if hasattr(self.backend, "transcribe_spans"):  # a backend that may share windows between turns
            transcripts = self.backend.transcribe_spans(wave, spans, sr)
        else:  # any backend of clips: one per turn
            transcripts = self.backend.transcribe_many([wave[int(a * sr): int(b * sr)] for a, b in spans])
        for turn, transcript in zip(todo, transcripts):
            turn.text = transcript.text.strip()
            turn.language = transcript.language
            if transcript.segments:
                turn.asr_logprob = round(sum(seg.avg_logprob for seg in transcript.segments) / len(transcript.segments), 4)
            turn.words = [{"start": round(turn.start + w.start, 3), "end": round(turn.start + w.end, 3),
                           "word": w.word, "p": round(w.probability, 3)}
                          for seg in transcript.segments for w in seg.words]
        if self.vad is not None:
            regions = self.vad(wave, sr)
            for turn in turns:
                self.gate(turn, regions)
        path = out / "turns.json"
        write_json(path, [t.to_dict() for t in turns])
        return {"turns": str(path), "backend": getattr(self.backend, "name", type(self.backend).__name__),
                "no_speech_turns": sum(t.no_speech for t in turns)}
