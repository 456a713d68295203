"""python -m audiorole.benchmark export --prepared DIR --series DIR --out DIR [--characters all] [--part test]

Writes the test replies of the prepared dataset (one character, several, or all) as a
benchmark folder: context audio and text, persona, reference reply, items.jsonl,
items.parquet and a README saying how to answer and how to score.
"""

import argparse
import logging
import sys

from audiorole.errors import AudioroleError


def _export(args) -> int:
    from pathlib import Path

    from audiorole.benchmark.export import export_benchmark
    from audiorole.eval.eval_set import held_out_items, personas
    from audiorole.eval.run import resolve_characters

    prepared = Path(args.prepared)
    characters = resolve_characters(args.characters.split(","), prepared)
    items = {c: held_out_items(prepared, c, part=args.part, with_tokens=False, limit=args.limit) for c in characters}
    result = export_benchmark(items, prepared, args.out, personas(args.series), args.part, dataset=args.name)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{result.items} items ({', '.join(f'{c}: {n}' for c, n in result.characters.items())}) -> "
          f"{result.out_dir} (README.md says how to answer)" + (f"; {len(result.errors)} errors" if result.errors else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.benchmark", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write the held-out replies as a benchmark folder")
    export.add_argument("--prepared", required=True, help="the prepared dataset (data/prepared/<name>)")
    export.add_argument("--series", required=True, help="the series folder (for the characters' personas)")
    export.add_argument("--out", required=True, help="the benchmark folder to write")
    export.add_argument("--characters", default="all", help="comma-separated names, or all (default)")
    export.add_argument("--limit", type=int, help="at most this many items per character")
    export.add_argument("--name", help="the dataset's name in the README (default: the prepared folder's name)")
    export.add_argument("--part", default="test", choices=("test", "dev"),
                        help="which part of the dataset's split (default: test, what evaluate.py scores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return _export(args)
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
