"""Judge client (the openai package) against a real HTTP server on 127.0.0.1: retries, Retry-After, timeouts,
cap, cache, strict parsing, no key leaks."""

import json
import logging
import time

import numpy as np
import pytest

from audiorole.eval.judge import JudgeClient, MalformedReply, PromptTemplate, parse_judgment
from eval_judge_server import JudgeServer

KEY_ENV = "AUDIOROLE_TEST_JUDGE_API_KEY"
KEY = "sk-test-9f8e7d6c5b4a3210-secret"
SCALE = (1, 10)


def msgs(text="Is this in character?"):
    return [{"role": "system", "content": "Rate."}, {"role": "user", "content": text}]


@pytest.fixture
def server():
    with JudgeServer() as s:
        yield s


@pytest.fixture
def client_for(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, KEY)

    def make(server, **kw):
        kw = {"base_url": server.url, "model": "judge-test", "api_key_env": KEY_ENV, "timeout_s": 5,
              "max_retries": 3, "max_calls": 100, "cache_dir": None, **kw}
        return JudgeClient(**kw)

    return make


def test_good_reply_sends_bearer_key_and_is_parsed(server, client_for):
    client = client_for(server)
    judgment = client.judge(msgs(), SCALE)
    assert judgment.score == 7 and judgment.reason == "fine"
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["model"] == "judge-test" and request["body"]["messages"] == msgs()
    assert request["body"]["temperature"] == 0.0
    assert client.counts.as_dict() == {"calls": 1, "cache_hits": 0, "retries": 0, "malformed": 0,
                                       "skipped": 0, "errors": 0, "capped": 0}


def gaps(server) -> list[float]:
    """Seconds between consecutive requests the server received."""
    times = [r["t"] for r in server.requests]
    return [b - a for a, b in zip(times, times[1:])]


def test_429_then_ok_honours_retry_after(server, client_for):
    client = client_for(server)
    server.play(("status", 429, 1), ("ok", 4))
    assert client.judge(msgs(), SCALE).score == 4
    [gap] = gaps(server)
    assert gap >= 0.95  # the server's Retry-After, not the client's own first delay (at most 0.5 s)
    assert (client.counts.calls, client.counts.retries, client.counts.errors) == (2, 1, 0)


def test_5xx_backs_off_exponentially_then_gives_up(server, client_for):
    client = client_for(server, max_retries=2)
    server.play(default=("status", 503, None))
    assert client.judge(msgs(), SCALE) is None
    assert len(server.requests) == 3
    first, second = gaps(server)
    assert 0.3 <= first <= 0.6 and 0.7 <= second <= 1.1  # 0.5 s then 1 s, less up to 25 % jitter
    c = client.counts
    assert (c.calls, c.retries, c.errors, c.skipped) == (3, 2, 1, 1)


def test_500_then_ok_recovers(server, client_for):
    client = client_for(server)
    server.play(("status", 500, None), ("status", 502, None), ("ok", 9))
    assert client.judge(msgs(), SCALE).score == 9
    assert client.counts.retries == 2 and client.counts.errors == 0


def test_client_errors_are_not_retried(server, client_for):
    client = client_for(server)
    server.play(("status", 401, None))
    assert client.judge(msgs(), SCALE) is None
    assert len(server.requests) == 1 and client.counts.errors == 1 and client.counts.skipped == 1


def test_hanging_server_times_out_and_is_retried(server, client_for):
    client = client_for(server, timeout_s=0.3, max_retries=1)
    server.play(("hang", 2.0), ("hang", 2.0))
    start = time.monotonic()
    assert client.judge(msgs(), SCALE) is None
    assert time.monotonic() - start < 1.8  # two 0.3 s timeouts and one backoff (<= 0.5 s), not 4 s of hanging
    assert (client.counts.calls, client.counts.retries, client.counts.errors) == (2, 1, 1)


def test_connection_refused_is_retried_then_counted(client_for):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed

    class Nowhere:
        url = f"http://127.0.0.1:{port}/v1"

    client = client_for(Nowhere, max_retries=2)
    assert client.judge(msgs(), SCALE) is None
    assert (client.counts.calls, client.counts.retries, client.counts.errors) == (3, 2, 1)


def test_malformed_reply_is_asked_once_more_then_skipped(server, client_for):
    client = client_for(server)
    server.play(("text", "I'd give it a 7/10."), ("text", '{"score": 7.5}'))
    assert client.judge(msgs(), SCALE) is None
    assert (client.counts.calls, client.counts.malformed, client.counts.skipped) == (2, 2, 1)
    server.play(("text", "Sure! Score: 8"), ("ok", 8))
    assert client.judge(msgs("another"), SCALE).score == 8
    assert client.counts.malformed == 3 and client.counts.skipped == 1


@pytest.mark.parametrize("body", [b"<html>gateway</html>", b'{"id": "x", "choices": []}', b'{"choices": [{}]}'])
def test_a_body_that_is_no_chat_completion_is_survived(server, client_for, body):
    client = client_for(server)
    server.play(("raw", body), ("raw", body), ("ok", 5))
    assert client.judge(msgs(), SCALE) is None
    assert client.counts.skipped == 1 and client.counts.calls == 2
    assert client.judge(msgs(), SCALE).score == 5  # the next judgment goes through


def test_call_cap_stops_requests_and_counts(server, client_for):
    client = client_for(server, max_calls=2)
    results = [client.judge(msgs(f"item {i}"), SCALE) for i in range(4)]
    assert [r.score if r else None for r in results] == [7, 7, None, None]
    assert len(server.requests) == 2
    assert (client.counts.calls, client.counts.capped, client.counts.skipped) == (2, 2, 2)


def test_cache_hit_sends_no_second_request(server, client_for, tmp_path):
    cache = tmp_path / "cache"
    client = client_for(server, cache_dir=str(cache))
    assert client.judge(msgs(), SCALE).score == 7
    assert client.judge(msgs(), SCALE).score == 7
    assert len(server.requests) == 1 and client.counts.cache_hits == 1
    again = client_for(server, cache_dir=str(cache))  # a new run reads the same cache
    assert again.judge(msgs(), SCALE).score == 7 and len(server.requests) == 1
    other_model = client_for(server, cache_dir=str(cache), model="other-judge")
    other_model.judge(msgs(), SCALE)
    assert len(server.requests) == 2  # the key includes the model
    files = list(cache.rglob("*.json"))
    assert len(files) == 2 and not list(cache.rglob(".tmp-*"))  # written atomically, no leftovers


def test_audio_requests_are_keyed_by_the_clip(server, client_for, tmp_path):
    from audiorole.eval.audio import wav_base64

    client = client_for(server, cache_dir=str(tmp_path / "cache"))
    prompt = PromptTemplate.load("aq")
    server.play(default=("ok", 4))  # on the AQ prompt's 1-5 scale
    tone = np.sin(np.linspace(0, 2000, 16000)).astype(np.float32) * 0.1
    for clip in (tone, tone, tone * 0.5):
        client.judge(prompt.render(audio_wav_b64=wav_base64(clip, 16000)), prompt.scale)
    assert len(server.requests) == 2 and client.counts.cache_hits == 1
    part = server.requests[0]["body"]["messages"][1]["content"][1]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    import base64
    import io

    import soundfile as sf

    wave, sr = sf.read(io.BytesIO(base64.b64decode(part["input_audio"]["data"])), dtype="float32")
    assert sr == 16000 and np.allclose(wave, tone, atol=1e-4)


def test_api_key_never_leaks(server, client_for, tmp_path, caplog):
    from audiorole.utils.logging import loggable_config
    from omegaconf import OmegaConf

    cache = tmp_path / "cache"
    client = client_for(server, cache_dir=str(cache), max_retries=1)
    caplog.set_level(logging.DEBUG)
    server.play(("echo_auth", 500), ("echo_auth", 500), ("echo_auth", 400), ("ok", 6))
    assert client.judge(msgs("a"), SCALE) is None
    assert client.judge(msgs("b"), SCALE) is None
    assert client.judge(msgs("c"), SCALE).score == 6
    assert "bad auth" in caplog.text  # the server's error body was logged ...
    assert KEY not in caplog.text  # ... with the key masked
    assert KEY not in repr(client) and KEY not in str(vars(client))
    for f in cache.rglob("*"):
        if f.is_file():
            assert KEY not in f.read_text()
    cfg = OmegaConf.create({"eval": {"judge": {"api_key_env": KEY_ENV, "api_key": KEY}}})
    assert KEY not in json.dumps(loggable_config(cfg))


def test_missing_key_sends_no_authorization(server, client_for, monkeypatch):
    client = client_for(server)
    monkeypatch.delenv(KEY_ENV)
    assert client.judge(msgs(), SCALE).score == 7  # local servers need no key
    assert "authorization" not in server.requests[0]["headers"]


GOOD = [('{"score": 7, "reason": "ok"}', 7), ('  {"score": 1}\n', 1), ('```json\n{"score": 10, "reason": "x"}\n```', 10)]
BAD = ["7", "Score: 7", '{"score": "7"}', '{"score": 7.0}', '{"score": true}', '{"score": 0}', '{"score": 11}',
       '{"reason": "no score"}', '{"score": 7, "confidence": 0.9}', '{"score": 7, "reason": 3}', "[7]",
       'Here you go: {"score": 7}', '{"score": 7}{"score": 8}', ""]


@pytest.mark.parametrize("text, score", GOOD)
def test_strict_parse_accepts(text, score):
    assert parse_judgment(text, 1, 10).score == score


@pytest.mark.parametrize("text", BAD)
def test_strict_parse_rejects(text):
    with pytest.raises(MalformedReply):
        parse_judgment(text, 1, 10)


def test_prompt_templates_render_and_fail_clearly(tmp_path):
    from audiorole.errors import ConfigError

    cp = PromptTemplate.load("cp")
    messages = cp.render(character="mara", persona="terse", examples="- Go.", context="otis: hello", reply="Aye.")
    assert "Aye." in messages[1]["content"] and "terse" in messages[1]["content"] and cp.scale == (1, 10)
    with pytest.raises(ConfigError, match="needs field 'persona'"):
        cp.render(character="mara", examples="", context="", reply="")
    with pytest.raises(ConfigError, match="no such judge prompt"):
        PromptTemplate.load("nonexistent")
    bad = tmp_path / "bad.yaml"
    bad.write_text("system: hi\nuser: there\nscale: [5, 1]\n")
    with pytest.raises(ConfigError, match="scale"):
        PromptTemplate.load(bad)


def _grader(body):
    """Score like a judge would, from what the request says: AQ 4, CP 9 for 'Aye' lines else 2, CQ 6."""
    user = body["messages"][1]["content"]
    if isinstance(user, list):
        return ("ok", 4)
    if "Persona:" in user:
        return ("ok", 9 if "Aye" in user.split("Line to judge")[1] else 2)
    if "malformed please" in user:
        return ("text", "six out of ten")
    return ("ok", 6)


def test_evaluator_with_judge_backends(server, monkeypatch, tmp_path):
    import hydra

    from audiorole.eval.items import ContextTurn, EvalItem, Output
    from conftest import compose_config

    monkeypatch.setenv(KEY_ENV, KEY)
    cfg = compose_config("evaluate", ["eval=judge_audio", f"eval.judge.base_url={server.url}", "eval.judge.model=judge-test",
                                      f"eval.judge.api_key_env={KEY_ENV}", f"eval.judge.cache_dir={tmp_path / 'cache'}",
                                      "eval.metrics=[aq,cq,cp]"], tmp_path)
    ev = hydra.utils.instantiate(cfg.eval)
    assert ev.content_quality.client is ev.judge and ev.quality.client is ev.judge  # one shared client
    ev.prepare({}, {"mara": ["Go.", "Aye, cast off."], "otis": ["Indubitably, one supposes."]},
               {"mara": "Mara is a terse captain."})
    server.play(default=_grader)
    ctx = (ContextTurn(speaker="otis", text="Shall we depart?", episode="ep01", start=0.0, end=1.0),)
    items = [EvalItem(id=str(k), character="mara", episode="ep01", scene="0", turn=1, text="Aye.", audio=tmp_path,
                      context=ctx) for k in range(3)]
    wave = (0.1 * np.sin(np.linspace(0, 3000, 16000))).astype(np.float32)
    outputs = [Output(wave, 16000, "Aye, we sail."), Output(wave, 16000, "Well, one might suppose so."),
               Output(wave, 16000, "malformed please")]
    result = ev.score(items, outputs)
    assert [r["cp"] for r in result.per_item[:2]] == [9.0, 2.0]
    assert [r["aq"] for r in result.per_item] == [4.0, 4.0, 4.0]
    assert result.per_item[0]["cq"] == 6.0 and np.isnan(result.per_item[2]["cq"])
    assert result.metrics["cq"] == 6.0 and result.metrics["cp"] == pytest.approx((9 + 2 + 2) / 3)
    assert result.backends["cq"] == "judge:judge-test(1-10)" and result.backends["aq"] == "judge:judge-test(1-5)"
    assert result.counts["judge_malformed"] == 2 and result.counts["unscored_cq"] == 1
    # aq: one clip three times (1 call, 2 cache hits); cq: 2 + the malformed one twice; cp: 3
    assert result.counts["judge_calls"] == 1 + 4 + 3 and result.counts["judge_cache_hits"] == 2
    cp_request = next(r for r in server.requests if "Persona:" in r["body"]["messages"][1]["content"])
    text = cp_request["body"]["messages"][1]["content"]
    assert "Mara is a terse captain." in text and "- Aye, cast off." in text and "otis: Shall we depart?" in text
    again = ev.score(items, outputs)  # everything judged is cached; only the malformed item asks again
    assert again.counts["judge_cache_hits"] == 8 and again.counts["judge_calls"] == 2
    assert [r["cp"] for r in again.per_item] == [r["cp"] for r in result.per_item]
