"""Puts the spoken turns on an episode timeline over a background bed.

Timing rules (they are what the ground truth promises):
* normal turn gaps of 0.2-0.8 s;
* a few overlaps, where the next speaker starts 0.3-1.0 s before the previous
  one ends (both turns get ``overlap=True``);
* 2.8-4.0 s of background only between scenes, where the bed changes.

The bed is coloured noise plus soft synthetic chords, recipe drawn per scene,
kept 20-25 dB below the speech so it is audible but never masks words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .cast import EVERYONE
from .chords import chords
from .conditions import Condition, noise_at_snr, noise_track, reverberate, room_response
from .script_writer import Scene
from .voices import SPEECH_RMS_DBFS

LEAD_IN_S = 1.5
TAIL_S = 2.0
SCENE_BREAK_S = (2.8, 4.0)
TURN_GAP_S = (0.2, 0.8)
OVERLAP_S = (0.3, 1.0)
OVERLAP_RATE = 0.07  # share of turns that start early
# Bed level below the *voiced* speech level; measured over whole utterances
# (pauses included) the speech-to-bed ratio comes out ~2.5 dB lower, in 20-25 dB.
SNR_DB = (22.5, 27.5)
BED_FADE_S = 1.0


@dataclass
class Utterance:
    episode: str
    scene: int
    turn: int
    speaker: str
    text: str
    start: float
    end: float
    overlap: bool = False


@dataclass
class EpisodeMix:
    audio: np.ndarray  # (samples, 2) float32
    sr: int
    utterances: list[Utterance]
    snr_db: float  # measured speech-to-bed ratio over the whole episode


def mix_episode(episode: str, scenes: list[Scene], clips: list[list[np.ndarray]], sr: int, rng: random.Random,
                condition: Condition = Condition(), condition_rng: random.Random | None = None,
                people: dict = EVERYONE) -> EpisodeMix:
    """The episode's audio; ``condition`` (drawn from ``condition_rng``) adds reverb and noise
    without touching what ``rng`` decides, so the truth is the clean series'. ``people``: slug ->
    ``Character`` (pan, gain) of everyone who speaks."""
    utts, spans = place_turns(episode, scenes, clips, sr, rng)
    n = int(round((utts[-1].end + TAIL_S) * sr)) if utts else int(TAIL_S * sr)
    speech = np.zeros((n, 2), dtype=np.float32)
    flat_clips = [c for scene_clips in clips for c in scene_clips]
    condition_rng = condition_rng or random.Random(f"{episode}:condition")
    rooms = {}  # one impulse response per speaker: each stands somewhere else in the room
    for utt, clip in zip(utts, flat_clips):
        who = people[utt.speaker]
        clip = clip * 10 ** (who.gain_db / 20)
        if condition.rt60:
            if utt.speaker not in rooms:
                rooms[utt.speaker] = room_response(condition.rt60, sr, np.random.default_rng(condition_rng.randrange(2**32)))
            clip = reverberate(clip, rooms[utt.speaker])
        i = int(round(utt.start * sr))
        clip = clip[: n - i]
        speech[i : i + len(clip)] += clip[:, None] * _pan_gains(who.pan)[None, :]
    bed = render_bed(spans, n, sr, rng)
    if condition.noise:
        bed = bed + noise_at_snr(speech, noise_track(condition.noise, n, sr, condition_rng), condition.snr_db)
    audio = speech + bed
    # Leave headroom for the lossy encoders; scaling keeps the SNR intact.
    peak = np.abs(audio).max()
    if peak > 0.89:
        audio *= 0.89 / peak
    return EpisodeMix(audio.astype(np.float32), sr, utts, _snr_db(speech, bed))


def place_turns(episode: str, scenes: list[Scene], clips: list[list[np.ndarray]], sr: int, rng: random.Random):
    """Give every turn its start/end; also return each scene's time span."""
    durations = [[len(c) / sr for c in scene_clips] for scene_clips in clips]
    overlapping = choose_overlaps(durations, rng)
    utts: list[Utterance] = []
    spans: list[tuple[float, float]] = []
    cursor = LEAD_IN_S
    for s, scene in enumerate(scenes):
        if s > 0:
            cursor += rng.uniform(*SCENE_BREAK_S)
        scene_start, prev_end = cursor, cursor
        for t, turn in enumerate(scene.turns):
            if t == 0:
                start = cursor
            elif (s, t) in overlapping:
                start = prev_end - rng.uniform(*OVERLAP_S)
                utts[-1].overlap = True
            else:
                start = prev_end + rng.uniform(*TURN_GAP_S)
            end = start + durations[s][t]
            utts.append(Utterance(episode, s, t, turn.speaker, turn.text, round(start, 3), round(end, 3), (s, t) in overlapping))
            prev_end = end
            cursor = max(cursor, end)
        spans.append((scene_start, cursor))
    return utts, spans


def choose_overlaps(durations: list[list[float]], rng: random.Random) -> set[tuple[int, int]]:
    """Pick turns that start early: at least one per episode, never two in a row.

    Both turns must be long enough that the early start only clips the end
    of the previous one instead of swallowing it.
    """
    eligible = [
        (s, t)
        for s, durs in enumerate(durations)
        for t in range(1, len(durs))
        if durs[t - 1] >= 2.0 and durs[t] >= 1.5
    ]
    n_turns = sum(len(d) for d in durations)
    want = max(1, round(OVERLAP_RATE * n_turns))
    chosen: set[tuple[int, int]] = set()
    for s, t in rng.sample(eligible, k=len(eligible)):
        if len(chosen) == want:
            break
        if (s, t - 1) not in chosen and (s, t + 1) not in chosen:
            chosen.add((s, t))
    return chosen


def _pan_gains(pan: float) -> np.ndarray:
    # Constant-power pan scaled so a centred voice keeps its level in mono.
    theta = (pan + 1) * np.pi / 4
    return np.sqrt(2) * np.array([np.cos(theta), np.sin(theta)], dtype=np.float32)


def _snr_db(speech: np.ndarray, bed: np.ndarray) -> float:
    active = np.abs(speech).max(axis=1) > 1e-4
    return float(10 * np.log10(np.mean(speech[active] ** 2) / np.mean(bed**2)))


# --- background bed --------------------------------------------------------

def render_bed(spans: list[tuple[float, float]], n: int, sr: int, rng: random.Random) -> np.ndarray:
    """One recipe per scene, cross-faded in the middle of each scene break."""
    bed = np.zeros((n, 2), dtype=np.float32)
    edges = [0.0] + [(a_end + b_start) / 2 for (_, a_end), (b_start, _) in zip(spans, spans[1:])] + [n / sr]
    for k in range(len(spans)):
        a = max(edges[k] - BED_FADE_S / 2, 0.0)
        b = min(edges[k + 1] + BED_FADE_S / 2, n / sr)
        i, j = int(a * sr), int(b * sr)
        part = scene_bed(j - i, sr, rng)
        fade_in = BED_FADE_S if k > 0 else 0.3
        fade_out = BED_FADE_S if k < len(spans) - 1 else 1.5
        bed[i:j] += _fade(part, sr, fade_in, fade_out)
    return bed


def scene_bed(n: int, sr: int, rng: random.Random) -> np.ndarray:
    """Coloured noise (wind/surf), sometimes with slow swells, plus chords."""
    seed = rng.randrange(2**32)
    np_rng = np.random.default_rng(seed)
    noise = _coloured_noise(n, sr, alpha=rng.uniform(0.8, 1.8), np_rng=np_rng)
    if rng.random() < 0.5:  # waves: slow loudness swells
        t = np.arange(n) / sr
        noise *= (0.65 + 0.35 * np.sin(2 * np.pi * t / rng.uniform(5, 9) + rng.uniform(0, 6)))[:, None]
    music_share = rng.choice([0.0, 0.35, 0.5, 0.65])  # 0.0 = ambience only
    bed = _unit_rms(noise) * np.sqrt(1 - music_share)
    if music_share:
        bed += _unit_rms(chords(n, sr, rng))[:, None] * np.sqrt(music_share)
    level_db = SPEECH_RMS_DBFS - rng.uniform(*SNR_DB)
    return (_unit_rms(bed) * 10 ** (level_db / 20)).astype(np.float32)


def _coloured_noise(n: int, sr: int, alpha: float, np_rng: np.random.Generator) -> np.ndarray:
    """Stereo 1/f^alpha noise; channels share half their signal for width."""
    white = np_rng.standard_normal((n, 3))
    spec = np.fft.rfft(white, axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = 1 / np.maximum(f, 20.0) ** (alpha / 2)
    shape[f > 8000] *= np.exp(-(f[f > 8000] - 8000) / 2000)  # soften hiss
    coloured = np.fft.irfft(spec * shape[:, None], n=n, axis=0)
    common = coloured[:, 2:3]
    return np.sqrt(0.5) * (coloured[:, :2] + common)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _fade(x: np.ndarray, sr: int, fade_in: float, fade_out: float) -> np.ndarray:
    n = len(x)
    gain = np.ones(n, dtype=np.float32)
    a, b = min(int(fade_in * sr), n), min(int(fade_out * sr), n)
    gain[:a] = np.linspace(0, 1, a, dtype=np.float32)
    gain[n - b :] = np.minimum(gain[n - b :], np.linspace(1, 0, b, dtype=np.float32))
    return x * gain[:, None]
