"""Step 3: attribute diarized speakers to named characters, consistently across episodes.

Every cluster of an episode is compared with one fixed reference per character
(the centroid of its enrollment clips' voiceprints), so the same voice gets the
same name in every episode. Decision per cluster:

1. Subtitle votes: turns under a subtitle cue that names a speaker vote for that
   character, weighted by overlap; a name not in the registry votes for
   ``unknown`` (a named non-cast speaker). A clear majority wins.
2. Otherwise the voiceprint: best cosine to a character centroid, accepted only
   if it clears ``min_similarity`` and beats the runner-up by ``min_gap``. A
   relative gap is the robust part: absolute similarities drop with noise while
   non-cast voices stay close to cast voices (docs/design.md §9). With
   ``center_similarities`` the gap is taken after subtracting, per character, its
   mean similarity over the episode's clusters (score normalisation with the
   episode's own voices as the cohort): a character whose voiceprint sits close
   to every voice of the episode (in noise, or among synthetic voices that all
   sound alike to the embedder) then stops winning clusters that are not it, and
   the one cluster that is it stands out (docs/condition_grid.md).
3. Two clusters may be the same character (diarization over-split a voice),
   but only if their own voiceprints agree (``min_cluster_agreement``);
   otherwise the one less like the character is a different voice: ``unknown``.
4. Anything else is ``unknown``: kept as context, never used as a reply.
"""

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.audio.decode import load_audio
from audiorole.data.subtitles import read_srt
from audiorole.diarization.rttm import read_rttm
from audiorole.prep.context import EpisodeContext
from audiorole.prep.turns import Turn, build_turns
from audiorole.utils.atomic import write_json

log = logging.getLogger(__name__)


def character_voiceprints(series, embedder, sample_rate: int) -> dict[str, np.ndarray]:
    """Unit-norm centroid of each character's enrollment clips (characters without clips are absent)."""
    prints = {}
    for name, character in series.registry.characters.items():
        waves = []
        for clip in character.enrollment:
            try:
                waves.append(load_audio(clip, sample_rate))
            except Exception as exc:  # one bad clip must not hide the character
                log.warning("%s: skipped enrollment clip (%s)", clip, exc)
        if waves:
            centroid = embedder.embed_many(waves).mean(axis=0)
            prints[name] = centroid / (np.linalg.norm(centroid) + 1e-12)
    return prints


UNKNOWN = "<unknown>"  # vote for a speaker the subtitles name but the registry does not know


def subtitle_votes(turns: list[Turn], cues, names: dict[str, str]) -> dict[str, dict[str, float]]:
    """cluster -> character (or ``UNKNOWN``) -> seconds of overlap with cues naming them."""
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for turn in turns:
        for cue in cues:
            shared = min(turn.end, cue.end) - max(turn.start, cue.start)
            if shared > 0 and cue.speaker:
                votes[turn.cluster][names.get(cue.speaker.upper(), UNKNOWN)] += shared
    return votes


def attach_subtitles(turns: list[Turn], cues) -> None:
    """Subtitle text under each turn (cues mostly inside it), for the transcript check."""
    for turn in turns:
        inside = [c.text for c in cues if min(turn.end, c.end) - max(turn.start, c.start) > 0.5 * (c.end - c.start)]
        turn.subtitle = " ".join(inside) if inside else None


class Attribute:
    name = "attribute"
    reads = ("registry", "enrollment", "subtitles")

    def __init__(self, embedder, min_similarity: float = 0.5, min_gap: float = 0.03,
                 subtitle_min_seconds: float = 2.0, subtitle_min_share: float = 0.6,
                 min_cluster_agreement: float = 0.75, max_turns_per_cluster: int = 12,
                 min_turn_seconds: float = 1.0, merge_gap: float = 0.5, center_similarities: bool = True):
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_gap = min_gap
        self.subtitle_min_seconds = subtitle_min_seconds
        self.subtitle_min_share = subtitle_min_share
        self.min_cluster_agreement = min_cluster_agreement
        self.max_turns_per_cluster = max_turns_per_cluster
        self.min_turn_seconds = min_turn_seconds
        self.merge_gap = merge_gap
        self.center_similarities = center_similarities
        self._prints: dict[str, dict[str, np.ndarray]] = {}

    def voiceprints(self, series) -> dict[str, np.ndarray]:
        key = str(series.root)
        if key not in self._prints:
            self._prints[key] = character_voiceprints(series, self.embedder, self.embedder.sample_rate)
        return self._prints[key]

    def cluster_prints(self, wave: np.ndarray, sr: int, turns: list[Turn]) -> dict[str, np.ndarray]:
        """Mean voiceprint of each cluster's longest clean turns."""
        by_cluster: dict[str, list[Turn]] = defaultdict(list)
        for turn in turns:
            by_cluster[turn.cluster].append(turn)
        prints = {}
        for cluster, members in by_cluster.items():
            members = sorted(members, key=lambda t: (t.overlap > 0, -t.duration))
            chosen = [t for t in members if t.duration >= self.min_turn_seconds][: self.max_turns_per_cluster] or members[:1]
            clips = [wave[int(t.start * sr): int(t.end * sr)] for t in chosen]
            clips = [c for c in clips if c.size >= int(0.5 * sr)]
            if clips:
                mean = self.embedder.embed_many(clips).mean(axis=0)
                prints[cluster] = mean / (np.linalg.norm(mean) + 1e-12)
        return prints

    def cohort_means(self, embs: dict[str, np.ndarray], prints: dict[str, np.ndarray]) -> dict[str, float]:
        """Each character's mean similarity over the episode's clusters (zeros unless centring applies)."""
        if not self.center_similarities or len(embs) < 2:
            return {name: 0.0 for name in prints}
        return {name: float(np.mean([e @ p for e in embs.values()])) for name, p in prints.items()}

    def decide(self, cluster: str, emb: np.ndarray | None, prints: dict[str, np.ndarray],
               votes: dict[str, float], cohort: dict[str, float] | None = None) -> dict:
        decision = {"character": None, "by": "unknown", "similarity": {}, "votes": dict(votes)}
        total = sum(votes.values())
        if total >= self.subtitle_min_seconds:
            best, seconds = max(votes.items(), key=lambda kv: kv[1])
            if seconds / total >= self.subtitle_min_share:
                decision.update(character=None if best == UNKNOWN else best, by="subtitles")
        if emb is not None and prints:
            sims = {name: float(emb @ p) for name, p in prints.items()}
            decision["similarity"] = sims
            scores = {name: sim - (cohort or {}).get(name, 0.0) for name, sim in sims.items()}
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            best, top = ranked[0]
            second = ranked[1][1] if len(ranked) > 1 else -np.inf
            if decision["by"] == "unknown" and sims[best] >= self.min_similarity and top - second >= self.min_gap:
                decision.update(character=best, by="voiceprint")
        return decision

    def reconcile(self, clusters: dict[str, dict], embs: dict[str, np.ndarray]) -> None:
        """Keep a second cluster on a character only if it sounds like that character's best cluster."""
        by_character = defaultdict(list)
        for label, decision in clusters.items():
            if decision["character"] is not None:
                by_character[decision["character"]].append(label)
        for character, labels in by_character.items():
            if len(labels) < 2:
                continue
            # The anchor: subtitle-named clusters first, then the most similar to the character.
            anchor = max(labels, key=lambda c: (clusters[c]["by"] == "subtitles", clusters[c]["similarity"].get(character, -1)))
            for label in labels:
                if label == anchor or clusters[label]["by"] == "subtitles" or label not in embs or anchor not in embs:
                    continue
                agreement = float(embs[label] @ embs[anchor])
                clusters[label]["agreement"] = agreement
                if agreement < self.min_cluster_agreement:
                    clusters[label].update(character=None, by="unknown:unlike_" + anchor)

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        audio = ctx.results["standardise"]["audio"]
        wave, sr = sf.read(audio, dtype="float32")
        if sr != self.embedder.sample_rate:
            wave = load_audio(audio, self.embedder.sample_rate)
            sr = self.embedder.sample_rate
        annotation = read_rttm(ctx.results["diarize"]["rttm"])
        segments = [(seg.start, seg.end, str(lab)) for seg, _, lab in annotation.itertracks(yield_label=True)]
        turns = build_turns(segments, merge_gap=self.merge_gap)
        cues = read_srt(ctx.episode.subtitles) if ctx.episode.subtitles else []
        votes = subtitle_votes(turns, cues, ctx.series.registry.speaker_aliases())
        attach_subtitles(turns, cues)
        cluster_embs = self.cluster_prints(wave, sr, turns)
        prints = self.voiceprints(ctx.series)
        cohort = self.cohort_means(cluster_embs, prints)
        clusters = {c: self.decide(c, cluster_embs.get(c), prints, votes.get(c, {}), cohort) for c in sorted({t.cluster for t in turns})}
        self.reconcile(clusters, cluster_embs)
        for turn in turns:
            turn.character = clusters[turn.cluster]["character"]
        path = out / "turns.json"
        write_json(path, [t.to_dict() for t in turns])
        return {"turns": str(path), "clusters": clusters}
