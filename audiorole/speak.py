"""Speak speech tokens (or an audio file's content) in a character's voice.

    python -m audiorole.speak --decoder logs/train/runs/<run>/decoder --audio line.wav --tokenizer data/prepared/demo/tokenizer/offline --out out.wav
    python -m audiorole.speak --decoder DIR --tokens codes.npy --out out.wav [--vocoder VOCODER_DIR] [--steps 10]
    python -m audiorole.speak ... --stream      # blockwise, as GLM-4-Voice streams: first audio after one block

Tokens -> mel with the character's flow decoder -> waveform with a trained
vocoder (``--vocoder``: a vocoder artifact, or GLM-4-Voice's decoder folder /
``hift.pt``; default the ``vocoder/`` a run exported beside the decoder), else
Griffin-Lim. ``--stream`` synthesises block by block (``audiorole.models.streaming``)
and reports when the first audio was ready.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError


def synthesize(tokens: np.ndarray, decoder, vocoder=None, n_steps: int = 10, guidance: float | None = None,
               seed: int | None = 0) -> np.ndarray:
    """int codes (N,) -> float32 waveform at the decoder's sample rate."""
    import torch

    mel = decoder.generate(torch.as_tensor(np.asarray(tokens, dtype=np.int64)), n_steps=n_steps, guidance=guidance, seed=seed)
    if vocoder is None:
        from audiorole.audio.mel import griffin_lim

        wave = griffin_lim(mel)
    else:
        wave = vocoder(mel)
    wave = wave.detach().cpu().numpy() if hasattr(wave, "detach") else np.asarray(wave)
    return np.asarray(wave, dtype=np.float32).reshape(-1)


def _tokens_from_args(args) -> np.ndarray:
    if args.tokens:
        return np.load(args.tokens)
    if not args.tokenizer:
        raise AudioroleError("--audio needs --tokenizer DIR (the offline tokenizer artifact, e.g. data/prepared/demo/tokenizer/offline)")
    from audiorole.audio.decode import load_audio
    from audiorole.tokenizers.artifact import load_tokenizer_dir

    tokenizer = load_tokenizer_dir(args.tokenizer)
    return tokenizer.encode(load_audio(args.audio, tokenizer.sample_rate))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.speak", description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", required=True,
                        help="decoder directory (config.yaml + flow.pt): a run's decoder/ or the public glm-4-voice-decoder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tokens", help=".npy file of int codes")
    source.add_argument("--audio", help="audio file whose content to speak (tokenized with --tokenizer)")
    parser.add_argument("--tokenizer", help="offline tokenizer artifact directory")
    parser.add_argument("--vocoder", help="vocoder directory (audiorole.models.vocoder); default: Griffin-Lim")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--stream", action="store_true", help="synthesise blockwise and report the first-audio latency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        import soundfile as sf

        from audiorole.models.flow.decoder import FlowDecoder

        decoder = FlowDecoder.load(args.decoder)  # a folder without flow.pt: a one-line AudioroleError
        vocoder = None
        vocoder_dir = args.vocoder or (Path(args.decoder) / "vocoder" if (Path(args.decoder) / "vocoder" / "vocoder.json").is_file() else None)
        if vocoder_dir:
            from audiorole.models.vocoder.vocoder import Vocoder

            vocoder = Vocoder.from_path(vocoder_dir)
        tokens = _tokens_from_args(args)
        if args.stream:
            return _stream(tokens, decoder, vocoder, args)
        wave = synthesize(tokens, decoder, vocoder, n_steps=args.steps, seed=args.seed)
        sf.write(args.out, wave, decoder.sample_rate)
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({len(wave) / decoder.sample_rate:.2f} s)")
    return 0


def streaming_synthesizer(decoder, vocoder=None, n_steps: int = 10):
    """``Token2Wav`` over a decoder with the authors' flow ``inference`` signature (our ``FlowDecoder``, or
    theirs) and a vocoder (None: Griffin-Lim). ``n_steps`` goes to our decoder's ``inference`` as its
    Euler steps (0: the encoder's own mel); its noise is the authors' fixed seed."""
    from audiorole.models.streaming import Token2Wav

    if vocoder is None:
        from audiorole.models.vocoder.griffin_lim import GriffinLimVocoder

        vocoder = GriffinLimVocoder()
    options = {"n_timesteps": n_steps} if hasattr(decoder, "prior_mel") else {}
    return Token2Wav(decoder, vocoder, sample_rate=getattr(decoder, "sample_rate", 22050),
                     hop_length=getattr(decoder, "hop_length", 256), flow_options=options)


def _stream(tokens, decoder, vocoder, args) -> int:
    import time

    from audiorole.audio.wav_stream import WavStream

    t2w = streaming_synthesizer(decoder, vocoder, n_steps=args.steps)
    start = time.perf_counter()
    with WavStream(args.out, decoder.sample_rate) as out:
        for chunk in t2w.blocks(iter(np.asarray(tokens).tolist())):
            out.write(chunk)
    total = time.perf_counter() - start
    print(f"wrote {args.out} ({out.seconds:.2f} s in {out.chunks} chunks; first audio after {out.first_audio_s:.2f} s, "
          f"all after {total:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
