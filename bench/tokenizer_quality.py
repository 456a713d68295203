"""Offline tokenizer quality: does it keep the words and drop the voice?

    python bench/tokenizer_quality.py [--codebook-size 512] [--threads 2] [--tokenizer DIR ...]

Codebooks are fitted on the demo's ep01 utterances. Speaker-ID accuracy is the
better of two simple classifiers on bag-of-codes histograms (logistic regression,
nearest centroid by cosine); near chance is good.
1. demo: learn the speaker from ep01's lines, name the speaker of ep02's
   (held-out) lines. Caveat: the characters also differ in wording, so a
   tokenizer that keeps content scores here too; the next probes balance content.
2. Same 20 sentences in 3 voices, twice: the demo cast's own voices (Kokoro
   voices, via audiorole.demo.voices) and 3 espeak-ng voices.
   (a) voice-ID trained on sentences 0-9, tested on 10-19 (chance 1/3);
   (b) retrieval: is a clip's nearest clip among the other voices the same
       sentence? (chance 1/20), by histogram cosine and by edit distance of
       run-length-deduplicated code sequences.
Each row is one codebook: k-means on Whisper tiny.en encoder features (``tokenizer=offline_fit``)
or the docs/design.md §10 baseline, k-means on stacks of 8 log-mel frames, both with the
same normalisation and k-means code (OfflineTokenizer.fit_features); then one row per
``--tokenizer`` folder (e.g. the shipped supervised tokenizer, ``audiorole/tokenizers/offline_vq``),
which is not fitted on the demo: it encodes every clip as it is.
"""

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from audiorole.audio.decode import load_audio
from audiorole.tokenizers.artifact import load_tokenizer_dir
from audiorole.tokenizers.offline import OfflineTokenizer
from audiorole.tokenizers.whisper_encoder import SAMPLES_PER_TOKEN, WhisperEncoder

SR = 16000
DEMO = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"
VOICES = {"en-us": ["-v", "en-us"], "en-gb+f3": ["-v", "en-gb+f3"], "en-us+m7 p30": ["-v", "en-us+m7", "-p", "30"]}
SENTENCES = [
    "The harbor lights were burning low across the water.", "Haul in the mooring lines and mind the shoals.",
    "Nobody has opened the customs house archive in forty years.", "The shipwreck is the strangest thing I have ever seen.",
    "Bring the lantern down to the lower deck at once.", "A cold wind was rising from the northeast before dawn.",
    "My grandmother kept a diary of every storm that hit the town.", "Please pass me the map that is lying on the table.",
    "We will sail at eight bells if the weather holds.", "The professor spent the whole afternoon reading old letters.",
    "Seven gulls were fighting over a piece of bread.", "Turn left at the lighthouse and follow the rocky path.",
    "Her brother fixed the engine with a bent spoon.", "I cannot believe we found the key under the floorboards.",
    "The market opens early on Saturday mornings.", "Keep your voice down, somebody is listening at the door.",
    "The captain ordered fresh water and two barrels of apples.", "Rain drummed on the tin roof of the boathouse all night.",
    "Do you remember the song they sang at the festival?", "The clock in the tower stopped at a quarter past nine.",
]


# -- data ---------------------------------------------------------------------------
def demo_utterances(episode: str) -> list[tuple[str, np.ndarray]]:
    """(speaker, 16 kHz wave) of each non-overlapping scripted line (overlaps hold two voices)."""
    audio = load_audio(next((DEMO / "episodes").glob(f"{episode}.*")), SR)
    lines = [json.loads(l) for l in (DEMO / "truth" / f"{episode}.script.jsonl").read_text().splitlines() if l.strip()]
    return [(l["speaker"], audio[int(l["start"] * SR):int(l["end"] * SR)]) for l in lines if not l["overlap"]]


def cast_set() -> list[tuple[str, int, np.ndarray]]:
    """(character, sentence index, 16 kHz wave): the demo cast's voices reading the same sentences."""
    from audiorole.demo.cast import CAST
    from audiorole.demo.voices import synthesize

    return [(c.slug, i, synthesize(c.voice, text, SR)) for c in CAST if c.is_cast for i, text in enumerate(SENTENCES)]


def espeak_set(tmp: Path) -> list[tuple[str, int, np.ndarray]]:
    """(voice, sentence index, 16 kHz wave) for every voice x sentence."""
    import soundfile as sf
    import soxr

    out = []
    for voice, args in VOICES.items():
        for i, text in enumerate(SENTENCES):
            path = tmp / f"{len(out)}.wav"
            subprocess.run(["espeak-ng", *args, "-w", str(path), text], check=True, capture_output=True)
            wave, sr = sf.read(path, dtype="float32")
            out.append((voice, i, soxr.resample(wave, sr, SR).astype(np.float32)))
    return out


# -- features: raw per-clip arrays at 12.5 Hz (clips are < 30 s: one window each) -------------------
def logmel_stacks(waves: list[np.ndarray]) -> list[np.ndarray]:
    """80 log-mels at 100 Hz (Whisper's front end), 8 frames stacked → 640-d at 12.5 Hz."""
    from faster_whisper.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    out = []
    for w in waves:
        n = -(-len(w) // SAMPLES_PER_TOKEN)
        mel = fe(w, padding=0).T  # (frames, 80)
        mel = np.pad(mel, ((0, max(0, 8 * n - len(mel))), (0, 0)), mode="edge")[: 8 * n]
        out.append(mel.reshape(n, 8 * 80).astype(np.float32))
    return out


# -- probes -------------------------------------------------------------------------
def histograms(codes: list[np.ndarray], k: int) -> np.ndarray:
    h = np.stack([np.bincount(c, minlength=k) for c in codes]).astype(np.float64)
    return h / np.maximum(h.sum(axis=1, keepdims=True), 1)


def speaker_accuracy(train_codes, train_y, test_codes, test_y, k: int) -> float:
    """Best of logistic regression and cosine nearest-centroid (a leak is what any probe finds)."""
    from sklearn.linear_model import LogisticRegression

    htr, hte, ytr, yte = histograms(train_codes, k), histograms(test_codes, k), np.asarray(train_y), np.asarray(test_y)
    lr = LogisticRegression(max_iter=5000, C=10.0).fit(htr, ytr).predict(hte)
    labels = sorted(set(ytr))
    cents = np.stack([htr[ytr == y].mean(axis=0) for y in labels])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    nc = np.asarray(labels)[np.argmax(hte @ cents.T, axis=1)]
    return float(max((lr == yte).mean(), (nc == yte).mean()))


def dedup(c: np.ndarray) -> np.ndarray:
    return c[np.r_[True, c[1:] != c[:-1]]] if len(c) else c


def edit_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Levenshtein distance, one numpy row at a time (insertions via a running minimum)."""
    j = np.arange(len(b) + 1)
    row = j.copy()
    for i, x in enumerate(a, 1):
        sub = np.minimum(row[1:] + 1, row[:-1] + (b != x))  # deletion or substitution
        cand = np.concatenate([[i], sub])
        row = np.minimum.accumulate(cand - j) + j  # insertions chain left to right
    return int(row[-1])


def retrieval_top1(codes, voices, sent, k: int) -> tuple[float, float]:
    """Top-1 same-sentence retrieval among other voices' clips: (histogram cosine, dedup edit distance)."""
    h = histograms(codes, k)
    h = h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    seqs = [dedup(c) for c in codes]
    voices, sent = np.asarray(voices), np.asarray(sent)
    hits_cos = hits_ed = 0
    for q in range(len(codes)):
        others = np.flatnonzero(voices != voices[q])
        hits_cos += sent[others[np.argmax(h[others] @ h[q])]] == sent[q]
        ed = [edit_distance(seqs[q], seqs[o]) / max(len(seqs[q]), len(seqs[o]), 1) for o in others]
        hits_ed += sent[others[int(np.argmin(ed))]] == sent[q]
    return hits_cos / len(codes), hits_ed / len(codes)


# -- main ---------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codebook-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tokenizer", action="append", default=[], help="a tokenizer folder to probe as it is (repeatable)")
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: apt-get install espeak-ng")
    t0 = time.perf_counter()
    train, test = demo_utterances("ep01"), demo_utterances("ep02")
    with tempfile.TemporaryDirectory() as tmp:
        synth = {"cast": cast_set(), "espeak": espeak_set(Path(tmp))}
    enc = WhisperEncoder(threads=args.threads)
    groups = {"train": [w for _, w in train], "test": [w for _, w in test],
              **{name: [w for *_, w in clips] for name, clips in synth.items()}}
    t1 = time.perf_counter()
    raw = {"whisper": {g: enc.window_features(ws) for g, ws in groups.items()},
           "log-mel": {g: logmel_stacks(ws) for g, ws in groups.items()}}
    t_feat = time.perf_counter() - t1
    k = args.codebook_size
    print(f"demo: {len(train)} ep01 lines ({sum(map(len, groups['train'])) / SR:.0f} s) fit the codebooks and train "
          f"the demo probe; {len(test)} ep02 lines test it. Same-text sets: {len(SENTENCES)} sentences x 3 voices. "
          f"codebook {k}; features {t_feat:.0f} s")
    test_y = [s for s, _ in test]
    chance_demo = max(test_y.count(s) for s in set(test_y)) / len(test_y)
    head = f"{'codebook':<22}{'demo spk':>9}" + "".join(f"{n + ' ' + c:>18}" for n in synth for c in ("voice-ID", "retr cos", "retr edit"))
    print("\n" + head)
    print(f"{'chance':<22}{chance_demo:>9.2f}" + f"{1 / 3:>18.2f}{1 / len(SENTENCES):>18.2f}{1 / len(SENTENCES):>18.2f}" * len(synth))
    rows = []
    for feats, norm in [("whisper", "utterance"), ("whisper", "global"), ("log-mel", "global"), ("log-mel", "utterance")]:
        tok = OfflineTokenizer.fit_features(raw[feats]["train"], {"codebook_size": k, "normalize": norm}, encoder=enc)
        codes = {g: tok.codes_from_features(r) for g, r in raw[feats].items()}
        if (feats, norm) == ("whisper", "utterance"):  # the probe's shortcut must equal the public API
            assert np.array_equal(tok.encode(groups["test"][0]), codes["test"][0])
        rows.append((f"{feats} / {norm}", codes, k))
    for folder in args.tokenizer:
        tok = load_tokenizer_dir(folder, threads=args.threads)
        rows.append((Path(folder).name, {g: tok.encode_many(ws) for g, ws in groups.items()}, tok.codebook_size))
    for name, codes, k in rows:
        row = f"{name:<22}"
        row += f"{speaker_accuracy(codes['train'], [s for s, _ in train], codes['test'], test_y, k):>9.2f}"
        for group, clips in synth.items():
            syn, voice_y, sent_y = codes[group], [v for v, *_ in clips], [i for _, i, _ in clips]
            tr = [i for i, s in enumerate(sent_y) if s < 10]
            te = [i for i, s in enumerate(sent_y) if s >= 10]
            voice_acc = speaker_accuracy([syn[i] for i in tr], [voice_y[i] for i in tr],
                                         [syn[i] for i in te], [voice_y[i] for i in te], k)
            cos, ed = retrieval_top1(syn, voice_y, sent_y, k)
            row += f"{voice_acc:>18.2f}{cos:>18.2f}{ed:>18.2f}"
        print(row, flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
