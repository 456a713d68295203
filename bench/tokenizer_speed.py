"""Offline tokenizer speed: each clip in its own 30 s window vs clips packed into shared windows.

    python bench/tokenizer_speed.py [--tokenizer DIR] [--threads 0] [--repeats 2]

On the demo's scripted utterances (every truth line of every episode: what the token cache
encodes, replies and context turns alike), the shipped tokenizer (or ``--tokenizer DIR``)
encodes them one window per clip (``encode_many``) and packed (``encode_packed``, what the
token cache does for a tokenizer that ``packs_clips``), alternating which goes first in each
repeat, in one process. Throughput = seconds of audio per second of wall time; the ratio is
the figure to quote (this machine is shared). Agreement = fraction of code frames equal
between the two (the supervised tokenizer was trained on packed windows, so packed codes are
what its decoders learn from; a prompt clip encoded alone at generation time gets solo codes).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from audiorole.audio.decode import load_audio
from audiorole.tokenizers.artifact import load_tokenizer_dir
from audiorole.tokenizers.packing import encode_packed
from audiorole.tokenizers.shipped import load_shipped

SR = 16000
DEMO = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"


def utterances() -> list[np.ndarray]:
    out = []
    for script in sorted((DEMO / "truth").glob("*.script.jsonl")):
        name = script.name.split(".")[0]
        audio = load_audio(next((DEMO / "episodes").glob(f"{name}.*")), SR)
        rows = [json.loads(line) for line in script.read_text().splitlines() if line.strip()]
        out += [audio[int(r["start"] * SR):int(r["end"] * SR)] for r in rows]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", default=None, help="a tokenizer folder (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    tok = load_tokenizer_dir(args.tokenizer, threads=args.threads) if args.tokenizer else load_shipped(threads=args.threads)
    clips = utterances()
    seconds = sum(map(len, clips)) / SR
    print(f"{tok.name}: {len(clips)} utterances, {seconds:.0f} s of audio (mean {seconds / len(clips):.1f} s), "
          f"load average {os.getloadavg()[0]:.1f}")
    ways = {"solo": lambda: tok.encode_many(clips, SR), "packed": lambda: encode_packed(tok, clips, SR)}
    walls = {k: [] for k in ways}
    codes = {}
    for r in range(args.repeats):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            start = time.perf_counter()
            codes[name] = ways[name]()
            walls[name].append(time.perf_counter() - start)
    for name, wall in walls.items():
        best = min(wall)
        print(f"{name:>7}: {best:6.1f} s  {seconds / best:6.1f} s of audio per second  (RTF {best / seconds:.4f})")
    print(f"packed is {min(walls['solo']) / min(walls['packed']):.1f}x faster")
    same = sum(int((a == b).sum()) for a, b in zip(codes["solo"], codes["packed"]))
    total = sum(len(a) for a in codes["solo"])
    assert all(len(a) == len(b) for a, b in zip(codes["solo"], codes["packed"]))
    print(f"codes equal between solo and packed: {same}/{total} = {same / total:.3f}")


if __name__ == "__main__":
    main()
