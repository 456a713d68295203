"""Speech tokenizers: 16 kHz audio -> discrete codes at 12.5 Hz (GLM-4-Voice's rate).

- ``SpeechTokenizer`` (base.py): the interface and the input checks every tokenizer shares.
- ``GLM4VoiceTokenizer``: GLM-4-Voice's WhisperVQ tokenizer (16384 codes), our own
  implementation loading the public checkpoint layout without remote code.
- ``build_tiny_glm4voice_checkpoint``: a tiny random checkpoint in that layout, for tests and CI.

Importing this package is cheap; numpy, torch and transformers load on first use.
"""

from audiorole.utils.lazy import lazy_getattr

from audiorole.utils.lazy import lazy_getattr

_EXPORTS = {
    "SpeechTokenizer": "audiorole.tokenizers.base",
    "TokenizerError": "audiorole.tokenizers.base",
    "TokenizerInputError": "audiorole.tokenizers.base",
    "num_tokens": "audiorole.tokenizers.base",
    "GLM4VoiceTokenizer": "audiorole.tokenizers.glm4voice",
    "build_tiny_glm4voice_checkpoint": "audiorole.tokenizers.tiny_checkpoint",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
