"""Prepare a dataset from a ``data`` config (what ``prepare_data`` and the CLI both call)."""

from pathlib import Path

from audiorole.data.splits import load_splits, write_splits
from audiorole.prep.finalize import finalize
from audiorole.prep.pipeline import PrepareResult, prepare
from audiorole.utils.folder_lock import folder_lock


def shard_dir(out_dir: Path, index: int, count: int) -> Path:
    """Where a shard writes its part of the dataset; unsharded runs write to ``out_dir``."""
    return out_dir if count == 1 else out_dir / "shards" / f"{index:04d}-of-{count:04d}"


def train_audio(prepared_dir: Path, sample_rate: int):
    """The train part's scenes, cut from the standardised episodes, read only when called (to fit a tokenizer).

    A scene spans its replies and their context turns; dev and test scenes, and
    audio outside any scene, stay out of the fit.
    """
    from audiorole.data.splits import scene_spans

    def clips():
        import numpy as np

        from audiorole.audio.decode import load_audio
        from audiorole.data.replies import load_episodes

        episodes, out = load_episodes(prepared_dir), []
        for episode, spans in scene_spans(prepared_dir, "train").items():
            wave = load_audio(episodes[episode], sample_rate)
            out += [np.ascontiguousarray(wave[int(a * sample_rate):int(b * sample_rate)]) for a, b in spans]
        return [c for c in out if len(c)]

    return clips


def prepare_dataset(data, character: str | None = None, tokenizer=None, token_contexts: bool = True) -> PrepareResult:
    """Run the pipeline; with a ``tokenizer`` config, also fill the token cache beside the manifests
    (context turns too with ``token_contexts``; the acoustic stage reads replies only)."""
    out_dir = Path(data.out_dir)
    index, count = int(data.shard.index), int(data.shard.count)
    dest = shard_dir(out_dir, index, count)

    def _finalize(series, result, _):
        result.stats = finalize(series, result, dest)
        if count == 1 and (dest / "cuts.jsonl.gz").is_file():  # sharded runs split after the merge
            write_splits(dest, data.get("splits"))

    # One job at a time per prepared dataset (parallel jobs of a sweep share it); shards write
    # their own folders and still run side by side.
    with folder_lock(dest, "preparing this dataset"):
        result = prepare(data.series_dir, out_dir, steps=data.get("prep") or {}, order=list(data.get("prep_order") or []),
                         character=character, shard_index=index, shard_count=count,
                         finalize=_finalize, workers=data.get("workers"))
        if tokenizer is not None and count == 1:  # sharded runs tokenize after the merge
            result.tokens_dir = tokenize_dataset(dest, tokenizer, token_contexts)
    return result


def tokenize_dataset(dest: Path, tokenizer, contexts: bool = True) -> Path:
    """Fill a prepared dataset's token cache (replies, and context turns with ``contexts``); its folder."""
    from audiorole.tokenizers.build import build_tokenizer
    from audiorole.tokenizers.cache import build_token_cache

    splits = load_splits(dest)
    tok = build_tokenizer(tokenizer, train_audio(dest, 16000),
                          fit_on=f"train part of split {splits.fingerprint[:16]} of dataset {splits.dataset_fingerprint[:16]}")
    return build_token_cache(dest, tok, contexts=contexts)
