"""Token cache: speech tokens of every kept reply and context turn, computed once.

    <prepared>/tokens/<fingerprint>/
      <episode>.npz          reply:<reply id> -> codes (uint16)
      <episode>.context.npz  ctx:<start>-<end> -> codes, only once a stage needs context
      index.json             tokenizer name, fingerprint, rate, codebook size, counts

Context turns are tokenized only on request (``contexts=True``: the semantic
stage, ``python -m audiorole.prepare``): the acoustic stage never reads them,
and every turn costs a 30 s encoder window.

The folder is named by the tokenizer's content hash, so a changed tokenizer
gets a new cache and an unchanged one is never recomputed. Each file also
records, per key, the sha256 of the audio its codes came from (``__sources__``):
a re-prepared episode (new reply ids, clips cut at other times) re-tokenizes
exactly the keys whose audio is new or changed and drops the ones no longer
kept, instead of serving codes of audio that is gone. Each file is written
atomically; a rerun after a crash tokenizes only what is missing.
Reply tokens come from the kept (enhanced) clips, which is what the decoder
learns to reproduce; context tokens from the standardised episode audio. A tokenizer
that ``packs_clips`` (the offline one) encodes an episode's clips in shared 30 s
windows (``packing.py``) instead of one window per clip.
"""

import gzip
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.audio.decode import load_audio
from audiorole.prep.progress import progress_bar
from audiorole.tokenizers.packing import encode_clips
from audiorole.utils.atomic import atomic_path, write_json
from audiorole.utils.weights import file_sha256

SOURCES = "__sources__"  # key in each cache file: json of code key -> sha256 of the audio it came from


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


def _stored(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A cache file's codes and the source digest of each (none for files written before digests)."""
    if not path.is_file():
        return {}, {}
    with np.load(path) as data:
        sources = json.loads(str(data[SOURCES])) if SOURCES in data.files else {}
        return {k: data[k] for k in data.files if k != SOURCES}, sources


def _update_codes(path: Path, wanted: dict[str, str], encode, dtype) -> None:
    """Make ``path`` hold codes for exactly the ``wanted`` keys (key -> source digest).

    ``encode(keys)`` computes the codes of the keys that are missing or whose source changed;
    the rest are kept as stored, keys no longer wanted are dropped.
    """
    codes, sources = _stored(path)
    stale = [k for k, digest in wanted.items() if k not in codes or sources.get(k) != digest]
    if not stale and set(codes) == set(wanted):
        return
    if stale:
        codes.update(zip(stale, encode(stale)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: codes[k].astype(dtype) for k in wanted}, **{SOURCES: np.array(json.dumps(wanted))})


def _update_clip_codes(path: Path, clips: dict[str, str], tokenizer, dtype) -> None:
    """``_update_codes`` for keys that each name one clip file (replies, corpus clips)."""
    _update_codes(path, {k: file_sha256(Path(a)) for k, a in clips.items()},
                  lambda keys: encode_clips(tokenizer, [_clip(clips[k], tokenizer.sample_rate) for k in keys]), dtype)


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
            _update_clip_codes(path, {f"reply:{r['id']}": r["audio"] for r in replies}, tokenizer, dtype)
            if contexts and spans:
                audio_digest = file_sha256(Path(episodes[episode]))
                by_key = {span_key(s, e): (s, e) for s, e in spans}
                _update_codes(context_path, dict.fromkeys(by_key, audio_digest),
                              lambda keys: _encode_spans(tokenizer, episodes[episode], [by_key[k] for k in keys]), dtype)
            counts["context_turns"] += len(spans) if context_path.is_file() else 0
            progress.advance(task)
    return _finish(root, tokenizer, sorted(by_episode), counts)


def _encode_spans(tokenizer, episode_audio: str, spans: list[tuple[float, float]]) -> list[np.ndarray]:
    sr = tokenizer.sample_rate
    audio = load_audio(episode_audio, sr)
    return encode_clips(tokenizer, [audio[int(s * sr): int(e * sr)] for s, e in spans])


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
    reads them. A speaker's file gains only the clips it lacks or whose audio changed (a grown corpus).
    """
    root = Path(corpus_dir) / "tokens" / tokenizer.fingerprint
    by_speaker = defaultdict(list)
    for cut in cuts:
        by_speaker[cut.supervisions[0].speaker].append(cut)
    dtype = _codes_dtype(tokenizer.codebook_size)
    with progress_bar() as progress:
        task = progress.add_task("tokens", total=len(by_speaker))
        for speaker, group in sorted(by_speaker.items()):
            _update_clip_codes(root / f"{speaker}.npz",
                               {f"reply:{c.supervisions[0].id}": c.recording.sources[0].source for c in group},
                               tokenizer, dtype)
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
                codes.update({k: c.astype(np.int64) for k, c in _stored(path)[0].items()})
            self._open[episode] = codes
        return self._open[episode]

    def reply(self, episode: str, reply_id: str) -> np.ndarray:
        codes = self._episode(episode)
        if f"reply:{reply_id}" not in codes:
            from audiorole.errors import AudioroleError

            raise AudioroleError(f"{self.root / (episode + '.npz')} has no tokens for reply {reply_id}: the cache predates "
                                 "the dataset; rebuild it with python -m audiorole.prepare (it tokenizes what changed)")
        return codes[f"reply:{reply_id}"]

    def context(self, episode: str, start: float, end: float) -> np.ndarray:
        codes = self._episode(episode)
        key = span_key(start, end)
        if key not in codes:
            from audiorole.errors import AudioroleError

            raise AudioroleError(f"{self.root / (episode + '.context.npz')} has no tokens for context turn {key}; "
                                 "rebuild it with python -m audiorole.prepare (it tokenizes context turns)")
        return codes[key]
