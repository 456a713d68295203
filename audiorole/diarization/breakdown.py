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

``--set KEY=V1,V2`` compares settings of the diarizer's clustering and output stage
(``OfflineDiarizer`` arguments such as ``threshold``, ``min_cluster_size``,
``min_duration_off``) on the same segmentation and embeddings, computed once per
episode and onset; ``--cache DIR`` keeps those features on disk between runs (the
diarizer's ``feature_cache``, shared with datasets prepared with the same folder), so a
sweep over a whole grid part costs the clustering alone. Episodes are read as the
pipeline's standardise step hands them on. ``--out FILE`` writes every
row as JSON lines; with more than one setting a summary per setting follows the
rows (mean and worst DER, episodes over 15 %), and by SNR when the series belong to
a grid part (``python -m audiorole.demo.grid``).
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


def false_overlap(reference, hypothesis) -> float:
    """Seconds where the hypothesis has two or more speakers and the truth fewer, in % of the truth's
    speech: a voice the diarizer doubles (two clusters at once) makes a clean turn look overlapped,
    and the dataset's overlap rule then drops it."""
    total = reference.get_timeline().support().duration() or 1.0
    doubled = hypothesis.get_overlap().extrude(reference.get_overlap())
    return 100 * doubled.duration() / total


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


def parse_settings(items: list[str]) -> list[dict]:
    """``["threshold=0.7,0.8", "center=true"]`` -> every combination as keyword arguments."""
    import itertools

    import yaml

    keys, values = [], []
    for item in items:
        key, _, text = item.partition("=")
        if not key or not text:
            raise SystemExit(f"--set {item!r}: write KEY=V1,V2 (e.g. threshold=0.7,0.8)")
        keys.append(key)
        values.append([yaml.safe_load(v) for v in text.split(",")])
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)] or [{}]


def standardised(episode: Path):
    """The episode as the pipeline's first step hands it to diarization: 16 kHz mono at the step's
    loudness, through 16-bit FLAC (so cached features are shared with prepared datasets)."""
    import io

    import soundfile as sf

    from audiorole.audio.decode import decode_audio
    from audiorole.audio.loudness import normalise_loudness
    from audiorole.prep.standardise import Standardise

    step = Standardise()
    wave, _ = decode_audio(episode, step.sample_rate)
    wave, _ = normalise_loudness(wave, step.sample_rate, step.target_lufs)
    buffer = io.BytesIO()
    sf.write(buffer, wave, step.sample_rate, subtype="PCM_16", format="FLAC")
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def _label(onset: float, setting: dict) -> str:
    return " ".join([f"{onset:g}", *(f"{k}={v}" for k, v in setting.items())])


def summary(rows: list[dict], grid: dict[tuple[str, str], dict]) -> str:
    """Per setting: mean and worst DER, episodes over 15 % and mean false overlap, overall and by SNR
    where the grid says."""
    from collections import defaultdict

    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        snr = grid.get((r["series"], r["episode"]), {}).get("snr_db", "?")
        groups[(r["setting"], "all")].append(r)
        groups[(r["setting"], "clean" if snr is None else f"{snr:g} dB" if snr != "?" else "?")].append(r)
    lines = ["| setting | SNR | episodes | DER mean % | DER max % | > 15 % | false overlap mean % |",
             "|---|---|---|---|---|---|---|"]
    for (setting, snr), group in groups.items():
        ders = [r["der"] for r in group]
        doubled = sum(r.get("false_overlap", 0.0) for r in group) / len(group)
        lines.append(f"| {setting} | {snr} | {len(ders)} | {sum(ders) / len(ders):.1f} | {max(ders):.1f} | "
                     f"{sum(d > 15 for d in ders)} | {doubled:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", type=Path, nargs="+")
    parser.add_argument("--onset", type=float, nargs="+", default=[0.5])
    parser.add_argument("--collar", type=float, default=0.25)
    parser.add_argument("--enhanced", action="store_true", help="also diarize each episode after DeepFilterNet3")
    parser.add_argument("--by-speaker", action="store_true", help="seconds outside truth speech per hypothesis speaker")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=V1,V2", help="diarizer settings to compare")
    parser.add_argument("--cache", type=Path, help="keep segmentation and embeddings per episode here")
    parser.add_argument("--out", type=Path, help="write every row as JSON lines here")
    parser.add_argument("--embed-enhanced", action="store_true",
                        help="embed speakers from the DeepFilterNet3-enhanced episode (segmentation still reads the original)")
    parser.add_argument("--episodes", nargs="+", default=["*"], metavar="GLOB", help="only episodes whose name matches")
    args = parser.parse_args(argv)
    settings = parse_settings(args.set)

    import fnmatch

    from audiorole.diarization import OfflineDiarizer
    from audiorole.diarization.rttm import read_rttm

    enhancer = None
    if args.enhanced or args.embed_enhanced:
        from audiorole.enhance.dfn3_onnx import DFN3Onnx

        enhancer = DFN3Onnx()
    print("| series | audio | onset | episode | DER % | missed % | false alarm % | confusion % | false overlap % |\n"
          "|---|---|---|---|---|---|---|---|---|")
    notes, rows, grid = [], [], {}
    for series in args.series:
        from audiorole.demo.grid import episode_rows

        grid.update(episode_rows(series.parent))
    for onset in args.onset:
        diarizer = OfflineDiarizer(onset=onset, feature_cache=args.cache,
                                   embedding_enhancer=enhancer if args.embed_enhanced else None)
        for series in args.series:
            name = series.name if series.name != "series" else series.parent.name
            for episode in sorted((series / "episodes").iterdir()):
                truth = series / "truth" / f"{episode.stem}.rttm"
                if episode.name.startswith(".") or not truth.is_file() or not any(
                        fnmatch.fnmatch(episode.stem, pattern) for pattern in args.episodes):
                    continue
                reference = read_rttm(truth)
                wave = standardised(episode)
                versions = [("original", wave)] + ([("enhanced", None)] if args.enhanced else [])
                for audio, signal in versions:
                    if signal is None:
                        signal = enhancer(wave, 16000)
                    features = diarizer.features(signal, 16000)
                    for setting in settings:
                        tuned = OfflineDiarizer(onset=onset, **setting)  # its features come from ``diarizer``
                        tuned._pipeline = diarizer.pipeline  # one model load; the settings apply in assemble
                        hypothesis = tuned.assemble(features, reference.uri)
                        parts = episode_parts(reference, hypothesis, args.collar) + [false_overlap(reference, hypothesis)]
                        label = _label(onset, setting)
                        rows.append({"series": name, "audio": audio, "setting": label, "episode": episode.stem,
                                     "der": parts[0], "missed": parts[1], "false_alarm": parts[2], "confusion": parts[3],
                                     "false_overlap": parts[4],
                                     "speakers": len(hypothesis.labels()), "truth_speakers": len(reference.labels())})
                        cells = " | ".join(f"{v:.1f}" for v in parts)
                        print(f"| {name} | {audio} | {label} | {episode.stem} | {cells} |", flush=True)
                        if args.by_speaker:
                            notes += [f"{name} {audio} onset {label} {episode.stem} {lab}: {total:.1f} s, "
                                      f"{outside:.1f} s outside truth speech; covers "
                                      + ", ".join(f"{who} {sec:.1f} s" for who, sec in covered[:3])
                                      for lab, total, outside, covered in speaker_rows(reference, hypothesis)]
    if args.out:
        from audiorole.utils.atomic import write_jsonl

        write_jsonl(args.out, rows)
    if len(settings) > 1 or grid:
        print("\n" + summary(rows, grid))
    if notes:
        print("\nper hypothesis speaker:\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
