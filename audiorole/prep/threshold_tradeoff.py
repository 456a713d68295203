"""What moving one filter threshold would cost and buy, measured against ground truth.

    python -m audiorole.prep.threshold_tradeoff data/prepared/demo audiorole/demo/series/truth --out table.md
    python -m audiorole.prep.threshold_tradeoff PREPARED TRUTH max_subtitle_wer=null   # as it was prepared

Every reply that reached the filter is recorded (``kept.jsonl``, ``dropped.jsonl``)
with the fields the rules read, so the filter's own rules (``ReplyFilter.reason``,
``quality_reason``) rerun here with one threshold changed and the others held at
the configured values; nothing is prepared again. Per value: replies kept, their
minutes (in all and per character), attribution precision against the truth
speaker (``truth_eval.truth_speaker``) and mean DNSMOS OVRL.

DNSMOS is scored only on replies that pass the cheaper rules, so a reply dropped
by one of them has no score: when a looser threshold lets it reach the quality
rule, whether it would be kept cannot be known. Such replies are counted apart
as "not scored" (their minutes and precision are known), never guessed.

A prepared dataset does not record its filter config, so the thresholds come
from a filter config file (default: the shipped one) with ``key=value``
overrides; they must reproduce every recorded keep/drop decision, else the run
stops and says which reply disagrees.
"""

import argparse
import inspect
import logging
import math
import sys
from pathlib import Path

from audiorole.errors import SeriesError
from audiorole.prep.filter import ReplyFilter
from audiorole.prep.truth_eval import find_truth, read_jsonl, read_script
from audiorole.prep.truth_spans import truth_speaker
from audiorole.utils.resolvers import ROOT_DIR

log = logging.getLogger(__name__)

FILTER_CONFIG = ROOT_DIR / "conf" / "data" / "prep" / "filter" / "default.yaml"
# Values tried per threshold (the configured one is added when missing); None switches the rule off.
GRID = {
    "min_dnsmos": (None, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0),
    "max_subtitle_wer": (0.2, 0.3, 0.5, 0.75, 1.0, None),
    "max_overlap_ratio": (0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
    "min_seconds": (0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
    "dnsmos_margin": (None, 0.1, 0.2, 0.3, 0.5),
}
# Settings whose "off" (None) is the strictest value rather than the loosest.
OFF_IS_STRICT = {"dnsmos_margin"}
KEPT, DROPPED, NOT_SCORED = "kept", "dropped", "not scored"


def thresholds_of(cfg) -> dict:
    """``ReplyFilter`` keyword arguments from its config node (e.g. ``data.prep.postprocess.filter``)."""
    import hydra
    from omegaconf import OmegaConf

    thresholds = OmegaConf.to_container(cfg, resolve=True)
    thresholds.pop("_target_", None)
    unknown = sorted(set(thresholds) - set(inspect.signature(ReplyFilter).parameters))
    if unknown:
        raise SeriesError(f"{', '.join(unknown)}: no ReplyFilter setting; fix the override or the filter config")
    if thresholds.get("language_identifier") is not None:  # built once, shared by every swept filter
        thresholds["language_identifier"] = hydra.utils.instantiate(cfg.language_identifier)
    return thresholds


def load_thresholds(config: str | Path = FILTER_CONFIG, overrides: list[str] = ()) -> dict:
    """``ReplyFilter`` keyword arguments from a filter config file and ``key=value`` overrides."""
    from omegaconf import OmegaConf

    return thresholds_of(OmegaConf.merge(OmegaConf.load(config), OmegaConf.from_dotlist(list(overrides))))


def episode_thresholds(rules: ReplyFilter, replies: list[dict]) -> dict[str, float | None]:
    """Episode -> the DNSMOS bar ``rules`` set there, from the recorded scores of the replies they let through."""
    scores: dict[str, list[float]] = {}
    for r in replies:
        scores.setdefault(r["episode"], [])
        if "ovrl" in r.get("dnsmos", {}) and rules.reason(r) is None:
            scores[r["episode"]].append(r["dnsmos"]["ovrl"])
    return {ep: rules.quality_threshold(ovrls) for ep, ovrls in scores.items()}


def recomputed_reason(rules: ReplyFilter, reply: dict, threshold: float | None = None) -> str | None:
    """The drop reason ``rules`` give a recorded reply, where its recorded fields suffice."""
    reason = rules.reason(reply)
    if reason is None and "ovrl" in reply.get("dnsmos", {}):
        reason = rules.quality_reason(reply["dnsmos"]["ovrl"], threshold)
    return reason


def verdict(rules: ReplyFilter, reply: dict, threshold: float | None = None) -> str:
    if recomputed_reason(rules, reply, threshold) is not None:
        return DROPPED
    if "ovrl" in reply.get("dnsmos", {}):
        return KEPT
    # Never scored: the verdict is known only when no score could change it (the quality rule is off).
    if rules.quality_reason(-math.inf) == rules.quality_reason(math.inf):
        return DROPPED if rules.quality_reason(math.inf) else KEPT
    return NOT_SCORED


def check_reproduces(rules: ReplyFilter, kept: list[dict], dropped: list[dict], where: Path) -> None:
    """The thresholds must give every recorded reply its recorded fate, or the sweep measures another filter."""
    bars = episode_thresholds(rules, kept + dropped)
    for reply, recorded in [(r, None) for r in kept] + [(r, r["reason"]) for r in dropped]:
        again = recomputed_reason(rules, reply, bars[reply["episode"]])
        if again != recorded:
            raise SeriesError(
                f"{where}: reply {reply['id']} was {recorded or 'kept'} but these thresholds give {again or 'kept'}; "
                "pass the filter settings it was prepared with (key=value, e.g. max_subtitle_wer=null)")


def tally(replies: list[dict], verdicts: list[str], right: dict[str, bool], cast: list[str]) -> dict:
    """Counts, minutes, precision and quality of the kept and of the not-scored replies."""
    def minutes(rows):
        return sum(r["end"] - r["start"] for r in rows) / 60

    def precision(rows):
        judged = [right[r["id"]] for r in rows if r["id"] in right]
        return sum(judged) / len(judged) if judged else None

    kept = [r for r, v in zip(replies, verdicts) if v == KEPT]
    unknown = [r for r, v in zip(replies, verdicts) if v == NOT_SCORED]
    scores = [r["dnsmos"]["ovrl"] for r in kept if "ovrl" in r.get("dnsmos", {})]
    return {
        "kept": len(kept), "minutes": minutes(kept), "precision": precision(kept),
        "mean_ovrl": sum(scores) / len(scores) if scores else None,
        "not_scored": len(unknown), "not_scored_minutes": minutes(unknown), "not_scored_precision": precision(unknown),
        "minutes_per_character": {c: minutes([r for r in kept if r["character"] == c]) for c in cast},
    }


def _strict_to_loose(name: str, values) -> list:
    """A ``min_`` threshold loosens downwards, a ``max_`` one upwards; off (None) is the loosest."""
    lower = name.startswith("min_")
    off = -math.inf if lower != (name in OFF_IS_STRICT) else math.inf
    return sorted(set(values), key=lambda v: off if v is None else v, reverse=lower)


def sweep(kept: list[dict], dropped: list[dict], right: dict[str, bool], thresholds: dict,
          grid: dict = GRID) -> dict[str, list[dict]]:
    """Per threshold, one row per value with the other thresholds as configured."""
    # Settings the config leaves out hold ReplyFilter's own defaults.
    defaults = {k: p.default for k, p in inspect.signature(ReplyFilter).parameters.items()}
    thresholds = {**defaults, **thresholds}
    replies = kept + dropped
    cast = sorted({r["character"] for r in replies})
    table = {}
    for name, values in grid.items():
        rows = []
        for value in _strict_to_loose(name, [*values, thresholds[name]]):
            rules = ReplyFilter(**{**thresholds, name: value})
            bars = episode_thresholds(rules, replies)
            row = tally(replies, [verdict(rules, r, bars[r["episode"]]) for r in replies], right, cast)
            rows.append({"value": value, "configured": value == thresholds[name], **row})
        table[name] = rows
    return table


def truth_rightness(replies: list[dict], prepared: Path, truth: Path) -> dict[str, bool]:
    """Per reply id (in episodes with truth): is its character the truth speaker who talks most in it?"""
    episodes, without = find_truth(prepared, truth, sorted({r["episode"] for r in replies}))
    if without:
        log.warning("%s: no ground truth for %s; precision leaves them out", truth, ", ".join(without))
    scripts = {ep: read_script(truth / f"{ep}.script.jsonl") for ep in episodes}
    return {r["id"]: truth_speaker(r, scripts[r["episode"]]) == r["character"] for r in replies if r["episode"] in scripts}


def tradeoff(prepared: str | Path, truth: str | Path, thresholds: dict, grid: dict = GRID) -> dict[str, list[dict]]:
    """The sweep over a prepared dataset, once ``thresholds`` are shown to be the ones it was prepared with."""
    prepared, truth = Path(prepared), Path(truth)
    if not (prepared / "kept.jsonl").is_file():
        raise SeriesError(f"{prepared}: no kept.jsonl; point at a prepared dataset (python -m audiorole.prepare ...)")
    kept, dropped = read_jsonl(prepared / "kept.jsonl"), read_jsonl(prepared / "dropped.jsonl")
    check_reproduces(ReplyFilter(**thresholds), kept, dropped, prepared)
    return sweep(kept, dropped, truth_rightness(kept + dropped, prepared, truth), thresholds, grid)


def _num(x, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(table: dict[str, list[dict]]) -> str:
    caption = (
        "One threshold moves, the others stay as configured (**bold**: the configured value; off: rule disabled). "
        "Kept minutes are reply spans (end - start). Precision: kept replies whose character is the truth "
        "speaker who talks most inside them. Mean OVRL: DNSMOS overall of the kept replies. "
        "*Not scored*: replies this value would let through the cheaper rules that were dropped by one of them "
        "when prepared, so DNSMOS never scored them and whether the quality rule keeps them is unknown; "
        "they are not in the kept columns (their count, minutes and precision are known, shown apart).\n")
    out = [caption]
    for name, rows in table.items():
        cast = list(rows[0]["minutes_per_character"])
        head = [name, "kept", "kept min", "precision %", "mean OVRL", "not scored", "not scored min",
                "not scored precision %", *(f"{c} min" for c in cast)]
        lines = [f"### {name}\n", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        for r in rows:
            value = "off" if r["value"] is None else f"{r['value']:g}"
            cells = [f"**{value}**" if r["configured"] else value, str(r["kept"]), f"{r['minutes']:.2f}",
                     _pct(r["precision"]), _num(r["mean_ovrl"], ".2f"),
                     str(r["not_scored"]), f"{r['not_scored_minutes']:.2f}",
                     _pct(r["not_scored_precision"]),
                     *(f"{r['minutes_per_character'][c]:.2f}" for c in cast)]
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.prep.threshold_tradeoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("prepared", type=Path, help="prepared dataset folder (data/prepared/NAME)")
    parser.add_argument("truth", type=Path, help="ground-truth folder with <episode>.rttm and <episode>.script.jsonl")
    parser.add_argument("overrides", nargs="*", help="filter settings the dataset was prepared with, key=value")
    parser.add_argument("--filter-config", type=Path, default=FILTER_CONFIG, help="filter config file (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="write the Markdown tables here (default: print them)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        text = markdown(tradeoff(args.prepared, args.truth, load_thresholds(args.filter_config, args.overrides)))
    except SeriesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.out:
        from audiorole.utils.atomic import write_text

        write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
