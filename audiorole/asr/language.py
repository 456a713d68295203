"""Language identification for the pipeline's "wrong language" filter.

Two identifiers, both returning ``(language_code, probability)``:
- ``TextLanguageIdentifier``: on text (the transcript or the subtitle), with
  py3langid (langid.py's model, 97 languages, BSD-3; the model ships inside the
  wheel, pinned ``py3langid==0.4.0``). This is the offline default because the
  shipped Whisper tiny.en is English-only and cannot hear other languages.
- ``WhisperLanguageIdentifier``: on audio, with a multilingual Whisper model's
  own language token (e.g. ``large-v3`` through ``WhisperXTranscriber``).

Short text is unreliable for any n-gram model ("Okay." comes out Tagalog), so
text with fewer than ``min_letters`` letters is "und" (undetermined) with
probability 0.0: the filter must keep such replies, not drop them.
"""

import hashlib
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError

UNDETERMINED = "und"  # ISO 639-2 code for "cannot tell"
TEXT_PACKAGE = "py3langid==0.4.0"
# sha256 of py3langid 0.4.0's data/model.npz.xz, checked once at load.
TEXT_MODEL_SHA256 = "f4f4a2c3465ca1f081541037f9cac23021d68151c2f709c55ae5eedfca522963"


class LanguageIDError(AudioroleError):
    """A language identifier cannot be loaded or used."""


class TextLanguageIdentifier:
    """``__call__(text) -> (code, probability)`` with langid's naive-Bayes model.

    ``languages`` restricts the answer to a set (e.g. the series' languages plus
    English), which makes short lines far more reliable.
    """

    name = "py3langid"

    def __init__(self, languages: list[str] | None = None, min_letters: int = 12):
        self.languages = list(languages) if languages else None
        self.min_letters = min_letters
        self._ident = None

    def _load(self):
        if self._ident is None:
            try:
                from py3langid import langid
            except ImportError as e:
                raise LanguageIDError(f"text language ID needs {TEXT_PACKAGE}; pip install {TEXT_PACKAGE}") from e
            model_file = Path(langid.__file__).parent / langid.MODEL_FILE
            digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
            if digest != TEXT_MODEL_SHA256:
                raise LanguageIDError(f"{model_file}: sha256 {digest[:12]}… is not the pinned one; "
                                      f"reinstall {TEXT_PACKAGE}")
            ident = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
            if self.languages:
                unknown = sorted(set(self.languages) - set(ident.nb_classes))
                if unknown:
                    raise LanguageIDError(f"language ID: {', '.join(unknown)} not among py3langid's languages; "
                                          "use ISO 639-1 codes such as en, fr, de")
                ident.set_languages(self.languages)
            self._ident = ident
        return self._ident

    def __call__(self, text: str) -> tuple[str, float]:
        if sum(ch.isalpha() for ch in text or "") < self.min_letters:
            return UNDETERMINED, 0.0
        code, prob = self._load().classify(text)
        return str(code), round(float(prob), 4)


class WhisperLanguageIdentifier:
    """``__call__(waveform_16k) -> (code, probability)`` from a multilingual Whisper model."""

    def __init__(self, transcriber=None, model: str = "large-v3", **kwargs):
        if transcriber is None:
            from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

            transcriber = WhisperXTranscriber(model=model, language=None, **kwargs)
        self.transcriber = transcriber
        self.name = f"whisper:{transcriber.name}"

    def __call__(self, waveform: np.ndarray) -> tuple[str, float]:
        code, prob = self.transcriber.detect_language(waveform)
        return code, round(float(prob), 4)


def identify_language(text: str | None = None, waveform: np.ndarray | None = None,
                      transcriber=None, text_identifier: TextLanguageIdentifier | None = None) -> tuple[str, float]:
    """Audio ID when a multilingual Whisper transcriber is given, else text ID."""
    if waveform is not None and transcriber is not None and transcriber.multilingual:
        return WhisperLanguageIdentifier(transcriber)(waveform)
    if text is None:
        raise LanguageIDError("identify_language needs text, or audio with a multilingual Whisper transcriber")
    return (text_identifier or _default_text_identifier())(text)


_DEFAULT = None


def _default_text_identifier() -> TextLanguageIdentifier:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = TextLanguageIdentifier()
    return _DEFAULT
