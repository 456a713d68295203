"""OmegaConf resolvers the config tree uses. Importing this module registers them.

- ``${audiorole.root:}``: the repository root (the folder holding ``conf/``), so
  paths in configs do not depend on the working directory.
- ``${audiorole.pid:}``: this process's id; with a microsecond timestamp it keeps
  run directories of jobs started at the same instant apart.
- ``${audiorole.base_decoder:}``: the shipped base decoder folder, checked against its
  sha256 pins (``audiorole/models/flow/base_decoder.py``).
"""

import os
from pathlib import Path

from omegaconf import OmegaConf

ROOT_DIR = Path(__file__).resolve().parents[2]


def register() -> None:
    OmegaConf.register_new_resolver("audiorole.root", lambda: str(ROOT_DIR), replace=True)
    OmegaConf.register_new_resolver("audiorole.pid", lambda: str(os.getpid()), replace=True)
    OmegaConf.register_new_resolver("audiorole.base_decoder", _base_decoder, replace=True)


def _base_decoder() -> str:
    from audiorole.models.flow.base_decoder import base_decoder_dir  # imports no torch

    return base_decoder_dir()


register()
