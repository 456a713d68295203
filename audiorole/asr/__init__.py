"""Speech recognition and language identification for the dataset pipeline.

``import audiorole.asr`` stays cheap: the transcriber, language identifiers and
WER pull in their heavy dependencies (ctranslate2, whisperx, jiwer, py3langid)
only when first used. (The WER function is ``audiorole.asr.wer.wer``: the
submodule shadows a package-level name ``wer`` once imported.)
"""

from audiorole.asr.transcript import Segment, Transcript, Word

_LAZY = {
    "WhisperXTranscriber": "audiorole.asr.whisperx_transcriber",
    "TextLanguageIdentifier": "audiorole.asr.language",
    "WhisperLanguageIdentifier": "audiorole.asr.language",
    "identify_language": "audiorole.asr.language",
    "normalize_text": "audiorole.asr.wer",
}

__all__ = ["Segment", "Transcript", "Word", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audiorole.asr' has no attribute {name!r}")
