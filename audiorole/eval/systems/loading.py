"""Find a character decoder (and its vocoder) from what training leaves behind.

Two sources are accepted:

* a decoder directory in GLM-4-Voice's layout (``config.yaml`` + ``flow.pt``): the public
  glm-4-voice-decoder folder (or its hub id), or one ``FlowDecoder.save`` wrote (the acoustic stage exports
  one to ``<run>/decoder``, with a trained vocoder in ``<run>/decoder/vocoder`` when it trained one);
* a Lightning checkpoint of ``AcousticModule`` (``<run>/checkpoints/*.ckpt``): the decoder's
  weights are the ``decoder.*`` entries of its state dict. The module does not store the
  decoder's constructor arguments in its hyperparameters, so the architecture comes from
  the checkpoint's ``decoder_config`` entry when present, else from the Hydra config saved
  beside the run (``<run>/.hydra/config.yaml``, key ``model.decoder``).
"""

from __future__ import annotations

from pathlib import Path

from audiorole.errors import AudioroleError

DECODER_WEIGHTS = "flow.pt"
VOCODER_SUBDIR = "vocoder"
VOCODER_CONFIG = "vocoder.json"
_PREFIX = "decoder."


def _check_source(source: str | Path) -> Path:
    from audiorole.utils.hub import looks_local

    path = Path(source)
    if not path.exists() and not looks_local(str(source)):  # a hub id (THUDM/glm-4-voice-decoder): fetched
        from audiorole.models.flow.load import resolve_source

        path = resolve_source(source)
    if path.is_dir():
        if not (path / DECODER_WEIGHTS).is_file():
            raise AudioroleError(f"{path}: not a decoder folder (no {DECODER_WEIGHTS}); pass a run's decoder/ folder, "
                                 "the public glm-4-voice-decoder folder, or a checkpoint file (<run>/checkpoints/last.ckpt)")
        return path
    if path.is_file():
        return path
    raise AudioroleError(f"{path}: no such decoder; pass an exported decoder folder (<run>/decoder) or a .ckpt file")


def _read_checkpoint(path: Path) -> dict:
    import torch

    try:
        # Lightning checkpoints pickle their hyperparameters (OmegaConf objects), so weights_only cannot read them;
        # these are the user's own training outputs.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001  (any unreadable file gets the same one-line explanation)
        raise AudioroleError(f"{path}: cannot read it as a checkpoint ({type(exc).__name__}: {exc}); "
                             "pass an exported decoder folder or an AcousticModule .ckpt") from exc


def _plain(node):
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def _config_from_run(ckpt_path: Path) -> dict | None:
    from omegaconf import OmegaConf

    for run_dir in (ckpt_path.parent.parent, ckpt_path.parent):
        saved = run_dir / ".hydra" / "config.yaml"
        if saved.is_file():
            node = OmegaConf.select(OmegaConf.load(saved), "model.decoder")
            if node is not None:
                try:
                    return _plain(node)
                except Exception:  # noqa: BLE001  (an interpolation that only resolves inside that run)
                    return None
    return None


def _checkpoint_config(ckpt: dict, path: Path) -> dict:
    if isinstance(ckpt.get("decoder_config"), dict):
        return dict(ckpt["decoder_config"])
    hparams = ckpt.get("hyper_parameters") or {}
    decoder = hparams.get("decoder") if hasattr(hparams, "get") else None
    if decoder is not None and hasattr(decoder, "keys"):
        return _plain(decoder)
    config = _config_from_run(path)
    if config is None:
        raise AudioroleError(f"{path}: the checkpoint does not say the decoder's architecture and no "
                             f"{path.parent.parent}/.hydra/config.yaml names model.decoder; pass the run's exported "
                             "decoder folder instead (<run>/decoder)")
    return config


def decoder_config(source: str | Path) -> dict:
    """The FlowDecoder config (nested, complete) of a decoder folder or a checkpoint."""
    from audiorole.models.flow.config import merged_config
    from audiorole.models.flow.decoder import folder_config

    path = _check_source(source)
    if path.is_dir():
        return merged_config(folder_config(path))
    return _checkpoint_config(_read_checkpoint(path), path)


def load_decoder(source: str | Path, device: str = "cpu"):
    """A FlowDecoder in eval mode from a decoder folder or an ``AcousticModule`` checkpoint."""
    from audiorole.models.flow.decoder import FlowDecoder

    path = _check_source(source)
    if path.is_dir():
        return FlowDecoder.load(path, device=device)
    ckpt = _read_checkpoint(path)
    state = {k[len(_PREFIX):]: v for k, v in (ckpt.get("state_dict") or {}).items() if k.startswith(_PREFIX)}
    if not state:
        raise AudioroleError(f"{path}: no decoder.* weights in the checkpoint; is it an acoustic-stage checkpoint?")
    from audiorole.models.flow.load import load_state

    decoder = load_state(FlowDecoder.from_config(_checkpoint_config(ckpt, path)), state, str(path))
    return decoder.to(device).eval()


def load_vocoder(vocoder: str | Path | None, decoder_source: str | Path | None, device: str = "cpu"):
    """The vocoder to use: ``vocoder`` when given (an artifact, or a public checkpoint such as GLM-4-Voice's decoder
    folder / ``hift.pt``), else the one exported beside the decoder, else None (Griffin-Lim).

    Returns (vocoder or None, a label for reports).
    """
    from audiorole.models.vocoder.vocoder import Vocoder

    if vocoder is not None:
        return Vocoder.from_path(vocoder, map_location=device), str(vocoder)
    if decoder_source is not None:
        beside = Path(decoder_source) / VOCODER_SUBDIR
        if (beside / VOCODER_CONFIG).is_file():
            return Vocoder.load(beside, map_location=device).for_inference(), str(beside)
    return None, "griffin-lim"
