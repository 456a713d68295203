"""OpenAI-compatible ``/chat/completions`` client for judging, built for long unattended runs.

- The API key is read from the environment variable *named* in config at each
  request; the client stores only the name, so the key cannot reach a repr,
  a config dump, a log line or the cache.
- 429, 5xx, timeouts and connection errors are retried with exponential
  backoff (``Retry-After`` wins when the server sends it); other 4xx are not.
- ``max_calls`` caps the HTTP requests of this client's run; later judgments
  are refused without a request and counted as ``capped``.
- A reply that is not the JSON object the prompt asks for is counted as
  malformed and asked once more; then the item is skipped.
- ``judge`` never raises: every failure is a count in ``counts``.
"""

import email.utils
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from audiorole.eval.judge.cache import JudgmentCache, request_key
from audiorole.eval.judge.parse import Judgment, MalformedReply, parse_judgment, reply_content
from audiorole.utils.secrets import redact

log = logging.getLogger(__name__)
RETRYABLE = frozenset({408, 409, 425, 429})


@dataclass
class JudgeCounts:
    calls: int = 0          # HTTP requests sent (retries included)
    cache_hits: int = 0
    retries: int = 0        # requests repeated after 429/5xx/timeout/connection errors
    malformed: int = 0      # replies that failed strict parsing
    skipped: int = 0        # judgments given up (errors, malformed twice, cap)
    errors: int = 0         # requests that failed for good (retries exhausted, 4xx)
    capped: int = 0         # judgments refused because max_calls was reached

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Failed(Exception):
    """A request that will not succeed now (retries exhausted, 4xx, cap)."""


class JudgeClient:
    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout_s: float = 60.0, max_retries: int = 5, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 max_calls: int = 2000, malformed_retries: int = 1, cache_dir: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 300, json_mode: bool = False):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = str(model)
        self.api_key_env = api_key_env or None
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.max_calls = int(max_calls)
        self.malformed_retries = max(0, int(malformed_retries))
        self.cache = JudgmentCache(cache_dir)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.json_mode = bool(json_mode)
        self.counts = JudgeCounts()
        self._lock = threading.Lock()
        self._warned_no_key = False
        self._sleep = time.sleep  # replaced in tests to observe the backoff schedule

    def __repr__(self) -> str:
        return f"JudgeClient(url={self.url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    @property
    def name(self) -> str:
        return self.model

    # -- public ------------------------------------------------------------------
    def judge(self, messages: list[dict], scale: tuple[int, int]) -> Judgment | None:
        """The parsed judgment, from the cache or the server; ``None`` (and a count) on any failure."""
        try:
            key = request_key(self.model, messages, scale)
            cached = self.cache.get(key)
            if cached is not None and scale[0] <= cached.score <= scale[1]:
                self._count("cache_hits")
                return cached
            for _ in range(1 + self.malformed_retries):
                text = self._request(messages)
                try:
                    judgment = parse_judgment(reply_content(text), *scale)
                except MalformedReply as e:
                    self._count("malformed")
                    log.warning("judge %s: malformed reply (%s)", self.model, e)
                    continue
                self.cache.put(key, self.model, judgment)
                return judgment
        except _Failed:
            pass
        except Exception as e:  # a judge must never stop training; the count says it happened
            self._count("errors")
            log.warning("judge %s: %s", self.model, self._scrub(f"{type(e).__name__}: {e}"))
        self._count("skipped")
        return None

    # -- HTTP --------------------------------------------------------------------
    def _request(self, messages: list[dict]) -> str:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        data = json.dumps(body).encode("utf-8")
        for attempt in range(self.max_retries + 1):
            with self._lock:
                if self.counts.calls >= self.max_calls:
                    self.counts.capped += 1
                    raise _Failed()
                self.counts.calls += 1
            status, retry_after, text = self._post(data)
            if status is not None and 200 <= status < 300:
                return text
            retryable = status is None or status in RETRYABLE or status >= 500
            what = f"HTTP {status}" if status is not None else text
            if not retryable or attempt == self.max_retries:
                self._count("errors")
                log.warning("judge %s: giving up after %d request(s): %s", self.model, attempt + 1,
                            self._scrub(what if status is None else f"{what} {text[:200]}"))
                raise _Failed()
            self._count("retries")
            delay = retry_after if retry_after is not None else self.backoff_s * 2 ** attempt
            self._sleep(min(max(delay, 0.0), self.max_backoff_s))
        raise _Failed()  # unreachable: the loop returns or raises

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            elif not self._warned_no_key:
                self._warned_no_key = True
                log.warning("judge: environment variable %s is not set; sending requests without a key",
                            self.api_key_env)
        return headers

    def _post(self, data: bytes) -> tuple[int | None, float | None, str]:
        """(status or None for no response, Retry-After seconds or None, body or error text)."""
        request = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, None, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as e:
            try:
                text = e.read().decode("utf-8", errors="replace")
            except Exception:
                text = ""
            return e.code, _retry_after(e.headers.get("Retry-After") if e.headers else None), text
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            return None, None, f"{type(reason).__name__}: {reason}"

    # -- helpers -----------------------------------------------------------------
    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.counts, field, getattr(self.counts, field) + 1)

    def _scrub(self, text: str) -> str:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return redact(text, {key} if key else set())


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
