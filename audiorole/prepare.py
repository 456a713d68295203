"""Build a dataset from a series folder, without training.

    python -m audiorole.prepare data=demo
    python -m audiorole.prepare data=series data.series_dir=DIR data.name=NAME
    python -m audiorole.prepare -m hydra/launcher=slurm data=series ... data.shard.count=8 'data.shard.index=range(8)'
    python -m audiorole.prep.merge data/prepared/NAME        # after a sharded run

Exit status 1 when any file failed (see failures.jsonl); what succeeded is kept.
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

import audiorole.utils.resolvers  # noqa: F401
from audiorole.prep.run import prepare_dataset
from audiorole.utils.resolvers import ROOT_DIR
from audiorole.utils.task import task_wrapper

log = logging.getLogger("prepare")


@task_wrapper
def run(cfg: DictConfig):
    result = prepare_dataset(cfg.data, cfg.get("character_name"), cfg.get("tokenizer"))
    stats = result.stats
    log.info("dataset at %s: %d replies kept (%.1f min), %d dropped, %d failures",
             cfg.data.out_dir, stats.get("replies_kept", 0), 60 * stats.get("kept_hours", 0.0),
             stats.get("replies_dropped", 0), len(result.failures))
    return result


@hydra.main(version_base="1.3", config_path=str(ROOT_DIR / "conf"), config_name="prepare")
def main(cfg: DictConfig) -> None:
    result = run(cfg)
    if result is not None and result.failures and not cfg.get("allow_failures", False):
        sys.exit(1)


if __name__ == "__main__":
    main()
