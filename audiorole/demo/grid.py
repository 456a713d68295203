"""The condition grid: series in many recording conditions, each with its ground truth.

    python -m audiorole.demo.grid --part dev --out /data/grid           # short and long episodes
    python -m audiorole.demo.grid --part test --out /data/grid --only short

What a TV soundtrack does to speech, as a grid (``conf/grid/tv.yaml``): noise
types (babble, music, applause/laughter, wind, street) at several SNRs, each
with no room, a small room and a large one (RT60), plus reverb alone and the
clean mix (the demo's 20-25 dB scene beds). Each part of the grid is a few
*voice sets* (a cast and extras with voices from one engine: the demo's own,
Kokoro voices and blends, espeak-ng), and one long episode in which the casts
of all the part's voice sets meet (a TV-sized cast). ``dev`` and ``test`` have different voices, names and scripts: defaults
are chosen on ``dev`` only, and ``test`` is what the figures report.

Speech is spoken once per line (``ClipCache`` under ``<out>/clips``) and each
script is timed once; a condition only changes the mix, so every condition of
a script shares its truth. Clean runs on the first script of each voice set
(``short.clean_scripts``); each noisy condition runs on one script of the part,
dealt round robin, so the grid costs one short episode per condition. Written, per part::

    <out>/<part>/<voice set>/   a series folder: characters.yaml, characters/, episodes/<script>_<condition>.*,
                                subtitles/, truth/<episode>.rttm|.script.jsonl|.json
    <out>/<part>/long/          the long episode(s), same layout

``truth/<episode>.json`` also holds the episode's row (voice set, script,
condition, subtitles, seconds); ``episode_rows`` collects them for a part.

A rerun skips every episode whose audio and truth are already there for the
same settings (``truth/<episode>.json``), so a killed run resumes.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import yaml

from audiorole.utils.atomic import atomic_path, write_text

from .clip_cache import ClipCache
from .conditions import Condition
from .formats import encode_audio, write_registry, write_rttm, write_script, write_srt
from .make_demo import SUBTITLE_REGIMES, write_enrollment
from .mixer import mix_episode
from .script_writer import write_episode
from .voice_sets import make_cast

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "grid" / "tv.yaml"
PARTS = ("dev", "test")
LONG = "long"


def load_config(path: str | Path = DEFAULT_CONFIG) -> dict:
    return yaml.safe_load(Path(path).read_text())


def noisy_conditions(cfg: dict) -> list[Condition]:
    """Reverb alone, then every noise x SNR of the grid in every room (``rooms: all``) or in one room
    that turns with noise and SNR (``rooms: rotate``)."""
    rooms = list(cfg["rt60"])
    out = [Condition(rt60=rt) for rt in rooms if rt]
    for i, noise in enumerate(cfg["noises"]):
        for j, snr in enumerate(cfg["snr_db"]):
            chosen = rooms if cfg.get("rooms", "all") == "all" else [rooms[(i + j) % len(rooms)]]
            out += [Condition(noise, float(snr), rt or None) for rt in chosen]
    return out


def deal(conditions: list[Condition], scripts: list[tuple[str, int]], seed: int,
         clean_scripts: int | None = None) -> dict[tuple[str, int], list[Condition]]:
    """The first ``clean_scripts`` scripts of each voice set (default all) get clean; the noisy
    conditions, shuffled, go round robin over all scripts."""
    shuffled = list(conditions)
    random.Random(f"{seed}:deal").shuffle(shuffled)
    out = {s: [Condition()] if clean_scripts is None or s[1] < clean_scripts else [] for s in scripts}
    for k, condition in enumerate(shuffled):
        out[scripts[k % len(scripts)]].append(condition)
    return out


def episode_id(script: str, condition: Condition) -> str:
    return f"{script}_{condition.label}"


class SeriesWriter:
    """One series folder of a part: cast, scripts, enrollment, and episodes per condition."""

    def __init__(self, folder: Path, name: str, spec: dict, seed: int, names: list[str], sr: int, speak: ClipCache):
        self.folder, self.name, self.spec, self.seed, self.sr, self.speak = folder, name, spec, seed, sr, speak
        self.cast, self.extras = make_cast(spec, random.Random(f"{seed}:{name}:cast"), names)
        self.people = {c.slug: c for c in (*self.cast, *self.extras)}
        self.used: set[str] = set()
        for sub in ("episodes", "subtitles", "characters", "truth"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def scripts(self, n: int, scenes: int, scene_sizes) -> list[list]:
        rng, spoken = random.Random(f"{self.seed}:{self.name}:script"), {}
        return [write_episode(rng, scenes, self.used, spoken, self.cast, self.extras, tuple(scene_sizes)) for _ in range(n)]

    def write_cast(self) -> None:
        """Registry and enrollment clips (3-12 s: a slow, long-winded character has few lines under 8 s)."""
        write_registry(self.folder / "characters.yaml", self.cast, title=f"grid {self.name}")
        # The clips are remade when the cast's voices change: old clips would enroll another voice under the name.
        marker, voices = self.folder / "enrollment_voices.json", {c.slug: c.voice for c in self.cast}
        if not marker.is_file() or json.loads(marker.read_text()) != json.loads(json.dumps(voices)):
            for c in self.cast:
                shutil.rmtree(self.folder / "characters" / c.slug, ignore_errors=True)
            write_enrollment(self.folder / "characters", random.Random(f"{self.seed}:{self.name}:enroll"),
                             set(self.used), self.cast, speak=self.speak, seconds=(3.0, 12.0))
            write_text(marker, json.dumps(voices, indent=1))

    def write_episode(self, script_name: str, index: int, scenes, condition: Condition, regime: str,
                      suffix: str) -> dict:
        """Mix, encode and write the truth of one episode (or reuse it); its grid row."""
        episode = episode_id(script_name, condition)
        audio = self.folder / "episodes" / f"{episode}{suffix}"
        marker = self.folder / "truth" / f"{episode}.json"
        want = {"condition": asdict(condition), "seed": self.seed, "set": self.name, "script": script_name,
                "regime": regime, "voices": {c.slug: c.voice for c in self.people.values()}, "sr": self.sr}
        if audio.is_file() and marker.is_file() and json.loads(marker.read_text()).get("want") == want:
            return json.loads(marker.read_text())["row"]
        clips = [[self.speak(self.people[t.speaker].voice, t.text, self.sr) for t in s.turns] for s in scenes]
        mix = mix_episode(episode, scenes, clips, self.sr, random.Random(f"{self.seed}:{self.name}:{index}:mix"),
                          condition, random.Random(f"{self.seed}:{self.name}:{index}:{condition.label}"), self.people)
        with atomic_path(audio) as tmp:
            encode_audio(mix.audio, self.sr, tmp)
        if regime != "none":
            write_srt(mix.utterances, self.folder / "subtitles" / f"{episode}.srt", regime == "named", self.people)
        write_rttm(mix.utterances, self.folder / "truth" / f"{episode}.rttm", episode)
        write_script(mix.utterances, self.folder / "truth" / f"{episode}.script.jsonl")
        row = {"episode": episode, "set": self.name, "script": script_name, "condition": condition.label,
               "noise": condition.noise, "snr_db": condition.snr_db, "rt60": condition.rt60 or 0.0, "regime": regime,
               "seconds": round(len(mix.audio) / self.sr, 1), "cast": len(self.cast), "bed_snr_db": round(mix.snr_db, 1),
               "turns": len(mix.utterances)}
        write_text(marker, json.dumps({"want": want, "row": row}, indent=1))
        print(f"[grid] {self.folder.name}/{episode}: {row['seconds'] / 60:.1f} min, {row['turns']} turns", flush=True)
        return row


def prune(folder: Path, keep: set[str]) -> list[str]:
    """Remove the episodes (audio, subtitles, truth) of ``folder`` that the grid no longer holds."""
    gone = []
    for marker in sorted((folder / "truth").glob("*.json")):
        episode = marker.stem
        if episode in keep:
            continue
        for path in [*(p for p in (folder / "episodes").iterdir() if p.stem == episode),
                     folder / "subtitles" / f"{episode}.srt", folder / "truth" / f"{episode}.rttm",
                     folder / "truth" / f"{episode}.script.jsonl"]:
            path.unlink(missing_ok=True)
        marker.unlink()
        gone.append(episode)
    return gone


def build_part(cfg: dict, part: str, out: Path, only: tuple[str, ...] = ("short", LONG)) -> list[dict]:
    spec = cfg["parts"][part]
    seed, names, sr = int(spec["seed"]), list(spec["names"]), int(cfg["sample_rate"])
    speak = ClipCache(out / "clips")
    root = out / part
    rows: list[dict] = []
    if "short" in only:
        short = cfg["short"]
        writers = {name: SeriesWriter(root / name, name, vs, seed, names, sr, speak) for name, vs in spec["voice_sets"].items()}
        scripts = {name: w.scripts(int(short["episodes"]), int(short["scenes"]), short["scene_sizes"]) for name, w in writers.items()}
        dealt = deal(noisy_conditions(cfg), [(name, i) for name in writers for i in range(int(short["episodes"]))], seed,
                     short.get("clean_scripts"))
        for name, writer in writers.items():
            writer.write_cast()
            for i, scenes in enumerate(scripts[name]):
                regime = SUBTITLE_REGIMES[i % len(SUBTITLE_REGIMES)]
                suffix = ".mp3" if i % 2 == 0 else ".ogg"
                rows += [writer.write_episode(f"s{i + 1}", i, scenes, c, regime, suffix) for c in dealt[(name, i)]]
            prune(writer.folder, {r["episode"] for r in rows if r["set"] == name})
    if LONG in only and spec.get(LONG):
        rows.append(write_long(cfg, part, out, speak))
    return rows


def write_long(cfg: dict, part: str, out: Path, speak: ClipCache) -> dict:
    """The part's long episode: every voice set's cast and extras in one series (a TV-sized cast),
    in new scenes of lines each voice already spoke in its short scripts (so no line is spoken anew;
    a line may come back, as catchphrases do). Enrollment clips are the voice sets' own."""
    spec, long_cfg, short = cfg["parts"][part], cfg[LONG], cfg["short"]
    seed, names, sr = int(spec["seed"]), list(spec["names"]), int(cfg["sample_rate"])
    root = out / part
    bank: dict[str, list[str]] = {}
    cast, extras, enrollment = [], [], {}
    for name, vs in spec["voice_sets"].items():
        writer = SeriesWriter(root / name, name, vs, seed, names, sr, speak)
        renamed = {}
        for who in (*writer.cast, *writer.extras):
            slug = who.slug if who.slug not in bank else f"{who.slug}_{name}"  # two sets may draw one name
            renamed[who.slug] = slug
            bank[slug] = []
            (cast if who.is_cast else extras).append(replace(who, slug=slug))
            enrollment[slug] = writer.folder / "characters" / who.slug
        for scenes in writer.scripts(int(short["episodes"]), int(short["scenes"]), short["scene_sizes"]):
            for turn in (t for s in scenes for t in s.turns):
                bank[renamed[turn.speaker]].append(turn.text)
    cast, extras = [c for c in cast if bank[c.slug]], [c for c in extras if bank[c.slug]]  # who spoke at all
    writer = SeriesWriter(root / LONG, LONG, {"engine": "demo"}, seed, names, sr, speak)
    writer.cast, writer.extras = tuple(cast), tuple(extras)
    writer.people = {c.slug: c for c in (*cast, *extras)}
    rng, spoken = random.Random(f"{seed}:{LONG}:script"), {}
    scenes = write_episode(rng, int(long_cfg["scenes"]), set(), spoken, writer.cast, writer.extras,
                           tuple(long_cfg["scene_sizes"]), line=lambda speaker, rng, used, style: rng.choice(bank[speaker]))
    row = writer.write_episode("l1", 0, scenes, Condition.parse(long_cfg["condition"]), long_cfg["subtitles"], ".ogg")
    write_registry(writer.folder / "characters.yaml", writer.cast, title=f"grid {part} long")
    # Copied afresh each run: clips left from an earlier cast would enroll another voice under the name.
    keep = {c.slug for c in cast}
    for old in (writer.folder / "characters").iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    for slug, folder in enrollment.items():
        if slug in keep:
            shutil.copytree(folder, writer.folder / "characters" / slug)
    prune(writer.folder, {row["episode"]})
    return row


def episode_rows(part_dir: str | Path) -> dict[tuple[str, str], dict]:
    """(voice set, episode) -> its grid row (condition, cast, ...), for every episode written under a part's
    folder. Keyed by the pair: voice sets share episode names (each has an ``s1_clean``). Other JSON beside
    the truth (a series' ``condition.json``) is not a grid marker and is passed over."""
    rows = {}
    for marker in sorted(Path(part_dir).glob("*/truth/*.json")):
        row = json.loads(marker.read_text()).get("row")
        if isinstance(row, dict) and {"set", "episode"} <= row.keys():
            rows[row["set"], row["episode"]] = row
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="grid folder (clips cache and one folder per part)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--only", choices=("short", LONG), help="build only the short episodes or only the long one")
    args = parser.parse_args(argv)
    rows = build_part(load_config(args.config), args.part, args.out, (args.only,) if args.only else ("short", LONG))
    print(f"[grid] {args.part}: {len(rows)} episodes, {sum(r['seconds'] for r in rows) / 3600:.2f} h")


if __name__ == "__main__":
    main()
