"""Our GLM-4-Voice tokenizer against the authors' code: golden codes written by their WhisperVQ.

``tests/fixtures/glm4voice_tokenizer`` was made by ``make.py`` there, which builds a tiny
``WhisperVQEncoder`` with THUDM/GLM-4-Voice's ``speech_tokenizer/modeling_whisper.py``,
saves it with their ``save_pretrained`` and tokenizes fixed audio with their
``extract_speech_token`` (commit and versions in ``golden.json``).

Batching: their ``extract_speech_token`` computes the log-mel of a batch zero-padded to its
longest clip, where we compute each 30 s window on its own; a clip's last frames can then see
the other clips' padding. With the public config's causal convolutions, the frames that
padding changes are never consumed by a kept position, so their batch equals their
one-by-one path (their pooled states differ by float noise only, ``batched_hidden_max_abs_diff``
in ``golden.json``): both are the reference, and ours must give both.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from audiorole.tokenizers import GLM4VoiceTokenizer

FIXTURE = Path(__file__).parent / "fixtures" / "glm4voice_tokenizer"
GOLDEN = json.loads((FIXTURE / "golden.json").read_text())


@pytest.fixture(scope="module")
def tok():
    return GLM4VoiceTokenizer(FIXTURE / "checkpoint", batch_size=3)


@pytest.fixture(scope="module")
def audio():
    stored = np.load(FIXTURE / "golden.npz")
    waves = {k[len("audio_"):]: stored[k].astype(np.float32) / 32768.0 for k in stored if k.startswith("audio_")}
    waves["long"] = np.concatenate([waves[name] for name in GOLDEN["long"]])  # over one 30 s window
    return waves


def test_the_fixture_is_the_authors_and_exercises_the_tokenizer(audio):
    assert GOLDEN["upstream"]["repo"] == "THUDM/GLM-4-Voice" and len(GOLDEN["upstream"]["commit"]) == 40
    assert set(GOLDEN["codes_alone"]) == set(audio)
    assert audio["long"].size > 30 * GOLDEN["sample_rate"]
    assert len(set(GOLDEN["codes_alone"]["long"])) > 20  # codes depend on the sound, not one code throughout
    assert GOLDEN["min_code_margin"] > 1e-3  # no code is a near-tie that float noise could flip


def test_codes_equal_the_authors_one_clip_at_a_time(tok, audio):
    for name, wave in audio.items():
        assert tok.encode(wave).tolist() == GOLDEN["codes_alone"][name], name


def test_a_batch_equals_the_authors_batch(tok, audio):
    names = list(GOLDEN["codes_batched"])
    got = tok.encode_many([audio[n] for n in names])
    assert [c.tolist() for c in got] == [GOLDEN["codes_batched"][n] for n in names]


def test_quantizer_input_equals_the_authors(tok, audio):
    stored = np.load(FIXTURE / "golden.npz")
    for key in (k for k in stored if k.startswith("hidden_")):
        feat, mask = tok.log_mel(audio[key[len("hidden_"):]])
        with torch.no_grad():
            hidden, valid = tok.model.hidden(torch.from_numpy(feat)[None], torch.from_numpy(mask)[None])
        want = torch.from_numpy(stored[key])
        torch.testing.assert_close(hidden[0][valid[0]], want, atol=1e-5, rtol=0)
