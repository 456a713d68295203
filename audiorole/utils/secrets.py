"""Keep secrets (HF, W&B, judge API keys) out of logs, config dumps and W&B.

Secrets are read from the environment. Before a config is logged anywhere, any
key that looks like a credential is masked, and so is any value equal to a
secret-looking environment variable (which catches ``${oc.env:HF_TOKEN}``
interpolations after resolution).
"""

import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
# The name's last word decides: HF_TOKEN, WANDB_API_KEY, judge.api_key are
# secrets; audio_tokens, tokenizer, api_key_env (a variable's name) are not.
_SECRET_NAME = re.compile(
    r"(^|[_.-])(api[_-]?key|token|auth[_-]?token|secret|secret[_-]?key|password|passwd|credentials?)$",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables whose names look like credentials."""
    environ = os.environ if environ is None else environ
    return {v for k, v in environ.items() if is_secret_name(k) and len(v) >= 8}


def redact(obj: Any, secrets: set[str] | None = None) -> Any:
    """Return a copy of a nested dict/list with credential keys and values masked."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(obj, Mapping):
        return {
            k: (MASK if is_secret_name(str(k)) and obj[k] not in (None, "") else redact(v, secrets))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(v, secrets) for v in obj)
    if isinstance(obj, str):
        for s in secrets:
            if s in obj:
                obj = obj.replace(s, MASK)
    return obj
