"""Score a prepared dataset against a series' ground truth, over the truth rather than the survivors.

Ground truth (the demo ships it; annotated corpora can provide the same), per episode:
``truth/<episode>.rttm`` (speakers named as characters) and
``truth/<episode>.script.jsonl`` (one utterance per line: speaker, text, start, end).

Every figure is split by the episode's subtitle regime (``named``: cues name the
speaker; ``unnamed``; ``none``: no subtitles), because subtitles drive attribution:

- DER of each episode's diarization (pyannote.metrics, configurable collar);
- attribution precision over kept replies and over every attributed reply
  (kept or dropped); a reply is right when its character is the truth speaker
  who talks most inside its span;
- recall over every truth turn of the cast: the share covered (more than half
  of it) by a reply of the right character, kept or merely attributed;
- WER over all truth utterances: each episode's whole transcript (every turn,
  any speaker, in time order) against its whole script, so missed and
  hallucinated speech count; and, as before, WER of kept replies: of their ASR
  text (``wer_kept``) and of the text the dataset carries (``wer_kept_text``),
  which is the subtitle where the subtitle check kept a reply
  (``kept_text_from_subtitle`` of them).

The subtitle-based transcript filter compares ASR with the subtitles, and the
demo's subtitles are its script: kept-reply scores are then partly true by
construction. Score a dataset prepared with
``data.prep.postprocess.filter.max_subtitle_wer=null``; the report says
whether that filter dropped anything (``subtitle_filter_dropped``).
"""

import json
import logging
import sys
from collections import defaultdict
from pathlib import Path

from audiorole.asr.wer import wer
from audiorole.data.subtitles import read_srt
from audiorole.errors import SeriesError
from audiorole.prep.truth_spans import covers, truth_speaker

log = logging.getLogger(__name__)

REGIMES = ("named", "unnamed", "none")


def read_script(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def subtitle_regime(srt: Path) -> str:
    if not srt.is_file():
        return "none"
    return "named" if any(cue.speaker for cue in read_srt(srt)) else "unnamed"


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def find_truth(prepared_dir: Path, truth_dir: Path, episodes: list[str]) -> tuple[list[str], list[str]]:
    """(episodes with both truth files, episodes without); none with truth is a one-line error."""
    have = [ep for ep in episodes if (truth_dir / f"{ep}.rttm").is_file() and (truth_dir / f"{ep}.script.jsonl").is_file()]
    if not have:
        example = episodes[0] if episodes else "<episode>"
        raise SeriesError(
            f"{truth_dir}: no ground truth for the episodes of {prepared_dir} ({', '.join(episodes) or 'none'}); "
            f"expected {example}.rttm and {example}.script.jsonl there, one pair per episode")
    return have, [ep for ep in episodes if ep not in have]


def evaluate_against_truth(prepared_dir: str | Path, truth_dir: str | Path, collar: float = 0.25,
                           series_dir: str | Path | None = None) -> dict:
    """Scores of a prepared dataset against ``truth_dir``; ``series_dir`` (default: the truth folder's
    parent) gives the cast (``characters.yaml``) and the subtitles that set each episode's regime."""
    from audiorole.diarization.der import diarization_error_rate
    from audiorole.diarization.rttm import read_rttm

    prepared_dir, truth_dir = Path(prepared_dir), Path(truth_dir)
    series_dir = Path(series_dir) if series_dir is not None else truth_dir.parent
    if not (prepared_dir / "kept.jsonl").is_file():
        raise SeriesError(f"{prepared_dir}: no kept.jsonl; point at a prepared dataset (python -m audiorole.prepare ...)")
    kept, dropped = read_jsonl(prepared_dir / "kept.jsonl"), read_jsonl(prepared_dir / "dropped.jsonl")
    episodes = sorted({p.stem for p in (prepared_dir / "rttm").glob("*.rttm")} | {r["episode"] for r in kept + dropped})
    episodes, without_truth = find_truth(prepared_dir, truth_dir, episodes)
    if without_truth:
        log.warning("%s: no ground truth for %s; scored without them", truth_dir, ", ".join(without_truth))
    scripts = {ep: read_script(truth_dir / f"{ep}.script.jsonl") for ep in episodes}
    regimes = {ep: subtitle_regime(series_dir / "subtitles" / f"{ep}.srt") for ep in episodes}
    cast = _cast(series_dir, kept + dropped)

    der = {}
    for ep in episodes:
        hypothesis = prepared_dir / "rttm" / f"{ep}.rttm"
        if hypothesis.is_file():
            der[ep] = diarization_error_rate(read_rttm(truth_dir / f"{ep}.rttm", ep), read_rttm(hypothesis, ep), collar=collar)

    fates = _fates(episodes, kept, dropped, scripts, cast, prepared_dir, truth_dir)
    groups = {regime: [ep for ep in episodes if regimes[ep] == regime] for regime in REGIMES}
    groups = {"all": episodes, **{k: v for k, v in groups.items() if v}}
    report = {
        "collar": collar,
        "episodes": {ep: {"regime": regimes[ep], "der": der.get(ep)} for ep in episodes},
        "episodes_without_truth": without_truth,
        "subtitle_filter_dropped": sum(d["reason"] == "transcript_mismatch" for d in dropped),
        "by_regime": {name: _scores(eps, kept, dropped, scripts, cast, der, prepared_dir, fates)
                      for name, eps in groups.items()},
        "per_episode": {ep: _scores([ep], kept, dropped, scripts, cast, der, prepared_dir, fates) for ep in episodes},
        "per_character": _per_character(episodes, kept, dropped, scripts, cast, fates),
    }
    if report["subtitle_filter_dropped"]:
        log.warning("%s: the subtitle transcript filter dropped %d replies, so kept-reply scores are partly true by "
                    "construction; prepare with data.prep.postprocess.filter.max_subtitle_wer=null to score",
                    prepared_dir, report["subtitle_filter_dropped"])
    return report


def _cast(series_dir: Path, replies: list[dict]) -> set[str]:
    """The registry's characters; without a registry, the characters the replies name."""
    from audiorole.data.characters import load_registry

    if (series_dir / "characters.yaml").is_file():
        return set(load_registry(series_dir / "characters.yaml", series_dir / "characters").characters)
    return {r["character"] for r in replies}


def _fates(episodes, kept, dropped, scripts, cast, prepared_dir: Path, truth_dir: Path) -> dict[str, list]:
    """episode -> [(cast truth utterance, fate)] (``turn_fates``), for episodes with a diarization and transcripts."""
    from audiorole.diarization.rttm import read_rttm
    from audiorole.prep.turn_fates import episode_fates

    out = {}
    for ep in episodes:
        rttm, turns = prepared_dir / "rttm" / f"{ep}.rttm", prepared_dir / "transcripts" / f"{ep}.jsonl"
        if rttm.is_file() and turns.is_file():
            out[ep] = episode_fates(scripts[ep], read_jsonl(turns), [r for r in kept if r["episode"] == ep],
                                    [r for r in dropped if r["episode"] == ep], cast,
                                    read_rttm(rttm, ep), read_rttm(truth_dir / f"{ep}.rttm", ep))
    return out


def _scores(episodes: list[str], kept, dropped, scripts, cast, der, prepared_dir: Path, fates: dict | None = None) -> dict:
    eps = set(episodes)
    kept = [r for r in kept if r["episode"] in eps]
    attributed = kept + [r for r in dropped if r["episode"] in eps]
    right = lambda replies: sum(truth_speaker(r, scripts[r["episode"]]) == r["character"] for r in replies)  # noqa: E731
    truth_turns = [(ep, u) for ep in episodes for u in scripts[ep] if u["speaker"] in cast]

    def recalled(replies) -> int:
        by_episode = defaultdict(list)
        for r in replies:
            by_episode[r["episode"]].append(r)
        return sum(any(r["character"] == u["speaker"] and covers(r, u) for r in by_episode[ep]) for ep, u in truth_turns)

    refs, hyps, carried = [], [], []  # kept replies against the utterances they cover
    for r in kept:
        covered = sorted((u for u in scripts[r["episode"]] if covers(r, u)), key=lambda u: u["start"])
        if covered:
            refs.append(" ".join(u["text"] for u in covered))
            hyps.append(r.get("asr_text") or r["text"])  # what the ASR heard, also where the subtitle became the text
            carried.append(r["text"])
    transcripts = {ep: read_jsonl(prepared_dir / "transcripts" / f"{ep}.jsonl") for ep in episodes}
    whole = [ep for ep in episodes if (prepared_dir / "transcripts" / f"{ep}.jsonl").is_file()]
    ders = [der[ep] for ep in episodes if ep in der]
    return {
        "episodes": len(episodes),
        "der_mean": sum(ders) / len(ders) if ders else None,
        "replies_kept": len(kept),
        "replies_attributed": len(attributed),
        "precision_kept": _ratio(right(kept), len(kept)),
        "precision_attributed": _ratio(right(attributed), len(attributed)),
        "truth_turns": len(truth_turns),
        "recall_kept": _ratio(recalled(kept), len(truth_turns)),
        "recall_attributed": _ratio(recalled(attributed), len(truth_turns)),
        "wer_all": wer([" ".join(u["text"] for u in sorted(scripts[ep], key=lambda u: u["start"])) for ep in whole],
                       [" ".join(t["text"] for t in sorted(transcripts[ep], key=lambda t: t["start"])) for ep in whole])
        if whole else None,
        "wer_kept": wer(refs, hyps) if refs else None,
        "wer_kept_text": wer(refs, carried) if refs else None,
        "kept_text_from_subtitle": sum(r.get("text_source") == "subtitle" for r in kept),
        **(_fate_scores([f for ep in episodes for f in fates[ep]])
           if fates is not None and all(ep in fates for ep in episodes) else {}),
    }


def _fate_scores(fates: list) -> dict:
    """Where the cast's turns went (``turn_fates``), and [kept, turns] per character."""
    from audiorole.prep.turn_fates import summarize

    by_character: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for utt, fate in fates:
        by_character[utt["speaker"]][0] += fate == "kept"
        by_character[utt["speaker"]][1] += 1
    return {"turn_fates": summarize(fates), "recall_by_character": dict(sorted(by_character.items()))}


def _per_character(episodes, kept, dropped, scripts, cast, fates: dict | None = None) -> dict:
    from audiorole.prep.turn_fates import summarize

    kept_ids, out = {r["id"] for r in kept}, {}
    for name in sorted(cast):
        mine = [r for r in kept + dropped if r["character"] == name and r["episode"] in scripts]
        right = [r for r in mine if truth_speaker(r, scripts[r["episode"]]) == name]
        out[name] = {
            "truth_turns": sum(u["speaker"] == name for ep in episodes for u in scripts[ep]),
            "attributed": len(mine),
            "attributed_right": len(right),
            "kept": sum(r["id"] in kept_ids for r in mine),
            "kept_right": sum(r["id"] in kept_ids for r in right),
        }
        if fates:
            out[name]["turn_fates"] = summarize([f for ep in fates for f in fates[ep] if f[0]["speaker"] == name])
    return out


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m audiorole.prep.truth_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("prepared", help="prepared dataset folder (data/prepared/NAME)")
    parser.add_argument("truth", help="ground-truth folder with <episode>.rttm and <episode>.script.jsonl")
    parser.add_argument("collar", nargs="?", type=float, default=0.25, help="DER collar in seconds (pyannote.metrics)")
    parser.add_argument("--series", help="series folder (registry, subtitles); default: the truth folder's parent")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        report = evaluate_against_truth(args.prepared, args.truth, args.collar, args.series)
    except SeriesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
