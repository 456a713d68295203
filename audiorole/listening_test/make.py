"""Build a blind listening test as a static page from a benchmark and systems' answer folders.

    OUT/
      page/            what raters get (open page/index.html, or serve it: python -m http.server)
        index.html  app.js  style.css
        trials.js      the trials (a script, not JSON: file:// pages cannot fetch files)
        a/<random>.wav every clip, re-encoded (no metadata) under a random name
      key.json         which system and item each trial holds: keep it away from raters

Trials, in an order each rater's browser shuffles on its own:

- ``voice``: a reference clip of the character and two systems' replies to the same item
  (A/B sides drawn at random): which sounds more like the reference speaker;
- ``naturalness``: one reply, 1-5;
- ``character``: the persona, the conversation so far (text) and one reply (its text too
  with ``show_text``), 1-5 for how well it fits the character.

The reference clip is the character's reference reply to another item (a different scene
when there is one), so no reply is judged against itself. Clips are loudness-normalised
(``loudness_lufs``) so level differences between systems do not sway the ratings.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem
from audiorole.utils.atomic import atomic_path, write_json, write_text

PAGE_FILES = ("index.html", "app.js", "style.css")
PAGE_SOURCE = Path(__file__).with_name("page")
KINDS = ("voice", "naturalness", "character")


@dataclass(frozen=True)
class Reply:
    system: str
    item: str
    audio: Path
    text: str | None


def load_benchmark(bench: Path) -> list[dict]:
    path = bench / "items.jsonl"
    if not path.is_file():
        raise AudioroleError(f"{path}: missing; --benchmark takes a folder written by "
                             "`python -m audiorole.benchmark export`")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_replies(name: str, folder: Path, rows: list[dict]) -> tuple[dict[str, Reply], list[str]]:
    """A system's replies by item id, read the way ``evaluate.py``'s ``folder`` system reads them."""
    from audiorole.eval.systems.reply_folder import ReplyFolder

    system = ReplyFolder(folder, name=name)
    items = [EvalItem(id=r["id"], character=r["character"], episode=r["episode"], scene=r["scene"], turn=r["turn"],
                      text=r["reference_text"], audio=Path()) for r in rows]
    replies, errors = {}, []
    for item in items:
        output = system.respond([item])[0]
        if output.error:
            errors.append(output.error)
            continue
        audio = next(folder / f"{item.id}{s}" for s in (".wav", ".flac") if (folder / f"{item.id}{s}").is_file())
        replies[item.id] = Reply(name, item.id, audio, output.text)
    return replies, errors


class ClipWriter:
    """Copies clips under random names, each once, re-encoded as 16-bit mono WAV at a common loudness."""

    def __init__(self, page: Path, loudness_lufs: float | None):
        self.page, self.loudness = page, loudness_lufs
        self.names: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        path = Path(path).resolve()
        if path not in self.names:
            import soundfile as sf

            wave, sr = sf.read(path, dtype="float32", always_2d=True)
            wave = self._level(wave.mean(axis=1), sr)
            rel = f"a/{secrets.token_hex(8)}.wav"
            with atomic_path(self.page / rel) as tmp:
                sf.write(tmp, wave, sr, format="WAV", subtype="PCM_16")
            self.names[path] = rel
        return self.names[path]

    def _level(self, wave: np.ndarray, sr: int) -> np.ndarray:
        if self.loudness is None or len(wave) < int(0.5 * sr) or not np.any(wave):
            return wave  # too short for a loudness measure (or silent): as is
        import pyloudnorm

        loudness = pyloudnorm.Meter(sr).integrated_loudness(wave)
        if not np.isfinite(loudness):
            return wave
        wave = wave * 10 ** ((self.loudness - loudness) / 20)
        peak = float(np.max(np.abs(wave)))
        return wave / peak * 0.99 if peak > 0.99 else wave  # never clip


def _voice_reference(row: dict, rows: list[dict], rng: random.Random) -> dict | None:
    same = [r for r in rows if r["character"] == row["character"] and r["id"] != row["id"]]
    other_scene = [r for r in same if r["scene"] != row["scene"]]
    pool = other_scene or same
    return rng.choice(pool) if pool else None


def build_trials(rows: list[dict], replies: dict[str, dict[str, Reply]], bench: Path, clip: ClipWriter,
                 kinds: tuple[str, ...], show_text: bool, context_turns: int, rng: random.Random):
    """(page trials, key trials): the page's hold only opaque clip names, the key says what they are."""
    trials, key = [], {}
    systems = sorted(replies)

    def add(page: dict, secret: dict) -> None:
        tid = f"t{len(trials) + 1:03d}"
        trials.append({"id": tid, **page})
        key[tid] = secret

    for row in rows:
        answered = [s for s in systems if row["id"] in replies[s]]
        base = {"character": row["character"]}
        if "voice" in kinds:
            ref = _voice_reference(row, rows, rng)
            for x, y in itertools.combinations(answered, 2):
                if ref is None:
                    continue
                a, b = (x, y) if rng.random() < 0.5 else (y, x)
                add({**base, "kind": "voice", "reference": clip(bench / ref["reference_audio"]),
                     "a": clip(replies[a][row["id"]].audio), "b": clip(replies[b][row["id"]].audio)},
                    {"kind": "voice", "item": row["id"], "a": a, "b": b, "reference_item": ref["id"]})
        for s in answered:
            reply = replies[s][row["id"]]
            if "naturalness" in kinds:
                add({**base, "kind": "naturalness", "clip": clip(reply.audio)},
                    {"kind": "naturalness", "item": row["id"], "system": s})
            if "character" in kinds:
                page = {**base, "kind": "character", "clip": clip(reply.audio), "persona": row.get("persona", ""),
                        "context": [{"speaker": t["speaker"], "text": t["text"]}
                                    for t in row["context"][-context_turns:]] if context_turns else []}
                if show_text and reply.text:
                    page["text"] = reply.text
                add(page, {"kind": "character", "item": row["id"], "system": s})
    return trials, key


def make_test(bench: str | Path, systems: dict[str, str | Path], out_dir: str | Path, *, title: str = "Listening test",
              kinds: tuple[str, ...] = KINDS, show_text: bool = False, items: int | None = None,
              context_turns: int = 4, loudness_lufs: float | None = -23.0, seed: int = 0) -> dict:
    """Write the page and the key; returns the key."""
    bench, out = Path(bench), Path(out_dir)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise AudioroleError(f"trial kinds {list(kinds)}: choose from {', '.join(KINDS)}")
    if len(systems) < 2 and "voice" in kinds:
        raise AudioroleError("voice trials compare two systems' replies; give two or more --system NAME=DIR "
                             "(the benchmark's reference/ folder is one), or leave voice out with --kinds")
    rows = load_benchmark(bench)
    rng = random.Random(seed)
    if items is not None and items < len(rows):
        rows = sorted(rng.sample(rows, items), key=lambda r: r["id"])
    replies, errors = {}, []
    for name, folder in systems.items():
        replies[name], errs = read_replies(name, Path(folder), rows)
        errors += errs
    page = out / "page"
    if page.exists():
        if not (page / "trials.js").is_file() and any(page.iterdir()):
            raise AudioroleError(f"{page}: exists and is not a listening-test page; choose another --out")
        shutil.rmtree(page)  # a rebuilt test gets new clip names: nothing from an old key may match
    page.mkdir(parents=True)
    clip = ClipWriter(page, loudness_lufs)
    trials, key_trials = build_trials(rows, replies, bench, clip, kinds, show_text, context_turns, rng)
    if not trials:
        raise AudioroleError(f"{bench}: no trials (every reply missing?); first errors: {'; '.join(errors[:3])}")
    test_id = secrets.token_hex(4)
    page_data = {"id": test_id, "title": title, "trials": trials}
    write_text(page / "trials.js", "window.LISTENING_TEST = " + json.dumps(page_data, ensure_ascii=False) + ";\n")
    for name in PAGE_FILES:
        shutil.copyfile(PAGE_SOURCE / name, page / name)
    key = {"test": test_id, "title": title, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "benchmark": str(bench.resolve()), "systems": {k: str(Path(v).resolve()) for k, v in systems.items()},
           "kinds": list(kinds), "show_text": show_text, "loudness_lufs": loudness_lufs, "seed": seed,
           "trials": key_trials, "errors": errors}
    write_json(out / "key.json", key)
    return key
