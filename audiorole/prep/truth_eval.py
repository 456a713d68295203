"""Score a prepared dataset against a series' ground truth, when the series has one.

Ground truth (the demo ships it; annotated corpora can provide the same):
``truth/<episode>.rttm`` (speakers named as characters) and
``truth/<episode>.script.jsonl`` (one utterance per line: speaker, text, start, end).

- DER of each episode's diarization (pyannote.metrics, configurable collar);
- attribution accuracy of kept replies: the reply's character equals the
  truth speaker who talks most inside the reply's span;
- WER of kept replies against the truth text of the utterances they cover.
"""

import json
from collections import defaultdict
from pathlib import Path

from audiorole.asr.wer import wer
from audiorole.diarization.der import diarization_error_rate
from audiorole.diarization.rttm import read_rttm


def read_script(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _overlap(a0, a1, b0, b1) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def evaluate_against_truth(prepared_dir: str | Path, truth_dir: str | Path, collar: float = 0.25) -> dict:
    prepared_dir, truth_dir = Path(prepared_dir), Path(truth_dir)
    der = {}
    for rttm in sorted((prepared_dir / "rttm").glob("*.rttm")):
        reference = truth_dir / rttm.name
        if reference.is_file():
            der[rttm.stem] = diarization_error_rate(read_rttm(reference, rttm.stem), read_rttm(rttm, rttm.stem), collar=collar)
    scripts = {p.name.split(".")[0]: read_script(p) for p in truth_dir.glob("*.script.jsonl")}
    kept = [json.loads(line) for line in (prepared_dir / "kept.jsonl").read_text().splitlines() if line.strip()]
    correct, refs, hyps = 0, [], []
    per_character = defaultdict(lambda: {"replies": 0, "correct": 0})
    for reply in kept:
        script = scripts.get(reply["episode"], [])
        talk = defaultdict(float)
        covered = []
        for utt in script:
            shared = _overlap(reply["start"], reply["end"], utt["start"], utt["end"])
            talk[utt["speaker"]] += shared
            # Utterances mostly inside the reply; a reply that covers no utterance
            # mostly (a fragment of a split turn) has no reference and no WER.
            if shared > 0.5 * (utt["end"] - utt["start"]):
                covered.append(utt)
        truth_speaker = max(talk, key=talk.get) if talk else None
        ok = truth_speaker == reply["character"]
        correct += ok
        per_character[reply["character"]]["replies"] += 1
        per_character[reply["character"]]["correct"] += ok
        if covered:
            refs.append(" ".join(u["text"] for u in sorted(covered, key=lambda u: u["start"])))
            hyps.append(reply["text"])
    return {
        "der": der,
        "der_mean": sum(der.values()) / len(der) if der else None,
        "collar": collar,
        "replies": len(kept),
        "attribution_accuracy": correct / len(kept) if kept else None,
        "wer": wer(refs, hyps) if refs else None,
        "per_character": {k: dict(v) for k, v in sorted(per_character.items())},
    }


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m audiorole.prep.truth_eval <prepared dir> <truth dir> [collar]")
    report = evaluate_against_truth(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:]))
    print(json.dumps(report, indent=2))
