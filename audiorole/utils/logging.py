"""Send the resolved run config to the loggers, with secrets masked."""

from typing import Any

from omegaconf import DictConfig, OmegaConf

from audiorole.utils.secrets import redact


def loggable_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data, credentials masked (audiorole.utils.secrets)."""
    return redact(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False))


def log_config(cfg: DictConfig, loggers: list) -> None:
    config = loggable_config(cfg)
    for logger in loggers:
        logger.log_hyperparams(config)
