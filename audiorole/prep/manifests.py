"""Write the dataset as Lhotse manifests (docs/design.md §2).

- ``recordings.jsonl.gz`` / ``supervisions.jsonl.gz`` / ``cuts.jsonl.gz``: one
  recording per kept reply clip; its supervision carries the character, text,
  word alignment, language, DNSMOS, scene, turn index and the context turns.
- ``episodes.jsonl.gz``: the standardised episodes, which context turns point
  into by (episode, start, end).
"""

import shutil
from pathlib import Path

from audiorole.utils.atomic import atomic_path


def reply_supervision(sample: dict):
    from lhotse import SupervisionSegment
    from lhotse.supervision import AlignmentItem

    words = [AlignmentItem(symbol=w["word"].strip(), start=round(w["start"] - sample["start"], 3),
                           duration=round(max(0.0, w["end"] - w["start"]), 3), score=w.get("p"))
             for w in (sample.get("words") or [])]
    return SupervisionSegment(
        id=sample["id"], recording_id=sample["id"], start=0.0, duration=sample["duration"], channel=0,
        text=sample["text"], language=sample.get("language"), speaker=sample["character"],
        alignment={"word": words} if words else None,
        custom={
            "episode": sample["episode"], "scene": sample["scene"], "turn": sample["turn"],
            "source_start": sample["start"], "source_end": sample["end"],
            "dnsmos": sample.get("dnsmos"), "subtitle": sample.get("subtitle"),
            "overlap": sample.get("overlap"), "clipped": sample.get("clipped"), "context": sample.get("context", []),
            # Set when the subtitle check kept the reply: its text is the subtitle, found in the audio.
            **{k: sample[k] for k in ("text_source", "asr_text", "subtitle_logprob") if sample.get(k) is not None},
        },
    )


def write_manifests(kept: list[dict], episodes: dict[str, str], out_dir: Path) -> dict[str, Path]:
    """Write manifests for ``kept`` samples; ``episodes`` maps episode id -> standardised audio."""
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSet

    out_dir.mkdir(parents=True, exist_ok=True)
    recordings = RecordingSet.from_recordings(Recording.from_file(s["audio"], recording_id=s["id"]) for s in kept)
    supervisions = SupervisionSet.from_segments(reply_supervision(s) for s in kept)
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    episode_set = RecordingSet.from_recordings(Recording.from_file(path, recording_id=ep) for ep, path in sorted(episodes.items()))
    paths = {}
    for name, manifest in [("recordings", recordings), ("supervisions", supervisions), ("cuts", cuts), ("episodes", episode_set)]:
        paths[name] = out_dir / f"{name}.jsonl.gz"
        with atomic_path(paths[name]) as tmp:
            manifest.to_file(tmp)
    return paths


def copy_atomic(src: str | Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
