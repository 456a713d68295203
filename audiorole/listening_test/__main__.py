"""python -m audiorole.listening_test {make,collect} ...

make:    a static page (open page/index.html or serve the folder) of blinded, randomised trials
         from a benchmark folder and systems' answer folders; key.json beside it says what is what.
collect: raters' saved answer files + key.json -> listening.md / listening.json (beside eval.md
         with --eval) and W&B (offline unless WANDB_MODE is set; --no-wandb to skip).
"""

import argparse
import logging
import sys

from audiorole.errors import AudioroleError


def _systems(specs: list[str]) -> dict[str, str]:
    systems = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise AudioroleError(f"--system {spec!r}: write NAME=FOLDER, e.g. --system gpt4o=answers/gpt4o")
        if name in systems:
            raise AudioroleError(f"--system {name} given twice; give each system a distinct name")
        systems[name] = folder
    return systems


def _make(args) -> int:
    from audiorole.listening_test.make import make_test

    key = make_test(args.benchmark, _systems(args.system), args.out, title=args.title, kinds=tuple(args.kinds.split(",")),
                    show_text=args.show_text, items=args.items, context_turns=args.context_turns,
                    loudness_lufs=None if args.no_loudness else args.loudness, seed=args.seed)
    if key["errors"]:
        print(f"{len(key['errors'])} replies missing or unreadable (listed above): their trials are left out",
              file=sys.stderr)
    print(f"{len(key['trials'])} trials -> {args.out}/page/index.html (share page/ only; keep {args.out}/key.json)")
    return 0


def _collect(args) -> int:
    from audiorole.listening_test.collect import collect, markdown

    result, errors = collect(args.files, args.key, args.eval, args.out, wandb_log=not args.no_wandb)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(markdown(result))
    print(f"-> {result['out_dir']}/listening.md, listening.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.listening_test", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="build the page and its key")
    make.add_argument("--benchmark", required=True, help="a folder from `python -m audiorole.benchmark export`")
    make.add_argument("--system", action="append", default=[], metavar="NAME=FOLDER",
                      help="a system's answer folder (<item id>.wav); repeat; BENCH/reference is the real replies")
    make.add_argument("--out", required=True, help="where page/ and key.json go")
    make.add_argument("--title", default="Listening test")
    make.add_argument("--kinds", default="voice,naturalness,character", help="trial kinds to include")
    make.add_argument("--show-text", action="store_true", help="show each reply's text in the in-character trials")
    make.add_argument("--items", type=int, help="a seeded sample of this many items (default: all)")
    make.add_argument("--context-turns", type=int, default=4, help="conversation turns shown in in-character trials")
    make.add_argument("--loudness", type=float, default=-23.0, help="LUFS every clip is normalised to")
    make.add_argument("--no-loudness", action="store_true", help="keep every clip's level as written")
    make.add_argument("--seed", type=int, default=0)
    collect = sub.add_parser("collect", help="unblind answer files into rates, scores and agreement")
    collect.add_argument("files", nargs="+", help="answer files the raters saved")
    collect.add_argument("--key", required=True, help="the key.json written by make")
    collect.add_argument("--eval", help="an evaluate.py run's eval.json (or its folder): judge correlation, output beside it")
    collect.add_argument("--out", help="output folder (default: beside --eval, else beside the key)")
    collect.add_argument("--no-wandb", action="store_true", help="do not log to W&B")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return _make(args) if args.command == "make" else _collect(args)
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
