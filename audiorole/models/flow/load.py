"""Read a decoder folder (``config.yaml`` + ``flow.pt``) and load its weights strictly.

``source`` is a local folder (the hub folder ``THUDM/glm-4-voice-decoder`` as downloaded) or a hub
id, fetched with ``huggingface_hub`` (``HF_TOKEN`` from the environment) where the hub is reachable.
"""

from __future__ import annotations

from pathlib import Path

import torch

from audiorole.errors import AudioroleError
from audiorole.models import hyperpyyaml
from audiorole.models.state_dicts import first_mismatch
from audiorole.models.flow.flow import MaskedDiffWithXvec
from audiorole.utils.hub import local_or_hub

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "flow.pt"
HUB_ID = "THUDM/glm-4-voice-decoder"


class FlowLoadError(AudioroleError):
    """A decoder folder is missing, unreadable, or its weights do not fit the flow."""


def resolve_source(source: str | Path) -> Path:
    """A local folder as is; otherwise a hub id, downloading config.yaml and flow.pt only."""
    return local_or_hub(source, FlowLoadError, needs=f"{CONFIG_FILE} and {WEIGHTS_FILE}", example=HUB_ID,
                        allow_patterns=[(CONFIG_FILE, WEIGHTS_FILE)])


def architecture_config(source: str | Path) -> dict:
    """The ``flow:`` section of a decoder folder's or hub id's ``config.yaml``, fetching nothing else (no weights)."""
    folder = local_or_hub(source, FlowLoadError, needs=CONFIG_FILE, example=HUB_ID, allow_patterns=[(CONFIG_FILE,)])
    if not (folder / CONFIG_FILE).is_file():
        raise FlowLoadError(f"{folder / CONFIG_FILE}: missing; model.decoder.architecture needs a decoder folder "
                            f"with its {CONFIG_FILE} (e.g. {HUB_ID} as downloaded)")
    return read_flow_config(folder)


def read_flow_config(folder: Path) -> dict:
    """The ``flow:`` section of ``folder/config.yaml`` as plain data ({} when there is no config file)."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        flow = hyperpyyaml.load(path.read_text()).get("flow")
    except Exception as err:
        raise FlowLoadError(f"{path}: unreadable HyperPyYAML ({err.__class__.__name__}: {str(err).splitlines()[0]}); "
                            "fix the file or remove it to use GLM-4-Voice's defaults") from None
    if not isinstance(flow, dict):
        raise FlowLoadError(f"{path}: no `flow:` section; fix the file or remove it to use GLM-4-Voice's defaults")
    return flow


def load_state(flow: MaskedDiffWithXvec, state: dict, where: str) -> MaskedDiffWithXvec:
    """``load_state_dict(strict=True)`` with a one-line error naming the first differing tensor."""
    problem = first_mismatch(flow.state_dict(), state)
    if problem:
        raise FlowLoadError(f"{where}: {problem}; the weights do not match the flow built from its config "
                            f"(check {CONFIG_FILE} or pass the folder the weights came with)")
    flow.load_state_dict(state, strict=True)
    return flow


def weights_file(folder: Path) -> Path:
    """``folder/flow.pt``, checked before anything is built (a missing file fails at once)."""
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise FlowLoadError(f"{path}: missing; the decoder folder needs {WEIGHTS_FILE} (and {CONFIG_FILE})")
    return path


def read_weights(path: Path) -> dict:
    """A ``flow.pt`` state dict, read without unpickling code (``weights_only``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise FlowLoadError(f"{path}: not a torch state dict ({type(err).__name__}); pass the public {WEIGHTS_FILE}") from None
    return state["state_dict"] if isinstance(state, dict) and "state_dict" in state else state
