"""Compare runs: one table (markdown, CSV, console) and each experiment's plots.

    python -m audiorole.report logs/data_quantity/multiruns/<sweep> [--out DIR]
"""

from audiorole.report.build import build_report

__all__ = ["build_report"]
