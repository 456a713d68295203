from omegaconf import OmegaConf

from audiorole.utils.logging import loggable_config
from audiorole.utils.secrets import MASK, is_secret_name, redact


def test_secret_names():
    for name in ["HF_TOKEN", "WANDB_API_KEY", "api_key", "judge.api-key", "password", "OPENAI_API_KEY", "token"]:
        assert is_secret_name(name), name
    for name in ["audio_tokens", "tokenizer", "api_key_env", "max_new_tokens", "tokens_per_second", "keyword"]:
        assert not is_secret_name(name), name


def test_redact_masks_keys_and_values_anywhere():
    secret = "hf_abcdefghijklmnop"
    cfg = {"a": {"hf_token": secret, "api_key_env": "HF_TOKEN"}, "b": [f"Bearer {secret}"], "n": 3}
    out = redact(cfg, {secret})
    assert out == {"a": {"hf_token": MASK, "api_key_env": "HF_TOKEN"}, "b": [f"Bearer {MASK}"], "n": 3}


def test_resolved_env_interpolations_do_not_leak(monkeypatch):
    monkeypatch.setenv("MY_JUDGE_API_KEY", "sk-verysecretvalue123")
    cfg = OmegaConf.create({"eval": {"header": "${oc.env:MY_JUDGE_API_KEY}", "model": "x"}})
    logged = loggable_config(cfg)
    assert "sk-verysecretvalue123" not in str(logged)
    assert logged["eval"]["model"] == "x"
