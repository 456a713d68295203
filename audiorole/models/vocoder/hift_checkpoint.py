"""Load and write HiFT weights in the public layout (GLM-4-Voice's ``hift.pt``).

The public file is a bare state dict saved with the old weight norm
(``<m>.weight_g``/``<m>.weight_v``); our modules use the parametrization
(``<m>.parametrizations.weight.original0/1``), so names are mapped both ways,
and a state dict whose weight norm is folded (plain ``<m>.weight``) loads
into a folded model. Loading is ``strict``: every tensor must exist with its
shape, and a mismatch is one line naming the first differing tensor.
"""

from __future__ import annotations

from pathlib import Path

import torch

from audiorole.errors import ConfigError

from .hift import HiFTConfig, HiFTGenerator, resolve_hift_config
from audiorole.models.state_dicts import first_mismatch

from .public_checkpoint import has_weight_norm, to_old_names, to_parametrized_names

WEIGHTS_FILE = "hift.pt"
COMPONENT_KEYS = {"_target_", "_name_", "_apply_"}  # how the safe reader marks tagged nodes
CONFIG_FILE = "config.yaml"


def resolve_hift_path(path: str | Path) -> Path:
    """A local ``hift.pt`` or decoder folder as is; a hub id (``THUDM/glm-4-voice-decoder``): its ``hift.pt`` and
    ``config.yaml`` fetched (``HF_TOKEN`` from the environment)."""
    from audiorole.utils.hub import local_or_hub, looks_local

    text = str(path)
    if Path(text).expanduser().exists() or looks_local(text):
        return Path(text).expanduser()
    return local_or_hub(text, ConfigError, needs=f"{WEIGHTS_FILE} (and {CONFIG_FILE})",
                        example="THUDM/glm-4-voice-decoder", allow_patterns=[(WEIGHTS_FILE, CONFIG_FILE)])


def is_hift_state(state: dict) -> bool:
    return "m_source.l_linear.weight" in state


def read_hift_state(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such HiFT checkpoint; give the decoder folder's hift.pt")
    # weights_only: a checkpoint from the internet must not run code on load.
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("generator"), dict):
        state = state["generator"]
    if not isinstance(state, dict) or not is_hift_state(state):
        raise ConfigError(f"{path}: no 'm_source.l_linear.weight'; not a HiFT (GLM-4-Voice / CosyVoice hift.pt) file")
    return state


def _public_name(name: str) -> str:
    return next(iter(to_old_names({name: None})))


def load_hift_state(model: HiFTGenerator, state: dict[str, torch.Tensor], source: str | Path) -> HiFTGenerator:
    """Load public- or our-named tensors into ``model`` with ``strict=True``; folds weight norm if the file did."""
    state = to_parametrized_names(state)
    if model.has_weight_norm and not has_weight_norm(state):
        model.remove_weight_norm()
    problem = first_mismatch(model.state_dict(), state, display=_public_name)
    if problem:
        raise ConfigError(f"{source}: does not fit HiFT {_shape_summary(model.config)}: {problem}; "
                          f"pass the matching config (config.yaml beside it) or the right checkpoint")
    model.load_state_dict(state, strict=True)
    return model


def _shape_summary(cfg: HiFTConfig) -> str:
    return (f"(base_channels={cfg.base_channels}, nb_harmonics={cfg.nb_harmonics}, "
            f"upsample_rates={list(cfg.upsample_rates)}, f0 cond_channels={cfg.f0_predictor['cond_channels']})")


def _plain_kwargs(node: dict) -> dict:
    """A component's keyword arguments that are plain data; nested components (tagged nodes) dropped."""

    def plain(v) -> bool:
        if isinstance(v, dict):
            return not COMPONENT_KEYS & set(v) and all(plain(x) for x in v.values())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return True

    return {k: v for k, v in node.items() if k not in COMPONENT_KEYS and plain(v)}


def config_from_folder(folder: Path) -> HiFTConfig:
    """The ``hift`` entry of ``config.yaml`` beside the weights, read without running its tags; else the defaults."""
    from audiorole.models import hyperpyyaml

    path = folder / CONFIG_FILE
    if not path.is_file():
        return HiFTConfig()
    try:
        node = hyperpyyaml.load(path.read_text(encoding="utf-8")).get("hift")
    except Exception as err:
        raise ConfigError(f"{path}: unreadable HyperPyYAML ({err.__class__.__name__}: {str(err).splitlines()[0]}); "
                          "fix the file or remove it to use GLM-4-Voice's defaults") from None
    if node is None:
        return HiFTConfig()
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(f"{path}: 'hift' is not a '!new:' component; is this a GLM-4-Voice decoder config?")
    kwargs = _plain_kwargs(node)
    predictor = node.get("f0_predictor")
    if isinstance(predictor, dict):
        kwargs["f0_predictor"] = {k: v for k, v in _plain_kwargs(predictor).items()
                                  if k in ("num_class", "in_channels", "cond_channels")}
    for k, v in kwargs.items():
        if isinstance(v, str):
            raise ConfigError(f"{path}: hift.{k} is {v!r}, an expression this reader does not evaluate; "
                              f"write the number in config.yaml")
    return HiFTConfig.from_dict(kwargs)


def authors_layout(config: HiFTConfig) -> dict:
    """A HiFT config as the ``hift:`` entry of the authors' ``config.yaml`` (what ``config_from_folder`` reads back)."""
    from audiorole.models.hyperpyyaml import Tagged

    kwargs = config.to_dict()
    predictor = Tagged("!new:cosyvoice.hifigan.f0_predictor.ConvRNNF0Predictor", kwargs.pop("f0_predictor"))
    return Tagged("!new:cosyvoice.hifigan.generator.HiFTGenerator", {**kwargs, "f0_predictor": predictor})


def load_hift(path: str | Path, config: HiFTConfig | dict | str | None = None) -> HiFTGenerator:
    """A HiFT from a decoder folder (``hift.pt`` + optional ``config.yaml``), a ``hift.pt`` path or a hub id."""
    path = resolve_hift_path(path)
    weights = path / WEIGHTS_FILE if path.is_dir() else path
    cfg = resolve_hift_config(config) if config is not None else config_from_folder(weights.parent)
    return load_hift_state(HiFTGenerator(cfg), read_hift_state(weights), weights)


def save_hift(model: HiFTGenerator, path: str | Path) -> Path:
    """Write ``hift.pt`` in the public layout (atomically), loadable by the authors' code."""
    from audiorole.utils.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(to_old_names({k: v.detach().cpu() for k, v in model.state_dict().items()}), tmp)
    return path
