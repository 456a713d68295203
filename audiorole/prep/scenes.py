"""Step: cut turns into dialogue scenes and make one sample per character reply.

A scene ends at a long pause (no speech for ``scene_gap`` seconds). Each turn
of a named character becomes a sample whose context is the preceding turns of
the same scene (speaker, text, time span), up to ``max_context_turns``.

With ``max_edge_trim`` > 0 (the default, 1 s) a reply leaves out its overlapped start and end (up to
that many seconds each, ``turns.trim_overlapped_edges``) and the words spoken there:
one speaker's tail under the next one's head is the usual overlap, and the clean
rest of the turn is a reply the overlap rule would otherwise drop whole.
"""

from pathlib import Path

from audiorole.prep.context import EpisodeContext
from audiorole.prep.transcribe import load_turns
from audiorole.prep.turns import Turn, overlapped, trim_overlapped_edges, words_text
from audiorole.utils.atomic import write_json


def split_scenes(turns: list[Turn], scene_gap: float) -> list[list[Turn]]:
    scenes: list[list[Turn]] = []
    latest_end = None
    for turn in sorted(turns, key=lambda t: t.start):
        if latest_end is None or turn.start - latest_end >= scene_gap:
            scenes.append([])
        scenes[-1].append(turn)
        latest_end = turn.end if latest_end is None else max(latest_end, turn.end)
    return scenes


def context_entry(turn: Turn, episode: str) -> dict:
    return {"speaker": turn.character or "unknown", "text": turn.text,
            "audio": {"episode": episode, "start": round(turn.start, 3), "end": round(turn.end, 3)}}


class Scenes:
    name = "scenes"
    reads = ()  # no series-level input (registry, enrollment clips, subtitles)

    def __init__(self, scene_gap: float = 2.0, max_context_turns: int = 6, min_context_turns: int = 0,
                 max_edge_trim: float = 1.0):
        self.scene_gap = scene_gap
        self.max_context_turns = max_context_turns
        self.min_context_turns = min_context_turns
        self.max_edge_trim = max_edge_trim

    def reply_span(self, turn: Turn, turns: list[Turn]) -> tuple[float, float, str, list | None, float]:
        """(start, end, text, words, overlap seconds) of the reply ``turn`` makes, edges trimmed if asked."""
        if self.max_edge_trim <= 0:
            return turn.start, turn.end, turn.text, turn.words, turn.overlap
        start, end = trim_overlapped_edges(turn, turns, self.max_edge_trim)
        words, text = turn.words, turn.text
        if (start, end) != (turn.start, turn.end) and turn.words:
            words = [w for w in turn.words if start <= (w["start"] + w["end"]) / 2 <= end]
            text = words_text(words)
        return start, end, text, words, overlapped(start, end, turn.cluster, turns)

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        turns = load_turns(ctx.results["transcribe"]["turns"])
        everyone = list(turns)  # overlap is judged against every turn, with or without speech
        # A turn without speech (music, laughter) joins no scene and is no context turn; a character's
        # such turn stays a sample only so the filter records why it is not a reply.
        samples = [{"id": f"{ctx.episode.id}-nospeech{i:03d}", "episode": ctx.episode.id, "scene": None, "turn": None,
                    "character": t.character, "start": round(t.start, 3), "end": round(t.end, 3), "text": "",
                    "no_speech": True, "overlap": round(t.overlap, 3), "context": []}
                   for i, t in enumerate(turns) if t.no_speech and t.character is not None]
        turns = [t for t in turns if not t.no_speech]
        scenes = split_scenes(turns, self.scene_gap)
        for index, scene in enumerate(scenes):
            for turn_index, turn in enumerate(scene):
                turn.scene = index
                if turn.character is None:
                    continue  # unknown speakers are context only
                context = scene[max(0, turn_index - self.max_context_turns): turn_index]
                if len(context) < self.min_context_turns:
                    continue
                start, end, text, words, overlap = self.reply_span(turn, everyone)
                samples.append({
                    "id": f"{ctx.episode.id}-s{index:03d}-t{turn_index:03d}",
                    "episode": ctx.episode.id, "scene": f"{ctx.episode.id}-s{index:03d}", "turn": turn_index,
                    "character": turn.character, "start": round(start, 3), "end": round(end, 3),
                    "text": text, "words": words, "language": turn.language, "asr_logprob": turn.asr_logprob,
                    "subtitle": turn.subtitle, "overlap": round(overlap, 3),
                    "context": [context_entry(t, ctx.episode.id) for t in context],
                })
        path = out / "samples.json"
        write_json(path, samples)
        return {"samples": str(path), "scenes": len(scenes), "replies": sum(not s.get("no_speech") for s in samples)}
