"""On-disk judgment cache: one small JSON file per request key, written atomically.

The key is sha256 of the model name and the request's messages with any audio
replaced by its own sha256, so a rerun over the same outputs costs no calls
and a changed prompt, model or clip misses. Only parsed judgments are stored
(never the request headers), so the cache holds nothing secret.
"""

import copy
import hashlib
import json
from pathlib import Path

from audiorole.eval.judge.parse import Judgment
from audiorole.utils.atomic import write_json


def _audio_hashed(messages: list[dict]) -> list[dict]:
    messages = copy.deepcopy(messages)
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                audio = part.get("input_audio") if isinstance(part, dict) else None
                if isinstance(audio, dict) and isinstance(audio.get("data"), str):
                    audio["data"] = "sha256:" + hashlib.sha256(audio["data"].encode()).hexdigest()
    return messages


def request_key(model: str, messages: list[dict], scale: tuple[int, int]) -> str:
    payload = json.dumps({"model": model, "messages": _audio_hashed(messages), "scale": list(scale)},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class JudgmentCache:
    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory).expanduser() if directory else None

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Judgment | None:
        if self.directory is None:
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Judgment(score=int(data["score"]), reason=str(data.get("reason", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: ask again and overwrite

    def put(self, key: str, model: str, judgment: Judgment) -> None:
        if self.directory is not None:
            write_json(self._path(key), {"model": model, "score": judgment.score, "reason": judgment.reason})
