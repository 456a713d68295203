"""What each system said, next to the real reply: the first items of an ``evaluate.py`` run, as a Markdown table.

    python -m audiorole.eval.replies logs/evaluate/runs/<run>/eval.json --n 3 [--audio docs/samples/replies]

Reads ``eval.json`` (each system's ``per_item`` rows hold the text it was scored on: its
own words, or the transcript of its speech), takes each character's first ``n`` scored
items in the order the run scored them (the dataset split's test items in order), and
prints one row per item with every system's text; run ``ground_truth`` (its reference
text) for the real reply's column. No selection beyond "the first n". ``--audio DIR``
also copies the run's saved samples of those items (``save_audio`` >= n) as MP3 into
DIR and puts a player under each text.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from audiorole.errors import AudioroleError


def _cell(text) -> str:
    # Every line break Python knows (a model can write \x1c or \u2028 too) would split the table row.
    return " ".join((text or "").replace("|", "\\|").splitlines()).strip() or "(nothing)"


def first_replies(report: dict, n: int = 3, systems: list[str] | None = None) -> list[dict]:
    """``[{id, character, <system>: text, ...}]``: each character's first ``n`` items, every system's text."""
    names = [s["name"] for s in report["systems"] if systems is None or s["name"] in systems]
    if not names:
        raise AudioroleError(f"none of {systems} is in this eval.json (it holds "
                             f"{', '.join(s['name'] for s in report['systems'])})")
    texts = {s["name"]: {r["id"]: r.get("text") for r in s["per_item"]} for s in report["systems"]}
    order = next(s for s in report["systems"] if s["name"] == names[0])["per_item"]
    rows, taken = [], {}
    for item in order:
        if taken.get(item["character"], 0) < n:
            taken[item["character"]] = taken.get(item["character"], 0) + 1
            rows.append({"id": item["id"], "character": item["character"],
                         **{name: texts[name].get(item["id"]) for name in names}})
    return rows


def markdown(rows: list[dict], names: list[str], audio: dict | None = None) -> str:
    """The table; ``audio``: ``{(item id, system): link}`` adds a player under the text that has one."""
    audio = audio or {}

    def cell(row, name):
        link = audio.get((row["id"], name))
        player = f'<br><audio controls preload="none" src="{link}"></audio>' if link else ""
        return _cell(row[name]) + player

    lines = ["| item | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {r['id']} | " + " | ".join(cell(r, name) for name in names) + " |" for r in rows]
    return "\n".join(lines)


def copy_audio(run_dir: Path, rows: list[dict], names: list[str], out: Path, link_base: str) -> dict:
    """MP3 copies of the run's saved samples (``samples/<system>/<character>/<item>.wav``, evaluate.py's
    ``save_audio``) for the rows shown, as ``out/<item>_<system>.mp3``; ``{(item id, system): link}``."""
    import soundfile as sf

    from audiorole.eval.samples import safe_name
    from audiorole.utils.atomic import atomic_path

    links = {}
    for row in rows:
        for name in names:
            wav = run_dir / "samples" / safe_name(name) / safe_name(row["character"]) / f"{safe_name(row['id'])}.wav"
            if not wav.is_file():
                continue
            wave, rate = sf.read(wav, dtype="float32")
            if wave.size == 0:
                continue
            target = out / f"{safe_name(row['id'])}_{safe_name(name)}.mp3"
            with atomic_path(target) as tmp:
                sf.write(tmp, wave.clip(-1, 1), rate, format="MP3")
            links[row["id"], name] = f"{link_base.rstrip('/')}/{target.name}"
    return links


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.eval.replies", description=__doc__.splitlines()[0])
    parser.add_argument("eval_json", help="an evaluate.py run's eval.json")
    parser.add_argument("--n", type=int, default=3, help="items per character (the first ones scored)")
    parser.add_argument("--systems", nargs="*", help="which systems' columns (default: all, in the run's order)")
    parser.add_argument("--audio", type=Path, help="copy the shown items' saved samples here as MP3 and add players")
    parser.add_argument("--link-base", help="how the table links to --audio (default: the folder as given)")
    args = parser.parse_args(argv)
    try:
        path = Path(args.eval_json)
        if not path.is_file():
            raise AudioroleError(f"{path}: no such file; pass an evaluate.py run's eval.json")
        report = json.loads(path.read_text())
        rows = first_replies(report, args.n, args.systems)
        names = [s["name"] for s in report["systems"] if args.systems is None or s["name"] in args.systems]
        audio = None
        if args.audio is not None:
            audio = copy_audio(path.parent, rows, names, args.audio, args.link_base or str(args.audio))
            print(f"{len(audio)} clips -> {args.audio}", file=sys.stderr)
        print(markdown(rows, names, audio))
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
