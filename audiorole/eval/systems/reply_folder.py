"""Replies any other system wrote into a folder: ``<item id>.wav`` and, optionally, ``<item id>.txt``.

This is how systems we cannot build (GPT-4o, Step-Audio, a researcher's own model) are
scored: answer an exported benchmark (``python -m audiorole.benchmark export``) and point
``evaluate.py systems=[ground_truth,folder] systems.folder.path=DIR`` at the answers.

What a researcher expects, and what happens:

- Any sample rate and channel count: a stereo file is averaged to mono (noted, naming the
  file) and every rate is kept as written (each backend resamples to its own rate), so
  a 48 kHz stereo export from another toolkit needs no conversion.
- A missing, empty, unreadable or sample-less reply, or a ``.txt`` with no audio beside
  it, is that item's error: one line naming the file, the item unscored, the run goes on.
- A missing or blank ``.txt``: the evaluator transcribes the audio.
- Files that answer no item (a wrong id, another split's replies, notes) are listed once,
  after every character was answered, and otherwise ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem, Output

log = logging.getLogger(__name__)
AUDIO_SUFFIXES = (".wav", ".flac")
TEXT_SUFFIX = ".txt"


class ReplyFolder:
    """``path``: the folder of replies; ``name``: the results row (default: the folder's name)."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise AudioroleError(f"{self.path}: no such folder of replies; write <item id>.wav (and optionally "
                                 "<item id>.txt) for each item of an exported benchmark there")
        self.name = name or self.path.resolve().name
        self._asked: set[str] = set()
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.sample_rates: dict[int, int] = {}
        self.transcribed = 0

    def respond(self, items: list[EvalItem]) -> list[Output]:
        outputs = []
        for item in items:
            self._asked.add(item.id)
            try:
                outputs.append(self._read(item.id))
            except AudioroleError as e:
                self.errors.append(str(e))
                log.warning("system '%s': %s", self.name, e)
                outputs.append(Output.failed(str(e)))
        return outputs

    def _read(self, item_id: str) -> Output:
        import soundfile as sf

        audio = next((p for p in (self.path / f"{item_id}{s}" for s in AUDIO_SUFFIXES) if p.is_file()), None)
        text_path = self.path / f"{item_id}{TEXT_SUFFIX}"
        if audio is None:
            if text_path.is_file():
                raise AudioroleError(f"{text_path}: text with no audio beside it; write {item_id}.wav too "
                                     "(a reply is scored from its audio; the text only spares the transcription)")
            raise AudioroleError(f"{self.path / (item_id + '.wav')}: no reply for item {item_id}; write it, "
                                 "or leave it out knowing it scores as unanswered")
        if audio.stat().st_size == 0:
            raise AudioroleError(f"{audio}: empty file (0 bytes); write the reply's audio")
        try:
            wave, sample_rate = sf.read(audio, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            raise AudioroleError(f"{audio}: cannot read audio ({str(e).splitlines()[0]}); write PCM WAV "
                                 "(e.g. ffmpeg -i in -ar 16000 -ac 1 out.wav)") from None
        if wave.shape[0] == 0:
            raise AudioroleError(f"{audio}: no samples; write the reply's audio")
        if not np.isfinite(wave).all():
            raise AudioroleError(f"{audio}: NaN or infinite samples; write finite audio")
        if wave.shape[1] > 1:
            self._note(f"{audio}: {wave.shape[1]} channels, averaged to mono")
        self.sample_rates[int(sample_rate)] = self.sample_rates.get(int(sample_rate), 0) + 1
        return Output(wave=wave.mean(axis=1).astype(np.float32), sample_rate=int(sample_rate),
                      text=self._text(text_path))

    def _text(self, path: Path) -> str | None:
        """The reply's text, or None to have the evaluator transcribe the audio."""
        if not path.is_file():
            self.transcribed += 1
            return None
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            self._note(f"{path}: unreadable as UTF-8 text ({type(e).__name__}); transcribing the audio instead")
            text = ""
        if not text:
            self.transcribed += 1
            return None
        return text

    def _note(self, note: str) -> None:
        self.notes.append(note)
        log.info("system '%s': %s", self.name, note)

    def unknown_files(self) -> list[str]:
        """Files in the folder that answer none of the items asked so far (hidden files aside)."""
        known = AUDIO_SUFFIXES + (TEXT_SUFFIX,)
        return sorted(p.name for p in self.path.iterdir()
                      if not p.name.startswith(".") and not (p.suffix in known and p.stem in self._asked))

    def describe(self) -> dict:
        unknown = self.unknown_files()
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            log.warning("system '%s': %d file(s) in %s answer no item and were ignored: %s (ids must match the "
                        "benchmark's items.jsonl)", self.name, len(unknown), self.path, shown)
        return {"path": str(self.path), "answered": len(self._asked) - len(self.errors), "errors": list(self.errors),
                "transcribed": self.transcribed, "notes": list(self.notes), "unknown_files": unknown,
                "sample_rates": {str(k): v for k, v in sorted(self.sample_rates.items())}}
