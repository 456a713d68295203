"""Strict reading of a judge's reply: one JSON object ``{"score": <int in scale>, "reason": "<text>"}``.

Anything else (prose around the object, a float or string score, a score
outside the scale, extra keys) is malformed: a loose parser would turn a
confused reply into a number that looks like a judgment. The only tolerance
is a single Markdown code fence around the object, which chat models add
even when told not to and which changes nothing about the content.
"""

import json
import re
from typing import NamedTuple

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n\s*```$", re.DOTALL)
_KEYS = {"score", "reason"}


class MalformedReply(ValueError):
    """The reply is not exactly the JSON object the prompt asked for."""


class Judgment(NamedTuple):
    score: int
    reason: str


def parse_judgment(text: str, low: int, high: int) -> Judgment:
    if not isinstance(text, str):
        raise MalformedReply(f"reply content is {type(text).__name__}, not text")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        raise MalformedReply(f"not a JSON object ({e.msg})") from None
    if not isinstance(obj, dict):
        raise MalformedReply(f"JSON {type(obj).__name__}, not an object")
    if "score" not in obj or set(obj) - _KEYS:
        raise MalformedReply(f"keys {sorted(obj)}; expected score and optionally reason")
    score = obj["score"]
    if isinstance(score, bool) or not isinstance(score, int):
        raise MalformedReply(f"score {score!r} is not an integer")
    if not low <= score <= high:
        raise MalformedReply(f"score {score} outside {low}..{high}")
    reason = obj.get("reason", "")
    if not isinstance(reason, str):
        raise MalformedReply("reason is not a string")
    return Judgment(score=score, reason=reason)

