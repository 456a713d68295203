"""Write characters' test replies (the dataset split's ``test`` part) as a self-contained benchmark folder.

    OUT/
      README.md              how to answer and how to score
      benchmark.json         the split part and its fingerprints, characters, counts, errors
      items.jsonl            one item a line (also items.parquet, same rows)
      context/<id>/<k>.wav   the turns before the reply, cut from the standardised episode
      reference/<id>.wav     the reference reply (+ <id>.txt): itself an answer folder, so
                             scoring it as ``folder`` reproduces the ``ground_truth`` row

Audio is mono 16 kHz WAV. The reference reply holds exactly the samples the
``ground_truth`` system scores (16-bit PCM when they fit it losslessly, else float).
Reruns keep audio already written (every write is atomic); a context turn or reply that
cannot be read is recorded under ``errors`` in benchmark.json and the export goes on.
"""

from __future__ import annotations

import hashlib
import logging
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem
from audiorole.utils.atomic import atomic_path, write_json, write_jsonl, write_text

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000
FORMAT_VERSION = 1
README_TEMPLATE = Path(__file__).with_name("README.template.md")


@dataclass
class Export:
    out_dir: Path
    items: int = 0
    characters: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def write_wav(path: Path, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Atomic mono WAV: 16-bit PCM when the samples are exactly 16-bit values, else 32-bit float."""
    import soundfile as sf

    wave = np.asarray(wave, dtype=np.float32)
    pcm = np.round(wave.astype(np.float64) * 32768.0)
    subtype = "PCM_16" if np.array_equal(pcm / 32768.0, wave) and pcm.min(initial=0) >= -32768 \
        and pcm.max(initial=0) <= 32767 else "FLOAT"
    with atomic_path(path) as tmp:
        sf.write(tmp, wave, sample_rate, format="WAV", subtype=subtype)


def episode_audio(prepared_dir: Path) -> dict[str, Path]:
    """Episode id -> standardised episode audio (``episodes.jsonl.gz``), what context turns point into."""
    from lhotse import load_manifest

    path = prepared_dir / "episodes.jsonl.gz"
    if not path.is_file():
        raise AudioroleError(f"{path}: missing; re-run `python -m audiorole.prepare` for this dataset")
    return {r.id: Path(r.sources[0].source) for r in load_manifest(path)}


def _cut(episode: Path, start: float, end: float) -> np.ndarray:
    import soundfile as sf

    info = sf.info(str(episode))
    wave, sr = sf.read(str(episode), start=int(round(start * info.samplerate)),
                       stop=int(round(end * info.samplerate)), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    if sr != SAMPLE_RATE:
        import soxr

        wave = soxr.resample(wave, sr, SAMPLE_RATE)
    return wave.astype(np.float32)


def split_record(prepared_dir: Path, part: str, ids: list[str]) -> dict:
    """Which split and part the items are, and fingerprints to tell a re-made dataset or split apart."""
    from audiorole.data.splits import load_splits

    splits = load_splits(prepared_dir)
    return {"part": part, "settings": splits.settings.as_dict(), "split_fingerprint": splits.fingerprint,
            "dataset_fingerprint": splits.dataset_fingerprint,
            "items_sha256": hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()}


class BenchmarkWriter:
    """Writes items into ``out_dir``; ``episodes`` maps episode ids to standardised audio."""

    def __init__(self, out_dir: str | Path, episodes: dict[str, Path], personas: dict[str, str]):
        self.out = Path(out_dir)
        self.episodes = episodes
        self.personas = personas
        self.errors: list[str] = []

    def _error(self, message: str) -> None:
        self.errors.append(message)
        log.warning("%s", message)

    def _context(self, item: EvalItem) -> list[dict]:
        turns = []
        for k, turn in enumerate(item.context):
            rel = f"context/{item.id}/{k:02d}.wav"
            record = {"speaker": turn.speaker, "text": turn.text, "audio": rel,
                      "seconds": round(turn.end - turn.start, 3)}
            if not (self.out / rel).is_file():
                episode = self.episodes.get(turn.episode)
                try:
                    if episode is None:
                        raise AudioroleError(f"episode '{turn.episode}' is not in episodes.jsonl.gz")
                    write_wav(self.out / rel, _cut(episode, turn.start, turn.end))
                except Exception as e:  # noqa: BLE001  (one bad turn must not stop the export)
                    self._error(f"{item.id}: context turn {k} ({turn.episode} {turn.start:.2f}-{turn.end:.2f} s, "
                                f"{episode}): {e}; exported without its audio")
                    record["audio"] = None
            turns.append(record)
        return turns

    def item(self, item: EvalItem) -> dict | None:
        """Write one item's audio; its ``items.jsonl`` row, or None when its reply cannot be read."""
        import soundfile as sf

        from audiorole.audio.decode import load_audio

        ref = f"reference/{item.id}.wav"
        if not (self.out / ref).is_file():
            try:
                write_wav(self.out / ref, load_audio(item.audio, SAMPLE_RATE))  # what ground_truth scores
            except AudioroleError as e:
                self._error(f"{item.id}: reference reply {e}; item left out")
                return None
        write_text(self.out / "reference" / f"{item.id}.txt", item.text)
        return {"id": item.id, "character": item.character, "persona": self.personas.get(item.character, ""),
                "episode": item.episode, "scene": item.scene, "turn": item.turn, "context": self._context(item),
                "reference_text": item.text, "reference_audio": ref,
                "reference_seconds": round(sf.info(str(self.out / ref)).duration, 3)}


def write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(rows), tmp)


def export_benchmark(items_by_character: dict[str, list[EvalItem]], prepared_dir: str | Path, out_dir: str | Path,
                     personas: dict[str, str], part: str = "test", dataset: str | None = None) -> Export:
    """Write every character's items (from the split's ``part``) and benchmark.json, README.md beside them."""
    prepared_dir, out = Path(prepared_dir), Path(out_dir)
    writer = BenchmarkWriter(out, episode_audio(prepared_dir), personas)
    rows = [row for items in items_by_character.values() for row in map(writer.item, items) if row is not None]
    if not rows:
        raise AudioroleError(f"{out}: no item could be exported ({'; '.join(writer.errors[:3]) or 'no items'})")
    counts = {c: sum(r["character"] == c for r in rows) for c in items_by_character}
    write_jsonl(out / "items.jsonl", rows)
    write_parquet(out / "items.parquet", rows)
    meta = {"format": FORMAT_VERSION, "dataset": dataset or prepared_dir.name, "prepared_dir": str(prepared_dir),
            "split": split_record(prepared_dir, part, [r["id"] for r in rows]), "characters": counts, "items": len(rows), "sample_rate": SAMPLE_RATE,
            "personas": {c: personas.get(c, "") for c in counts}, "errors": writer.errors,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json(out / "benchmark.json", meta)
    readme = string.Template(README_TEMPLATE.read_text(encoding="utf-8"))
    write_text(out / "README.md", readme.substitute(dataset=meta["dataset"], items=len(rows), part=part,
                                                    characters=", ".join(f"{c} ({n})" for c, n in counts.items())))
    return Export(out_dir=out, items=len(rows), characters=counts, errors=writer.errors)
