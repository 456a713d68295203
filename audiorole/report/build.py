"""Read runs from folders or W&B, then write the comparison table and the plots."""

from dataclasses import dataclass
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.report.plots import make_plots
from audiorole.report.runs import Run, load_local_runs
from audiorole.report.table import build_table, write_tables


@dataclass
class Report:
    out_dir: Path
    runs: list[Run]
    columns: list[str]
    rows: list[dict]
    plots: list[str]
    notes: list[str]


def load_runs(sources: list[str]) -> list[Run]:
    """Runs from local folders / ``run.json`` files and ``wandb:ENTITY/PROJECT`` specs, in order given."""
    runs: list[Run] = []
    local = [s for s in sources if not s.startswith("wandb:")]
    if local:
        runs += load_local_runs(local)
    for spec in (s for s in sources if s.startswith("wandb:")):
        from audiorole.report.wandb_runs import load_wandb_runs

        runs += load_wandb_runs(spec)
    if not runs:
        raise AudioroleError(f"no runs found in {', '.join(sources)}: expected folders holding run.json "
                             "(or .hydra/config.yaml), e.g. logs/<task>/multiruns/<time>")
    return runs


def default_out_dir(sources: list[str]) -> Path:
    """Beside the runs when one folder was given (``<sweep>/report``), else ``./report``."""
    local = [Path(s) for s in sources if not s.startswith("wandb:")]
    if len(sources) == 1 and local and local[0].is_dir():
        return local[0] / "report"
    return Path("report")


def build_report(sources: list[str], out_dir: str | Path | None = None, metrics: list[str] | None = None) -> Report:
    runs = load_runs(sources)
    out = Path(out_dir) if out_dir else default_out_dir(sources)
    out.mkdir(parents=True, exist_ok=True)
    columns, rows = build_table(runs, metrics)
    plots, notes = make_plots(runs, out)
    write_tables(columns, rows, out, plots, notes)
    return Report(out, runs, columns, rows, plots, notes)
