"""Runs to compare, read from their folders: ``run.json`` first, logger files as a fallback.

A run folder is one holding ``run.json`` (``audiorole.utils.run_record``) or, for
runs made before it existed, Hydra's ``.hydra/config.yaml``. Metrics missing from
``run.json`` are filled from Lightning's ``metrics.csv`` (last value of each
column) and W&B's offline ``wandb-summary.json`` when those are present.
"""

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from audiorole.errors import AudioroleError

RUN_JSON = "run.json"
HYDRA_CONFIG = Path(".hydra") / "config.yaml"
# Override keys that say where a run writes, not what it does: never a compared setting.
_NOT_SETTINGS = ("paths.", "hydra.", "hydra/")


@dataclass
class Run:
    """One run as the report sees it, from whichever source it came."""

    source: str                                   # a run folder, or wandb:<entity/project>/<id>
    status: str                                   # ok | failed | unknown (or a W&B state)
    experiment: str | None = None
    character: str | None = None
    stage: str | None = None
    data: str | None = None
    error: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)   # override key -> value (what this job changed)
    sweep_params: list[str] = field(default_factory=list)    # the keys the sweep varied
    metrics: dict[str, float | None] = field(default_factory=dict)
    optimized_metric: str | None = None
    character_minutes: float | None = None
    wall_seconds: float | None = None
    job_num: int | None = None


def parse_value(text: str) -> Any:
    """An override's value as YAML reads it (``null`` -> None, ``0.5`` -> 0.5), else the text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool)) or value is None else text


def _lookup(config: dict, dotted: str) -> tuple[bool, Any]:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def settings_from_overrides(overrides: list[str], config: dict | None = None) -> dict[str, Any]:
    """``key=value`` overrides as a dict; a config key's value is taken from the resolved config
    (so ``model.init_from=${base_decoder}`` shows the path), a group choice from the override."""
    settings = {}
    for item in overrides:
        key, sep, text = str(item).partition("=")
        key = key.lstrip("+~")
        if not sep or key.startswith(_NOT_SETTINGS):
            continue
        found, value = _lookup(config or {}, key) if "/" not in key else (False, None)
        settings[key] = value if found and not isinstance(value, (dict, list)) else parse_value(text)
    return settings


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def csv_metrics(run_dir: Path) -> dict[str, float]:
    """Last logged value of every column of Lightning CSVLogger files under ``run_dir``."""
    metrics: dict[str, float] = {}
    for path in sorted(run_dir.glob("**/metrics.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                for name, text in row.items():
                    value = _number(text) if text not in (None, "") else None
                    if value is not None and name not in ("epoch", "step"):
                        metrics[name] = value
    return metrics


def wandb_summary_metrics(run_dir: Path) -> dict[str, float]:
    """Final values from W&B offline/online run files (``files/wandb-summary.json``)."""
    metrics: dict[str, float] = {}
    for path in sorted(run_dir.glob("**/files/wandb-summary.json")):
        try:
            summary = json.loads(path.read_text())
        except ValueError:
            continue
        for name, value in summary.items():
            number = _number(value) if not isinstance(value, bool) else None
            if "/" in name and not name.startswith(("_", "trainer/")) and number is not None:
                metrics[name] = number
    return metrics


def _from_run_json(run_dir: Path) -> Run:
    path = run_dir / RUN_JSON
    try:
        record = json.loads(path.read_text())
    except ValueError as exc:
        raise AudioroleError(f"{path}: not valid JSON ({exc}); delete it or rerun the job") from None
    optimized = record.get("optimized_metric") or {}
    return Run(
        source=str(run_dir), status=record.get("status") or "unknown", experiment=record.get("experiment"),
        character=record.get("character"), stage=record.get("stage"), data=record.get("data"),
        error=record.get("error"), settings=settings_from_overrides(record.get("overrides") or [], record.get("config")),
        sweep_params=list(record.get("sweep_params") or []), metrics=dict(record.get("metrics") or {}),
        optimized_metric=optimized.get("name"), character_minutes=record.get("character_minutes"),
        wall_seconds=record.get("wall_seconds"), job_num=record.get("job_num"),
    )


def _from_hydra_files(run_dir: Path) -> Run:
    """A run without ``run.json``: what Hydra saved about it."""
    def load(name: str) -> Any:
        path = run_dir / ".hydra" / name
        return yaml.safe_load(path.read_text()) if path.is_file() else None

    config = load("config.yaml") or {}
    hydra = (load("hydra.yaml") or {}).get("hydra", {})
    choices = (hydra.get("runtime") or {}).get("choices") or {}
    character = config.get("character")
    failed = run_dir / "failed.json"
    error = json.loads(failed.read_text()).get("error") if failed.is_file() else None
    return Run(
        source=str(run_dir), status="failed" if failed.is_file() else "unknown",
        experiment=choices.get("experiment") or choices.get("hparams_search"),
        character=character.get("name") if isinstance(character, dict) else None,
        stage=config.get("stage_name"), data=(config.get("data") or {}).get("name"), error=error,
        settings=settings_from_overrides(load("overrides.yaml") or []),
        sweep_params=sorted((hydra.get("sweeper") or {}).get("params") or {}),
        optimized_metric=config.get("optimized_metric"), job_num=(hydra.get("job") or {}).get("num"),
    )


def load_run(run_dir: Path) -> Run:
    run = _from_run_json(run_dir) if (run_dir / RUN_JSON).is_file() else _from_hydra_files(run_dir)
    logged = {**csv_metrics(run_dir), **wandb_summary_metrics(run_dir)}
    run.metrics = {**logged, **{k: v for k, v in run.metrics.items() if v is not None or k not in logged}}
    return run


def find_run_dirs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) holding ``run.json`` or Hydra's saved config."""
    if not root.exists():
        raise AudioroleError(f"{root}: no such file or folder; give a sweep folder (logs/<task>/multiruns/<time>) or run folders")
    if root.is_file():
        if root.name != RUN_JSON:
            raise AudioroleError(f"{root}: expected a folder or a {RUN_JSON} file")
        return [root.parent]
    found = {p.parent for p in root.rglob(RUN_JSON)}
    found |= {p.parent.parent for p in root.rglob(str(HYDRA_CONFIG))}
    if (root / RUN_JSON).is_file() or (root / HYDRA_CONFIG).is_file():
        found.add(root)
    return sorted(found)


def load_local_runs(paths: list[str | Path]) -> list[Run]:
    dirs: list[Path] = []
    for path in paths:
        dirs += [d for d in find_run_dirs(Path(path)) if d not in dirs]
    return [load_run(d) for d in dirs]
