"""python -m audiorole.report SOURCE... [--out DIR] [--metrics val/ap,val/aq]

SOURCE is a sweep folder, run folders, run.json files, or wandb:ENTITY/PROJECT
(online, WANDB_API_KEY from the environment). Writes runs.md, runs.csv and the
experiments' plots to --out (default: <sweep>/report for one folder, else ./report).
"""

import argparse
import logging
import sys

from audiorole.errors import AudioroleError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.report", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="sweep/run folders, run.json files, or wandb:ENTITY/PROJECT")
    parser.add_argument("--out", help="folder for runs.md, runs.csv and plots")
    parser.add_argument("--metrics", help="comma-separated metric columns (default: every result metric, not train/ traces)")
    parser.add_argument("--quiet", action="store_true", help="no console table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    from audiorole.report.build import build_report
    from audiorole.report.table import print_table

    try:
        report = build_report(args.sources, args.out, args.metrics.split(",") if args.metrics else None)
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print_table(report.columns, report.rows)
    for note in report.notes:
        print(f"note: {note}")
    failed = sum(r.status == "failed" for r in report.runs)
    print(f"{len(report.runs)} runs ({failed} failed) -> {report.out_dir}/runs.md, runs.csv"
          + (f", {len(report.plots)} plots" if report.plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
