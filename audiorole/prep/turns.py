"""Turns: maximal runs of one diarized speaker, with how much of each is overlapped.

A turn is the unit that gets a character, a transcript and, if it belongs to a
named character, becomes a reply.
"""

from dataclasses import asdict, dataclass


@dataclass
class Turn:
    start: float
    end: float
    cluster: str
    overlap: float = 0.0          # seconds of this turn where another speaker also talks
    character: str | None = None  # set by attribution; None = unknown speaker
    text: str = ""
    words: list | None = None
    language: str | None = None
    asr_logprob: float | None = None  # mean token log-probability of the transcript (confidence)
    subtitle: str | None = None   # subtitle text under this turn, when subtitles exist
    scene: int | None = None
    no_speech: bool = False       # the VAD hears no speech in it (music, laughter, silence): no text, no reply, no context

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return asdict(self)


def build_turns(segments: list[tuple[float, float, str]], merge_gap: float = 0.5, min_duration: float = 0.2) -> list[Turn]:
    """Merge same-speaker segments closer than ``merge_gap`` (unless another speaker talks between)."""
    segments = sorted((s, e, lab) for s, e, lab in segments if e - s > 0)
    turns: list[Turn] = []
    for start, end, label in segments:
        last = turns[-1] if turns else None
        if last is not None and last.cluster == label and start - last.end <= merge_gap:
            last.end = max(last.end, end)
        else:
            same = [t for t in turns if t.cluster == label and start - t.end <= merge_gap and t.end > start]
            if same:  # overlapping segment of a speaker already active (interleaved with another's)
                same[-1].end = max(same[-1].end, end)
            else:
                turns.append(Turn(start, end, label))
    turns = [t for t in turns if t.duration >= min_duration]
    for turn in turns:
        turn.overlap = sum(max(0.0, min(turn.end, o.end) - max(turn.start, o.start))
                           for o in turns if o is not turn and o.cluster != turn.cluster)
    return sorted(turns, key=lambda t: (t.start, t.end))
