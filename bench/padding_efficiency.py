"""Padding efficiency of acoustic batches: duration bucketing vs plain batching, on a prepared dataset.

    python bench/padding_efficiency.py [--prepared data/prepared/demo] [--max-duration 40]

Efficiency = real audio / padded batch area over one epoch (1.0: no padding).
Both samplers see the same cuts and batch budget in the same run.
"""

import argparse

from lhotse import load_manifest_lazy
from lhotse.dataset import DynamicBucketingSampler, SimpleCutSampler

from audiorole.data.replies import character_cuts
from audiorole.data.padding import padding_efficiency


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepared", default="data/prepared/demo")
    ap.add_argument("--max-duration", type=float, default=40.0)
    ap.add_argument("--buckets", type=int, default=4)
    args = ap.parse_args()
    cuts = load_manifest_lazy(f"{args.prepared}/cuts.jsonl.gz").to_eager()
    groups = {"all characters": cuts}
    groups.update({c: character_cuts(cuts, c) for c in sorted({c.supervisions[0].speaker for c in cuts})})
    print("| replies | n | crop | plain batches | bucketed | × |")
    print("|---|---|---|---|---|---|")
    for name, group in groups.items():
        for crop in (None, 2.0):
            plain = padding_efficiency(SimpleCutSampler(group, max_duration=args.max_duration, shuffle=True, seed=0), crop)
            bucketed = padding_efficiency(DynamicBucketingSampler(group, max_duration=args.max_duration, shuffle=True,
                                                                  num_buckets=args.buckets, seed=0), crop)
            print(f"| {name} | {len(group)} | {crop or 'full'} | {plain:.3f} | {bucketed:.3f} | {bucketed / plain:.2f} |")


if __name__ == "__main__":
    main()
