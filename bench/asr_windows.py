"""Whisper windows of 30 s vs shortened ones, and batched vs one by one, side by side: time and WER.

    python bench/asr_windows.py                                   # the shipped demo's truth utterances
    python bench/asr_windows.py --series DIR --min-window 10 15   # any series with truth/<episode>.script.jsonl
    python bench/asr_windows.py --min-window --batch-sizes 1 8    # 30 s windows, one by one vs 8 per encoder pass

Every truth utterance of the series is cut from its episode (by its truth times) and
transcribed by the offline tiny.en (beam 5, batch 8, one thread) once with Whisper's
30 s windows and once per ``--min-window`` value (``min_window_seconds``: each clip
encoded at its own length + 3 s, at least that long); each setting runs in the same
process, one after the other. ``--batch-sizes`` repeats the 30 s row at each batch
size (windows per encoder pass and per beam search; batching equals one by one, so
WER must not move). Prints seconds and corpus WER per setting.
"""

import argparse
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "audiorole" / "demo" / "series"


def truth_clips(series: Path, sample_rate: int = 16000):
    from audiorole.audio.decode import load_audio
    from audiorole.prep.truth_eval import read_script

    clips, refs = [], []
    for script in sorted((series / "truth").glob("*.script.jsonl")):
        episode = script.name.split(".")[0]
        wave = load_audio(next((series / "episodes").glob(episode + ".*")), sample_rate)
        for u in read_script(script):
            clips.append(wave[int(u["start"] * sample_rate):int(u["end"] * sample_rate)])
            refs.append(u["text"])
    return clips, refs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=Path, default=DEMO)
    parser.add_argument("--min-window", type=float, nargs="*", default=[10.0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from audiorole.asr.wer import wer
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    clips, refs = truth_clips(args.series)
    seconds = sum(len(c) for c in clips) / 16000
    print(f"{args.series}: {len(clips)} truth utterances, {seconds:.1f} s of speech")
    print("| windows | seconds | WER |\n|---|---|---|")
    settings = [(None, b) for b in args.batch_sizes] + [(m, args.batch_sizes[-1]) for m in args.min_window]
    for minimum, batch in settings:
        asr = WhisperXTranscriber(beam_size=5, batch_size=batch, cpu_threads=args.threads, min_window_seconds=minimum)
        asr._load()  # model loading is not timed
        start = time.perf_counter()
        hyps = [t.text for t in asr.transcribe_many(clips)]
        took = time.perf_counter() - start
        label = "30 s (Whisper's)" if minimum is None else f"own length + 3 s, >= {minimum:g} s"
        label += f", batch {batch}"
        print(f"| {label} | {took:.1f} | {100 * wer(refs, hyps):.2f} % |", flush=True)


if __name__ == "__main__":
    main()
