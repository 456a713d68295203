"""A checkpoint given as a local directory or a Hugging Face hub id, for every real-model loader.

A local directory is used as is. Anything path-like that is not a directory is a
typo, not a hub id (ids are exactly ``owner/name``), so it fails at once rather
than after a network timeout. A hub id is fetched with ``snapshot_download``,
with the token read from the environment variable named by ``token_env``.
"""

import os
from collections.abc import Sequence
from pathlib import Path


def looks_local(text: str) -> bool:
    return text.startswith(("/", ".", "~")) or text.count("/") != 1 or (os.sep != "/" and os.sep in text)


def one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:200]


def local_or_hub(source: str | os.PathLike, error: type[Exception], needs: str, example: str,
                 allow_patterns: Sequence[Sequence[str]] = (("*.json", "*.safetensors"),),
                 token_env: str | None = "HF_TOKEN", revision: str | None = None) -> Path:
    """The checkpoint directory. ``allow_patterns`` are tried in order until one brings weights (a non-JSON match);
    ``needs`` and ``example`` word the error (what a local dir must hold, an example hub id)."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists() or looks_local(text):
        raise error(f"{text}: no such checkpoint directory; give a local dir holding {needs}, or a hub id like {example}")
    token = os.environ.get(token_env) if token_env else None
    try:
        from huggingface_hub import snapshot_download

        for patterns in allow_patterns:
            fetched = Path(snapshot_download(text, revision=revision, token=token or None, allow_patterns=list(patterns)))
            if any(any(fetched.glob(p)) for p in patterns if not p.endswith(".json")):
                break
    except Exception as e:  # offline, unknown repo, gated without a token: the same fix for the user
        raise error(f"{text}: not a local directory and fetching it from the Hugging Face hub failed ({one_line(e)}); "
                    f"download it on a networked machine (huggingface-cli download {text} --local-dir DIR) "
                    "and pass DIR") from None
    return fetched
