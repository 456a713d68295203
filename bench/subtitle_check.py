"""Choose the subtitle check's ``min_logprob`` for a scoring model: true subtitles against wrong texts.

    python bench/subtitle_check.py --prepared WORK/dev/NAME/*/data/prepared/* --grid GRID/dev \\
        [--model offline] [--out docs/results/subtitle_check.json]

For every reply of the prepared datasets that the transcript check judged (kept, or
dropped as ``transcript_mismatch``), the scoring model reads four texts from the reply's
audio, teacher-forced (``WhisperXTranscriber.text_logprob``): its subtitle; another
subtitle of the same series (a wrong line); the subtitle with a third of its words
replaced by other words of the series; the subtitle with a third of its words left out
(a condensed subtitle). With ``--grid`` (the series' truth scripts) only replies whose
subtitle is what the truth says is spoken in them count as true (WER ≤ 0.1).

For each candidate threshold the table gives the share of true subtitles accepted, on
the transcript mismatches (what the check can rescue) and on the kept replies, and the
share of each wrong text accepted. The rule, fixed before looking: the lowest threshold
at which no kind of wrong text is accepted more than 5 % of the time on the mismatches.
Wrong texts are drawn with a fixed seed; the run is deterministic.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
from pathlib import Path

import numpy as np
import soundfile as sf

THRESHOLDS = (-1.5, -2.0, -2.5, -2.75, -3.0, -3.25, -3.5, -4.0)
WRONG = ("other_line", "words_changed", "words_dropped")
MAX_WRONG = 0.05


def wrong_texts(subtitle: str, others: list[str], vocab: list[str], rng: random.Random) -> dict[str, str]:
    words = subtitle.split()
    chosen = set(rng.sample(range(len(words)), max(1, len(words) // 3)))
    return {"other_line": rng.choice([s for s in others if s != subtitle]),
            "words_changed": " ".join(rng.choice(vocab) if i in chosen else w for i, w in enumerate(words)),
            "words_dropped": " ".join(w for i, w in enumerate(words) if i not in chosen) or "."}


def judged_replies(prepared: Path) -> list[dict]:
    from audiorole.prep.truth_eval import read_jsonl

    rows = read_jsonl(prepared / "kept.jsonl") + read_jsonl(prepared / "dropped.jsonl")
    return [r for r in rows if r.get("subtitle") and r.get("reason") in (None, "transcript_mismatch", "low_dnsmos")]


def score_dataset(prepared: Path, scorer, truth_dir: Path | None, rng: random.Random) -> list[dict]:
    from audiorole.asr.wer import wer
    from audiorole.prep.truth_eval import read_script
    from audiorole.prep.truth_spans import covers

    replies = judged_replies(prepared)
    subtitles = sorted({r["subtitle"] for r in replies})
    vocab = sorted({w for s in subtitles for w in s.split()})
    scripts, out = {}, []
    for r in replies:
        if truth_dir is not None:
            if r["episode"] not in scripts:
                scripts[r["episode"]] = read_script(truth_dir / f"{r['episode']}.script.jsonl")
            said = " ".join(u["text"] for u in scripts[r["episode"]] if covers(r, u))
            if not said or wer(said, r["subtitle"]) > 0.1:
                continue
        audio = glob.glob(str(prepared / "work" / "standardise" / r["episode"] / "*" / "audio.flac"))[0]
        sr = sf.info(audio).samplerate
        clip, _ = sf.read(audio, start=int(r["start"] * sr), stop=int(r["end"] * sr), dtype="float32")
        if sr != 16000:
            import soxr

            clip = soxr.resample(clip, sr, 16000)
        texts = {"subtitle": r["subtitle"], **wrong_texts(r["subtitle"], subtitles, vocab, rng)}
        scores = scorer.text_logprob([clip] * len(texts), list(texts.values()))
        out.append({"id": r["id"], "judged": "mismatch" if r.get("reason") == "transcript_mismatch" else "passed",
                    **dict(zip(texts, scores))})
    return out


def table(rows: list[dict]) -> tuple[list[dict], float | None]:
    mism = [r for r in rows if r["judged"] == "mismatch"]
    passed = [r for r in rows if r["judged"] == "passed"]
    share = lambda rs, key, t: float(np.mean([r[key] is not None and r[key] >= t for r in rs])) if rs else None  # noqa: E731
    lines, chosen = [], None
    for t in THRESHOLDS:
        line = {"min_logprob": t, "true_mismatch": share(mism, "subtitle", t), "true_passed": share(passed, "subtitle", t),
                **{f"{k}_mismatch": share(mism, k, t) for k in WRONG}}
        lines.append(line)
        if all((line[f"{k}_mismatch"] or 0.0) <= MAX_WRONG for k in WRONG):
            chosen = t  # thresholds run from strict to lenient: the last one within the rule is the lowest
    return lines, chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepared", type=Path, nargs="+", required=True, help="prepared dataset folders")
    parser.add_argument("--grid", type=Path, help="the grid part (series folders with truth/): count only true subtitles")
    parser.add_argument("--model", default="offline", help="the scoring Whisper model (offline, a CTranslate2 dir, large-v3)")
    parser.add_argument("--out", type=Path, help="write the rows and the table as JSON here")
    args = parser.parse_args(argv)
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    scorer, rng, rows = WhisperXTranscriber(model=args.model, language="en"), random.Random(0), []
    for prepared in args.prepared:
        truth = args.grid / prepared.name / "truth" if args.grid else None
        rows += score_dataset(prepared, scorer, truth, rng)
    lines, chosen = table(rows)
    n_mism = sum(r["judged"] == "mismatch" for r in rows)
    print(f"{len(rows)} replies ({n_mism} transcript mismatches); share accepted at each min_logprob:")
    print("| min_logprob | true, mismatches | true, passed | " + " | ".join(f"{k}, mismatches" for k in WRONG) + " |")
    print("|---" * (3 + len(WRONG)) + "|")
    for line in lines:
        print("| " + " | ".join("" if v is None else f"{v:.2f}" if isinstance(v, float) and k != "min_logprob" else f"{v}"
                                for k, v in line.items()) + " |")
    print(f"chosen (lowest with every wrong text <= {MAX_WRONG:.0%} on the mismatches): {chosen}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": args.model, "rows": rows, "table": lines, "chosen": chosen}, indent=1))


if __name__ == "__main__":
    main()
