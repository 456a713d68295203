"""Judge requests to any OpenAI-compatible ``/chat/completions`` API through the ``openai`` client.

The ``openai`` package does the transport: timeouts, retries of 408/409/429/5xx and
connection errors with jittered exponential backoff (0.5 s doubling up to 8 s), and a
server's ``Retry-After`` (up to two minutes) in place of its own delay. Around it:

- The API key is read from the environment variable *named* in config at each request
  (the client gets a function, not a key), so the key cannot reach a repr, a config
  dump, a log line or the cache. With the variable unset no ``Authorization`` is sent
  (local servers need none).
- ``max_calls`` caps the HTTP requests of this client's run, retries included; a request
  past it is refused before it is sent and counted as ``capped``.
- A reply that is not the JSON object the prompt asks for is counted as malformed and
  asked once more; then the item is skipped.
- Judgments are cached on disk (``cache.py``); ``judge`` never raises: every failure is
  a count in ``counts``.
"""

import logging
import os
import threading
from dataclasses import asdict, dataclass

from audiorole.eval.judge.cache import JudgmentCache, request_key
from audiorole.eval.judge.parse import Judgment, MalformedReply, parse_judgment
from audiorole.utils.secrets import redact

log = logging.getLogger(__name__)


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


class _CallCapReached(Exception):
    """Raised from the HTTP request hook: not an HTTP error, so the client does not retry it."""


class JudgeClient:
    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout_s: float = 60.0, max_retries: int = 5, max_calls: int = 2000, malformed_retries: int = 1,
                 cache_dir: str | None = None, temperature: float = 0.0, max_tokens: int = 300,
                 json_mode: bool = False):
        self.base_url = base_url.rstrip("/")
        self.model = str(model)
        self.api_key_env = api_key_env or None
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.max_calls = int(max_calls)
        self.malformed_retries = max(0, int(malformed_retries))
        self.cache = JudgmentCache(cache_dir)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.json_mode = bool(json_mode)
        self.counts = JudgeCounts()
        self._lock = threading.Lock()
        self._attempts = threading.local()  # HTTP requests of the current judgment, per worker thread
        self._warned_no_key = False
        self._openai = None

    def __repr__(self) -> str:
        return f"JudgeClient(base_url={self.base_url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    @property
    def name(self) -> str:
        return self.model

    # -- public ------------------------------------------------------------------
    def judge(self, messages: list[dict], scale: tuple[int, int]) -> Judgment | None:
        """The parsed judgment, from the cache or the server; ``None`` (and a count) on any failure."""
        import openai

        try:
            key = request_key(self.model, messages, scale)
            cached = self.cache.get(key)
            if cached is not None and scale[0] <= cached.score <= scale[1]:
                self._count("cache_hits")
                return cached
            for _ in range(1 + self.malformed_retries):
                try:
                    judgment = parse_judgment(self._request(messages), *scale)
                except MalformedReply as e:
                    self._count("malformed")
                    log.warning("judge %s: malformed reply (%s)", self.model, e)
                    continue
                self.cache.put(key, self.model, judgment)
                return judgment
        except _CallCapReached:
            pass
        except openai.APIError as e:  # status, timeout and connection errors after the client's retries
            self._count("errors")
            log.warning("judge %s: giving up: %s", self.model, self._scrub(_describe(e)))
        except Exception as e:  # a judge must never stop training; the count says it happened
            self._count("errors")
            log.warning("judge %s: %s", self.model, self._scrub(f"{type(e).__name__}: {e}"))
        self._count("skipped")
        return None

    # -- HTTP --------------------------------------------------------------------
    def _request(self, messages: list[dict]) -> str:
        """``choices[0].message.content`` of one completion (the client retries inside)."""
        extra = {"response_format": {"type": "json_object"}} if self.json_mode else {}
        if not self._api_key():
            import openai

            extra["extra_headers"] = {"Authorization": openai.omit}
        self._attempts.n = 0
        try:
            completion = self._client().chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, max_tokens=self.max_tokens,
                **extra)
        except ValueError as e:  # a 200 whose body is not JSON (a proxy's error page)
            raise MalformedReply(f"response body is not JSON ({e})") from None
        finally:
            self._count("retries", max(0, self._attempts.n - 1))
        try:
            content = completion.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise MalformedReply("response is not a chat completion (no choices[0].message.content)") from None
        if not isinstance(content, str):
            raise MalformedReply("message content is not text")
        return content

    def _client(self):
        with self._lock:
            if self._openai is None:
                import httpx2
                import openai

                http = httpx2.Client(timeout=self.timeout_s, event_hooks={"request": [self._on_request]})
                self._openai = openai.OpenAI(base_url=self.base_url, api_key=self._api_key, timeout=self.timeout_s,
                                             max_retries=self.max_retries, http_client=http)
            return self._openai

    def _on_request(self, request) -> None:
        """Every HTTP attempt, retries included, passes here: the call cap and the counts."""
        with self._lock:
            if self.counts.calls >= self.max_calls:
                self.counts.capped += 1
                raise _CallCapReached()
            self.counts.calls += 1
        self._attempts.n += 1

    def _api_key(self) -> str:
        """Called by the client at each request; '' sends no Authorization header."""
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if not key and self.api_key_env and not self._warned_no_key:
            self._warned_no_key = True
            log.warning("judge: environment variable %s is not set; sending requests without a key", self.api_key_env)
        return key

    # -- helpers -----------------------------------------------------------------
    def _count(self, field: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.counts, field, getattr(self.counts, field) + n)

    def _scrub(self, text: str) -> str:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return redact(text, {key} if key else set())


def _describe(error) -> str:
    status = getattr(error, "status_code", None)
    body = getattr(getattr(error, "response", None), "text", "") if status is not None else ""
    return f"HTTP {status} {body[:200]}" if status is not None else f"{type(error).__name__}: {error}"
