"""DER split into missed speech, false alarm and confusion, per episode, for series with truth RTTMs.

    python -m audiorole.diarization.breakdown SERIES [SERIES ...] [--onset 0.5 0.65] [--collar 0.25]

Each SERIES is a series folder with ``episodes/`` and ``truth/<episode>.rttm`` (the demo,
or a variant written by ``python -m audiorole.demo.robustness``). Every episode is
diarized by the offline diarizer once per ``--onset`` value (the segmentation's
activity threshold; the rest of its settings are the defaults) and scored with
pyannote.metrics. Prints one markdown row per (series, onset): DER and its three parts
per episode, each in % of reference speech. Which part dominates says what to fix:
false alarm (background voices taken for the cast), missed speech, or confusion
(one voice split over clusters, or two merged).
"""

from __future__ import annotations

import argparse
from pathlib import Path

PARTS = ("missed detection", "false alarm", "confusion")


def episode_parts(reference, hypothesis, collar: float) -> list[float]:
    """[DER, missed, false alarm, confusion] in % of the reference's speech."""
    from audiorole.diarization.der import diarization_error_rate

    d = diarization_error_rate(reference, hypothesis, collar=collar, detailed=True)
    total = d["total"] or 1.0
    return [100 * d["diarization error rate"]] + [100 * d[p] / total for p in PARTS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", type=Path, nargs="+")
    parser.add_argument("--onset", type=float, nargs="+", default=[0.5])
    parser.add_argument("--collar", type=float, default=0.25)
    args = parser.parse_args(argv)

    from audiorole.audio.decode import load_audio
    from audiorole.diarization import OfflineDiarizer
    from audiorole.diarization.rttm import read_rttm

    print("| series | onset | episode | DER % | missed % | false alarm % | confusion % |\n|---|---|---|---|---|---|---|")
    for onset in args.onset:
        diarizer = OfflineDiarizer(onset=onset)
        for series in args.series:
            for episode in sorted((series / "episodes").iterdir()):
                truth = series / "truth" / f"{episode.stem}.rttm"
                if not truth.is_file():
                    continue
                reference = read_rttm(truth)
                hypothesis = diarizer(load_audio(episode, 16000), 16000, reference.uri)
                cells = " | ".join(f"{v:.1f}" for v in episode_parts(reference, hypothesis, args.collar))
                print(f"| {series.name if series.name != 'series' else series.parent.name} | {onset:g} "
                      f"| {episode.stem} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
