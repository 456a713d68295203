"""Runs of a W&B project, read with W&B's public API (online; the key comes from the environment only).

W&B keeps the logged config but not Hydra's overrides, so a run's settings are
the config values that differ between runs of the same experiment.
"""

import os
from typing import Any

from audiorole.errors import AudioroleError
from audiorole.report.runs import Run

KEY_VAR = "WANDB_API_KEY"
# Config entries that differ between runs without being a setting of the experiment.
_IGNORED_ROOTS = ("paths", "logger", "callbacks", "hydra", "tags", "datamodule", "ckpt_path")
_STATUS = {"finished": "ok", "failed": "failed", "crashed": "failed", "killed": "failed"}


def parse_project(spec: str) -> str:
    """``wandb:entity/project`` -> ``entity/project``."""
    path = spec.removeprefix("wandb:").strip("/")
    if path.count("/") != 1 or not all(path.split("/")):
        raise AudioroleError(f"'{spec}': expected wandb:ENTITY/PROJECT (e.g. wandb:my-team/audiorole)")
    return path


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _is_setting(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return not key.startswith(_IGNORED_ROOTS) and not last.endswith(("dir", "path", "_target_"))


def varying_settings(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each flattened config, the entries whose values are not the same in every config."""
    keys = sorted({k for c in configs for k in c if _is_setting(k)})
    varying = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    return [{k: c.get(k) for k in varying} for c in configs]


def _experiment(run: Any) -> str | None:
    for tag in getattr(run, "tags", None) or []:
        name, _, value = tag.partition(":")
        if name in ("experiment", "hparams_search") and value:
            return value
    return getattr(run, "group", None)


def load_wandb_runs(spec: str, environ: dict | None = None) -> list[Run]:
    environ = os.environ if environ is None else environ
    project = parse_project(spec)
    key = environ.get(KEY_VAR)
    if not key:
        raise AudioroleError(f"{spec}: reading W&B online needs {KEY_VAR} in the environment "
                             "(export it; it is never read from config or arguments), or give the local sweep folder instead")
    import wandb

    api = wandb.Api(api_key=key, timeout=60)
    raw, configs = [], []
    for run in api.runs(project):
        raw.append(run)
        configs.append(flatten({k: v for k, v in dict(run.config).items() if not k.startswith("_")}))
    runs = []
    for run, config in zip(raw, configs):
        summary = dict(run.summary._json_dict)
        metrics = {k: float(v) for k, v in summary.items()
                   if "/" in k and not k.startswith(("_", "trainer/")) and isinstance(v, (int, float)) and not isinstance(v, bool)}
        runs.append(Run(source=f"wandb:{project}/{run.id}", status=_STATUS.get(run.state, run.state),
                        experiment=_experiment(run), character=config.get("character.name"), stage=config.get("stage_name"),
                        data=config.get("data.name"), metrics=metrics, optimized_metric=config.get("optimized_metric"),
                        wall_seconds=summary.get("_runtime")))
    # Settings are what varies within an experiment, not across the whole project.
    for experiment in {r.experiment for r in runs}:
        members = [i for i, r in enumerate(runs) if r.experiment == experiment]
        for i, settings in zip(members, varying_settings([configs[i] for i in members])):
            runs[i].settings = settings
    return runs
