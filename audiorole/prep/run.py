"""Prepare a dataset from a ``data`` config (what ``prepare_data`` and the CLI both call)."""

from pathlib import Path

from audiorole.prep.cache import digest, file_identity
from audiorole.prep.finalize import finalize
from audiorole.prep.pipeline import PrepareResult, prepare


def shard_dir(out_dir: Path, index: int, count: int) -> Path:
    """Where a shard writes its part of the dataset; unsharded runs write to ``out_dir``."""
    return out_dir if count == 1 else out_dir / "shards" / f"{index:04d}-of-{count:04d}"


def enrollment_key(series, work_dir) -> dict:
    """Series-level input of attribution: which enrollment clips exist (their identities)."""
    clips = {name: [file_identity(p) for p in c.enrollment] for name, c in series.registry.characters.items()}
    return {"key": digest(clips)}


def prepare_dataset(data, character: str | None = None) -> PrepareResult:
    out_dir = Path(data.out_dir)
    index, count = int(data.shard.index), int(data.shard.count)
    dest = shard_dir(out_dir, index, count)

    def _finalize(series, result, _):
        result.stats = finalize(series, result, dest)

    return prepare(data.series_dir, out_dir, steps=data.get("prep") or {}, order=list(data.get("prep_order") or []),
                   character=character, shard_index=index, shard_count=count,
                   shared=enrollment_key, finalize=_finalize)
