"""How a pipeline span (a turn or a reply) meets the script's truth utterances, in seconds.

Shared by the truth scores (``truth_eval``), the fate of each cast turn (``turn_fates``)
and the dataset report's per-character recall (``stats``).
"""

from collections import defaultdict


def overlap_seconds(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def truth_speaker(reply: dict, script: list[dict]) -> str | None:
    """Who talks most inside the reply's span, by the script."""
    talk = defaultdict(float)
    for utt in script:
        talk[utt["speaker"]] += overlap_seconds(reply["start"], reply["end"], utt["start"], utt["end"])
    talk = {k: v for k, v in talk.items() if v > 0}
    return max(talk, key=talk.get) if talk else None


def covers(reply: dict, utt: dict) -> bool:
    """A reply covers an utterance when more than half of the utterance lies inside it."""
    return overlap_seconds(reply["start"], reply["end"], utt["start"], utt["end"]) > 0.5 * (utt["end"] - utt["start"])
