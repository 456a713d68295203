"""Step: filter replies, score their audio, enhance them, write the kept clips.

Whether enhancement runs before the quality filter is a config choice
(``enhance_first``): the paper's ablation found enhancement raises acoustic
quality but may cost voice similarity, and filtering on enhanced audio keeps
more replies.

With a ``subtitle_check`` (``audiorole.prep.subtitle_check``), a reply the filter
drops as a transcript mismatch gets a second look: kept, with the subtitle as its
text, when the ASR model finds the subtitle in its audio.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile as sf
import soxr

from audiorole.audio.clipping import clipped_fraction
from audiorole.prep.context import EpisodeContext
from audiorole.prep.filter import ReplyFilter
from audiorole.utils.atomic import write_json


class Postprocess:
    name = "postprocess"
    reads = ()  # no series-level input (registry, enrollment clips, subtitles)

    def __init__(self, filter: ReplyFilter, enhancer, quality, enhance_first: bool = True, sample_rate: int = 16000,
                 subtitle_check=None):
        self.filter = filter
        self.subtitle_check = subtitle_check
        self.enhancer = enhancer
        self.quality = quality
        self.enhance_first = enhance_first
        self.sample_rate = sample_rate

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        samples = json.loads(Path(ctx.results["scenes"]["samples"]).read_text())
        wave, sr = sf.read(ctx.results["standardise"]["audio"], dtype="float32")
        dropped, scored, pending = [], [], []
        (out / "clips").mkdir()
        # The episode was scaled by the loudness gain: its original full scale now lies there.
        full_scale = 10 ** (ctx.results["standardise"].get("gain_db", 0.0) / 20)
        for sample in samples:
            clip = wave[int(sample["start"] * sr): int(sample["end"] * sr)]
            sample["clipped"] = round(clipped_fraction(clip, full_scale), 5)
            reason = self.filter.reason(sample)
            if reason == "transcript_mismatch" and self.subtitle_check is not None:
                reason = self.subtitle_check.rescue(sample, clip, sr)
            if reason is not None:
                dropped.append({**sample, "reason": reason})
                continue
            if self.enhance_first and self.enhancer is not None:
                clip = self.enhancer(clip, sr)
            scores = self.quality(clip, sr) if self.quality is not None else {}
            sample["dnsmos"] = {k: round(float(v), 3) for k, v in scores.items()}
            scored.append((sample, clip))
        # The quality bar is the episode's: it may depend on how all its replies scored.
        threshold = self.filter.quality_threshold([s["dnsmos"]["ovrl"] for s, _ in scored if "ovrl" in s["dnsmos"]])
        # Enhancing (when not done first) and writing kept replies run beside deciding the next ones.
        with ThreadPoolExecutor(1) as writer:
            for sample, clip in scored:
                reason = self.filter.quality_reason(sample["dnsmos"]["ovrl"], threshold) if sample["dnsmos"] else None
                if reason is not None:
                    dropped.append({**sample, "reason": reason})
                    continue
                path = out / "clips" / f"{sample['id']}.flac"
                pending.append((sample, path, writer.submit(self._write, clip, sr, path, not self.enhance_first)))
            kept = [{**sample, "audio": str(path), "sample_rate": self.sample_rate,
                     "duration": round(written.result() / self.sample_rate, 3)} for sample, path, written in pending]
        order = {s["id"]: i for i, s in enumerate(samples)}
        dropped.sort(key=lambda d: order[d["id"]])
        write_json(out / "kept.json", kept)
        write_json(out / "dropped.json", dropped)
        return {"kept": str(out / "kept.json"), "dropped": str(out / "dropped.json"),
                "n_kept": len(kept), "n_dropped": len(dropped), "dnsmos_threshold": threshold,
                "text_from_subtitle": sum(s.get("text_source") == "subtitle" for s in kept),
                "enhancer": getattr(self.enhancer, "name", None), "quality": getattr(self.quality, "name", None)}

    def _write(self, clip, sr: int, path: Path, enhance: bool) -> int:
        """Enhance (unless done before scoring), resample and write one kept reply; its length in samples."""
        if enhance and self.enhancer is not None:
            clip = self.enhancer(clip, sr)
        if self.sample_rate != sr:
            clip = soxr.resample(clip, sr, self.sample_rate)
        sf.write(path, clip, self.sample_rate, subtype="PCM_16")
        return clip.size
