"""DER split into missed speech, false alarm and confusion, per episode, for series with truth RTTMs.

    python -m audiorole.diarization.breakdown SERIES [SERIES ...] [--onset 0.5 0.65] [--collar 0.25]
                                             [--enhanced] [--by-speaker]

Each SERIES is a series folder with ``episodes/`` and ``truth/<episode>.rttm`` (the demo,
or a variant written by ``python -m audiorole.demo.robustness``). Every episode is
diarized by the offline diarizer once per ``--onset`` value (the segmentation's
activity threshold; the rest of its settings are the defaults) and scored with
pyannote.metrics. Prints one markdown row per (series, onset): DER and its three parts
per episode, each in % of reference speech. Which part dominates says what to fix:
false alarm (background voices taken for the cast), missed speech, or confusion
(one voice split over clusters, or two merged).

``--enhanced`` also diarizes each episode after DeepFilterNet3 (the offline enhancer) and
prints those rows beside the original's; ``--by-speaker`` adds, per hypothesis speaker, its
seconds, the seconds outside every truth turn and the truth speakers it covers most, which
shows whether false alarm is spread over the cast's clusters or gathered in a cluster of its own.
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


def speaker_rows(reference, hypothesis) -> list[tuple[str, float, float, list[tuple[str, float]]]]:
    """(label, seconds, seconds outside every truth turn, [(truth speaker, seconds)] most first) per hypothesis speaker."""
    speech = reference.get_timeline().support()
    rows = []
    for label in sorted(hypothesis.labels()):
        timeline = hypothesis.label_timeline(label).support()
        covered: dict[str, float] = {}
        for segment in timeline:
            for turn, _, speaker in reference.crop(segment).itertracks(yield_label=True):
                covered[speaker] = covered.get(speaker, 0.0) + turn.duration
        outside = timeline.duration() - timeline.crop(speech, mode="intersection").duration()
        rows.append((label, timeline.duration(), outside, sorted(covered.items(), key=lambda kv: -kv[1])))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", type=Path, nargs="+")
    parser.add_argument("--onset", type=float, nargs="+", default=[0.5])
    parser.add_argument("--collar", type=float, default=0.25)
    parser.add_argument("--enhanced", action="store_true", help="also diarize each episode after DeepFilterNet3")
    parser.add_argument("--by-speaker", action="store_true", help="seconds outside truth speech per hypothesis speaker")
    args = parser.parse_args(argv)

    from audiorole.audio.decode import load_audio
    from audiorole.diarization import OfflineDiarizer
    from audiorole.diarization.rttm import read_rttm

    enhancer = None
    if args.enhanced:
        from audiorole.enhance.dfn3_onnx import DFN3Onnx

        enhancer = DFN3Onnx()
    print("| series | audio | onset | episode | DER % | missed % | false alarm % | confusion % |\n"
          "|---|---|---|---|---|---|---|---|")
    notes = []
    for onset in args.onset:
        diarizer = OfflineDiarizer(onset=onset)
        for series in args.series:
            name = series.name if series.name != "series" else series.parent.name
            for episode in sorted((series / "episodes").iterdir()):
                truth = series / "truth" / f"{episode.stem}.rttm"
                if not truth.is_file():
                    continue
                reference = read_rttm(truth)
                wave = load_audio(episode, 16000)
                versions = [("original", wave)] + ([("enhanced", enhancer(wave, 16000))] if enhancer else [])
                for audio, signal in versions:
                    hypothesis = diarizer(signal, 16000, reference.uri)
                    cells = " | ".join(f"{v:.1f}" for v in episode_parts(reference, hypothesis, args.collar))
                    print(f"| {name} | {audio} | {onset:g} | {episode.stem} | {cells} |", flush=True)
                    if args.by_speaker:
                        notes += [f"{name} {audio} onset {onset:g} {episode.stem} {label}: {total:.1f} s, "
                                  f"{outside:.1f} s outside truth speech; covers "
                                  + ", ".join(f"{who} {sec:.1f} s" for who, sec in covered[:3])
                                  for label, total, outside, covered in speaker_rows(reference, hypothesis)]
    if notes:
        print("\nper hypothesis speaker:\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
