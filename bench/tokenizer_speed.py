"""Offline tokenizer speed on this machine: fitting on the demo, and encoding throughput.

    python bench/tokenizer_speed.py [--threads 0] [--codebook-size 512]

Throughput = seconds of audio tokenized per second of wall time (higher is
faster). Every clip costs one 30 s encoder window however short it is, so
short utterances are slower per second of audio than long files.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from audiorole.audio.decode import load_audio
from audiorole.tokenizers.offline_fit import fit_or_load

SR = 16000
DEMO = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"


def episode(name: str):
    return load_audio(next((DEMO / "episodes").glob(f"{name}.*")), SR)


def lines(name: str, audio) -> list:
    rows = [json.loads(l) for l in (DEMO / "truth" / f"{name}.script.jsonl").read_text().splitlines() if l.strip()]
    return [audio[int(r["start"] * SR):int(r["end"] * SR)] for r in rows]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--codebook-size", type=int, default=512)
    args = ap.parse_args()
    ep01, ep02 = episode("ep01"), episode("ep02")
    utts = lines("ep01", ep01) + lines("ep02", ep02)
    seconds = sum(map(len, utts)) / SR
    with tempfile.TemporaryDirectory() as tmp:
        tok, fit_s = timed(lambda: fit_or_load(Path(tmp) / "a", [ep01, ep02], codebook_size=args.codebook_size,
                                               threads=args.threads))
        print(f"fit on both episodes ({(len(ep01) + len(ep02)) / SR:.0f} s of audio, 30 s windows): {fit_s:.1f} s")
        _, fit_u = timed(lambda: fit_or_load(Path(tmp) / "b", utts, codebook_size=args.codebook_size, threads=args.threads))
        print(f"fit on the {len(utts)} scripted utterances ({seconds:.0f} s, one window each): {fit_u:.1f} s")
        _, load_s = timed(lambda: fit_or_load(Path(tmp) / "a", [], codebook_size=args.codebook_size, threads=args.threads))
        print(f"fit_or_load on an existing artifact: {load_s:.2f} s")
    sample = utts[:24]
    audio = sum(map(len, sample)) / SR
    for batch in (1, 8):
        tok.batch_size = batch
        _, wall = timed(lambda: tok.encode_many(sample))
        print(f"utterances ({len(sample)}, mean {audio / len(sample):.1f} s), batch {batch}: "
              f"{audio / wall:.1f} s of audio per second (RTF {wall / audio:.3f})")
    _, wall = timed(lambda: tok.encode(ep02))
    print(f"one long file ({len(ep02) / SR:.0f} s, batch {tok.batch_size}): {len(ep02) / SR / wall:.1f} s of audio per second "
          f"(RTF {wall / (len(ep02) / SR):.3f})")


if __name__ == "__main__":
    main()
