"""Prepare a dataset from a ``data`` config (what ``prepare_data`` and the CLI both call)."""

from pathlib import Path

from audiorole.prep.finalize import finalize
from audiorole.prep.pipeline import PrepareResult, prepare


def shard_dir(out_dir: Path, index: int, count: int) -> Path:
    """Where a shard writes its part of the dataset; unsharded runs write to ``out_dir``."""
    return out_dir if count == 1 else out_dir / "shards" / f"{index:04d}-of-{count:04d}"


def episode_clips(result: PrepareResult, sample_rate: int):
    """The standardised episodes' audio, read only when called (to fit a tokenizer)."""
    from audiorole.audio.decode import load_audio

    return lambda: [load_audio(steps["standardise"]["audio"], sample_rate) for steps in result.results.values()]


def prepare_dataset(data, character: str | None = None, tokenizer=None) -> PrepareResult:
    """Run the pipeline; with a ``tokenizer`` config, also fill the token cache beside the manifests."""
    out_dir = Path(data.out_dir)
    index, count = int(data.shard.index), int(data.shard.count)
    dest = shard_dir(out_dir, index, count)

    def _finalize(series, result, _):
        result.stats = finalize(series, result, dest)

    result = prepare(data.series_dir, out_dir, steps=data.get("prep") or {}, order=list(data.get("prep_order") or []),
                     character=character, shard_index=index, shard_count=count,
                     finalize=_finalize, workers=int(data.get("workers") or 1))
    if tokenizer is not None and count == 1:  # sharded runs tokenize after the merge
        from audiorole.tokenizers.build import build_tokenizer
        from audiorole.tokenizers.cache import build_token_cache

        tok = build_tokenizer(tokenizer, episode_clips(result, 16000))
        result.tokens_dir = build_token_cache(dest, tok)
    return result
