"""Load GLM-4-Voice's public flow (``config.yaml`` + ``flow.pt``) into our implementation, strictly.

``source`` is a local folder (the hub folder ``THUDM/glm-4-voice-decoder`` as downloaded) or a hub
id, fetched with ``huggingface_hub`` (``HF_TOKEN`` from the environment) where the hub is reachable.
"""

from __future__ import annotations

from pathlib import Path

import torch

from audiorole.errors import AudioroleError
from audiorole.models.glm4voice_flow import hyperpyyaml
from audiorole.models.glm4voice_flow.config import build_flow, merge_config
from audiorole.models.glm4voice_flow.flow import MaskedDiffWithXvec
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


def first_mismatch(expected: dict, found: dict) -> str | None:
    """Describe the first tensor (in the model's order) that differs between two state dicts, else None."""
    for name, tensor in expected.items():
        if name not in found:
            return f"{name} {tuple(tensor.shape)} is missing"
        if tuple(found[name].shape) != tuple(tensor.shape):
            return f"{name} has shape {tuple(found[name].shape)}, expected {tuple(tensor.shape)}"
    extra = next((name for name in found if name not in expected), None)
    return None if extra is None else f"{extra} {tuple(found[extra].shape)} is unexpected"


def load_state(flow: MaskedDiffWithXvec, state: dict, where: str) -> MaskedDiffWithXvec:
    """``load_state_dict(strict=True)`` with a one-line error naming the first differing tensor."""
    problem = first_mismatch(flow.state_dict(), state)
    if problem:
        raise FlowLoadError(f"{where}: {problem}; the weights do not match the flow built from its config "
                            f"(check {CONFIG_FILE} or pass the folder the weights came with)")
    flow.load_state_dict(state, strict=True)
    return flow


def load_flow(source: str | Path = HUB_ID, device: str | torch.device = "cpu",
              config: dict | None = None) -> MaskedDiffWithXvec:
    """The flow of a GLM-4-Voice-style decoder folder, weights loaded strictly, in eval mode.

    ``config`` (a partial nested config) overrides what the folder's ``config.yaml`` says, e.g.
    ``{"prior_loss_weight": 1.0}`` for fine-tuning.
    """
    folder = resolve_source(source)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise FlowLoadError(f"{weights}: missing; the decoder folder needs {WEIGHTS_FILE} (and {CONFIG_FILE})")
    flow = build_flow(merge_config(read_flow_config(folder), config))
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:
        raise FlowLoadError(f"{weights}: not a torch state dict ({type(err).__name__}); pass the public flow.pt") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    return load_state(flow, state, str(weights)).to(device).eval()
