"""Ground-truth mels through each vocoder: does the demo's vocoder keep the words, the voice and the quality?

    python bench/vocoder_quality.py --prepared data/prepared/demo [--per-character 4] [--threads 2]

For the first ``--per-character`` kept replies of each demo character: the clip's log-mel
(the acoustic stage's definition) -> the pinned universal HiFi-GAN, and -> Griffin-Lim
(the no-weights fallback); the clip itself is the ceiling. Scored with the offline
backends: Whisper WER against the reply's transcript, Resemblyzer AP (cosine to the
character's enrollment centroid), DNSMOS OVRL; and seconds of compute per second of audio.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from audiorole.asr.wer import wer
from audiorole.audio.decode import load_audio
from audiorole.data.replies import character_cuts, load_cuts
from audiorole.eval.backends.asr_whisper import WhisperTranscriber
from audiorole.eval.backends.quality_dnsmos import DNSMOSQuality
from audiorole.eval.eval_set import enrollment_clips
from audiorole.eval.references import centroid
from audiorole.models.vocoder import GriffinLimVocoder, LogMel
from audiorole.models.vocoder.universal import load_universal_hifigan
from audiorole.speakers import ResemblyzerEmbedder

SR, EVAL_SR = 22050, 16000
SERIES = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"


def to_16k(wave: np.ndarray) -> np.ndarray:
    import soxr

    return soxr.resample(wave.astype(np.float32), SR, EVAL_SR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, help="a prepared demo dataset (data/prepared/demo)")
    parser.add_argument("--per-character", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the results here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    cuts = load_cuts(args.prepared)
    characters = sorted({c.supervisions[0].speaker for c in cuts})
    clips = [(ch, c) for ch in characters for c in list(character_cuts(cuts, ch))[: args.per_character]]
    mel = LogMel()
    vocoders = {"universal_hifigan": load_universal_hifigan(), "griffin_lim": GriffinLimVocoder()}
    waves = {"ground_truth": [], **{name: [] for name in vocoders}}
    seconds = {name: 0.0 for name in vocoders}
    audio_seconds = 0.0
    for _, cut in clips:
        wave = load_audio(cut.recording.sources[0].source, SR)
        audio_seconds += len(wave) / SR
        waves["ground_truth"].append(to_16k(wave))
        m = mel(torch.from_numpy(wave))
        for name, vocoder in vocoders.items():
            start = time.perf_counter()
            out = vocoder(m).numpy()
            seconds[name] += time.perf_counter() - start
            waves[name].append(to_16k(out))

    transcriber, quality, embedder = WhisperTranscriber(), DNSMOSQuality(), ResemblyzerEmbedder()
    enrollment = enrollment_clips(SERIES)
    voices = {ch: centroid(embedder.embed_many([load_audio(p, EVAL_SR) for p in enrollment[ch]])) for ch in characters}
    texts = [c.supervisions[0].text for _, c in clips]
    results = {}
    for name, ws in waves.items():
        hyp = transcriber.transcribe_many(ws, EVAL_SR)
        emb = embedder.embed_many(ws)
        ap = [float(e @ voices[ch] / (np.linalg.norm(e) * np.linalg.norm(voices[ch]))) for e, (ch, _) in zip(emb, clips)]
        results[name] = {"wer": wer(texts, hyp), "ap": float(np.mean(ap)),
                         "dnsmos": float(np.mean(quality.score_many(ws, EVAL_SR))),
                         "compute_per_audio_second": seconds.get(name, 0.0) / audio_seconds}
    report = {"clips": len(clips), "audio_seconds": round(audio_seconds, 1), "threads": args.threads, "results": results}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
