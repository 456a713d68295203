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


def words_text(words: list[dict]) -> str:
    """The text of timed words (ASR backends differ in whether a word carries its leading space)."""
    return " ".join(w["word"].strip() for w in words if w["word"].strip())


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
        turn.overlap = overlapped(turn.start, turn.end, turn.cluster, turns)
    return sorted(turns, key=lambda t: (t.start, t.end))


def overlapped(start: float, end: float, cluster: str, turns: list[Turn]) -> float:
    """Seconds of [start, end] where a turn of another cluster also runs (summed over those turns)."""
    return sum(max(0.0, min(end, o.end) - max(start, o.start)) for o in turns if o.cluster != cluster)


def trim_overlapped_edges(turn: Turn, turns: list[Turn], max_trim: float) -> tuple[float, float]:
    """``turn``'s span without the stretch at its start or end where another speaker also talks, up to
    ``max_trim`` seconds each: the usual overlap, one speaker's tail under the next one's head, then
    belongs to neither, and both keep their clean part. Overlap inside a turn stays."""
    start, end = turn.start, turn.end
    others = [(o.start, o.end) for o in turns if o.cluster != turn.cluster and o.start < end and o.end > start]
    if others:
        # Another voice already talking when this one starts: begin after it stops (if that is soon).
        head = max((b for a, b in others if a <= start < b), default=start)
        if head - start <= max_trim:
            start = head
        # Another voice starting before this one ends and outlasting it: stop where it starts.
        tail = min((a for a, b in others if a < end <= b), default=end)
        if end - tail <= max_trim:
            end = tail
    # A turn wholly under another voice has no clean part: it keeps its span (and its overlap).
    return (start, end) if start < end else (turn.start, turn.end)
