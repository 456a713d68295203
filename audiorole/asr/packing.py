"""Pack many short spans of one recording into shared Whisper windows, and split the words back.

Whisper's encoder always runs on 30 s; transcribing each 2-8 s turn alone
spends most of that on padding. Consecutive turns (sorted by start, no gap
longer than ``max_gap`` between them) are grouped into windows of at most
``window_s`` seconds of the *real* recording, the way WhisperX batches VAD
segments, so the gaps between turns keep their own audio. Each word of a
window's transcript goes to the turn that holds most of it; a word inside no
turn (speech the diarization missed, or text on a gap) goes to a turn within
``reach`` seconds, else nowhere.
"""

from dataclasses import dataclass


@dataclass
class Window:
    start: float
    end: float
    spans: list[int]  # indices into the spans given to ``pack``


def pack(spans: list[tuple[float, float]], window_s: float, max_gap: float) -> list[Window]:
    """Group spans (start, end seconds) into windows of at most ``window_s``; a longer span is a window alone."""
    windows: list[Window] = []
    for i in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[i]
        last = windows[-1] if windows else None
        if last is not None and start - last.end <= max_gap and max(end, last.end) - last.start <= window_s:
            last.spans.append(i)
            last.end = max(last.end, end)
        else:
            windows.append(Window(start, end, [i]))
    return windows


def owner(word_start: float, word_end: float, spans: list[tuple[float, float]], candidates: list[int],
          reach: float) -> int | None:
    """The span (index) that holds most of the word, or the nearest within ``reach``, else None."""
    best, best_share = None, 0.0
    for i in candidates:
        share = min(word_end, spans[i][1]) - max(word_start, spans[i][0])
        if share > best_share:
            best, best_share = i, share
    if best is not None:
        return best
    middle = (word_start + word_end) / 2
    distance = {i: max(spans[i][0] - middle, middle - spans[i][1]) for i in candidates}
    near = min(distance, key=distance.get, default=None)
    return near if near is not None and distance[near] <= reach else None
