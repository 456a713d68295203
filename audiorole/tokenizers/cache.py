"""Token cache: speech tokens of every kept reply and context turn, computed once.

    <prepared>/tokens/<fingerprint>/
      <episode>.npz          reply:<reply id> -> codes (uint16)
      <episode>.context.npz  ctx:<start>-<end> -> codes, only once a stage needs context
      index.json             tokenizer name, fingerprint, rate, codebook size, counts

Context turns are tokenized only on request (``contexts=True``: the semantic
stage, ``python -m audiorole.prepare``): the acoustic stage never reads them,
and every turn costs a 30 s encoder window.

The folder is named by the tokenizer's content hash, so a changed tokenizer
gets a new cache and an unchanged one is never recomputed. Each episode's file
is written atomically; a rerun after a crash tokenizes only missing episodes.
Reply tokens come from the kept (enhanced) clips, which is what the decoder
learns to reproduce; context tokens from the standardised episode audio.
"""

import gzip
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.audio.decode import load_audio
from audiorole.prep.progress import progress_bar
from audiorole.utils.atomic import atomic_path, write_json


def span_key(start: float, end: float) -> str:
    return f"ctx:{start:.3f}-{end:.3f}"


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def _episode_audio(prepared: Path) -> dict[str, str]:
    return {r["id"]: r["sources"][0]["source"] for r in _read_jsonl(prepared / "episodes.jsonl.gz")}


def _clip(path: str, sample_rate: int) -> np.ndarray:
    wave, sr = sf.read(path, dtype="float32")
    return wave if sr == sample_rate else load_audio(path, sample_rate)


def _codes_dtype(codebook_size: int):
    return np.uint16 if codebook_size <= 65536 else np.int32


def _write_codes(path: Path, keys: list[str], codes: list[np.ndarray], dtype) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: c.astype(dtype) for k, c in zip(keys, codes)})


def build_token_cache(prepared_dir: str | Path, tokenizer, contexts: bool = True) -> Path:
    """Tokenize what is missing (replies; context turns too with ``contexts``) and return the cache folder."""
    prepared = Path(prepared_dir)
    root = prepared / "tokens" / tokenizer.fingerprint
    kept = _read_jsonl(prepared / "kept.jsonl") if (prepared / "kept.jsonl").is_file() else []
    by_episode = defaultdict(list)
    for reply in kept:
        by_episode[reply["episode"]].append(reply)
    episodes = _episode_audio(prepared) if kept else {}
    dtype = _codes_dtype(tokenizer.codebook_size)
    counts = {"replies": 0, "context_turns": 0}
    with progress_bar() as progress:
        task = progress.add_task("tokens", total=len(by_episode))
        for episode, replies in sorted(by_episode.items()):
            progress.update(task, description=f"tokens: {episode}")
            spans = sorted({(t["audio"]["start"], t["audio"]["end"]) for r in replies for t in r.get("context", [])})
            counts["replies"] += len(replies)
            path, context_path = root / f"{episode}.npz", root / f"{episode}.context.npz"
            sr = tokenizer.sample_rate
            if not path.is_file():
                _write_codes(path, [f"reply:{r['id']}" for r in replies],
                             tokenizer.encode_many([_clip(r["audio"], sr) for r in replies]), dtype)
            if contexts and spans and not context_path.is_file():
                audio = load_audio(episodes[episode], sr)
                _write_codes(context_path, [span_key(s, e) for s, e in spans],
                             tokenizer.encode_many([audio[int(s * sr): int(e * sr)] for s, e in spans]), dtype)
            counts["context_turns"] += len(spans) if context_path.is_file() else 0
            progress.advance(task)
    return _finish(root, tokenizer, sorted(by_episode), counts)


def _finish(root: Path, tokenizer, groups: list[str], counts: dict) -> Path:
    # Which cache the last prepare filled: ranks that did not run prepare_data read this.
    write_json(root.parent / "latest.json", {"fingerprint": tokenizer.fingerprint})
    write_json(root / "index.json", {"tokenizer": tokenizer.name, "fingerprint": tokenizer.fingerprint,
                                     "frame_rate": tokenizer.frame_rate, "codebook_size": tokenizer.codebook_size,
                                     "episodes": groups, **counts})
    return root


def build_corpus_token_cache(corpus_dir: str | Path, cuts, tokenizer) -> Path:
    """The same cache for a speech corpus (``audiorole.demo.base_corpus``): one file per speaker.

    Keys are ``reply:<supervision id>`` in ``<speaker>.npz``, so ``TokenCache.reply(speaker, id)``
    reads them. A speaker's file is extended with only the clips it lacks (a grown corpus).
    """
    root = Path(corpus_dir) / "tokens" / tokenizer.fingerprint
    by_speaker = defaultdict(list)
    for cut in cuts:
        by_speaker[cut.supervisions[0].speaker].append(cut)
    dtype = _codes_dtype(tokenizer.codebook_size)
    with progress_bar() as progress:
        task = progress.add_task("tokens", total=len(by_speaker))
        for speaker, group in sorted(by_speaker.items()):
            path = root / f"{speaker}.npz"
            have = dict(np.load(path)) if path.is_file() else {}
            missing = [c for c in group if f"reply:{c.supervisions[0].id}" not in have]
            if missing:
                waves = [_clip(c.recording.sources[0].source, tokenizer.sample_rate) for c in missing]
                have.update({f"reply:{c.supervisions[0].id}": codes
                             for c, codes in zip(missing, tokenizer.encode_many(waves))})
                _write_codes(path, list(have), list(have.values()), dtype)
            progress.advance(task)
    return _finish(root, tokenizer, sorted(by_speaker), {"replies": sum(len(g) for g in by_speaker.values())})


def latest_cache(prepared_dir: str | Path) -> Path:
    from audiorole.errors import AudioroleError

    pointer = Path(prepared_dir) / "tokens" / "latest.json"
    if not pointer.is_file():
        raise AudioroleError(f"{pointer} is missing: no token cache yet; run prepare with a tokenizer (tokenizer=offline)")
    return pointer.parent / json.loads(pointer.read_text())["fingerprint"]


class TokenCache:
    """Read access to a built cache (lazy, one episode file at a time)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.index = json.loads((self.root / "index.json").read_text())
        self._open: dict[str, dict[str, np.ndarray]] = {}

    def _episode(self, episode: str) -> dict[str, np.ndarray]:
        if episode not in self._open:
            codes = {}
            for path in (self.root / f"{episode}.npz", self.root / f"{episode}.context.npz"):
                if path.is_file():
                    with np.load(path) as data:
                        codes.update({k: data[k].astype(np.int64) for k in data.files})
            self._open[episode] = codes
        return self._open[episode]

    def reply(self, episode: str, reply_id: str) -> np.ndarray:
        return self._episode(episode)[f"reply:{reply_id}"]

    def context(self, episode: str, start: float, end: float) -> np.ndarray:
        codes = self._episode(episode)
        key = span_key(start, end)
        if key not in codes:
            from audiorole.errors import AudioroleError

            raise AudioroleError(f"{self.root / (episode + '.context.npz')} has no tokens for context turn {key}; "
                                 "rebuild it with python -m audiorole.prepare (it tokenizes context turns)")
        return codes[key]
