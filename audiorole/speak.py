"""Speak speech tokens (or an audio file's content) in a character's voice.

    python -m audiorole.speak --decoder logs/train/runs/<run>/decoder --audio line.wav --tokenizer data/prepared/demo/tokenizer/offline --out out.wav
    python -m audiorole.speak --decoder DIR --tokens codes.npy --out out.wav [--vocoder VOCODER_DIR] [--steps 10]

Tokens -> mel with the character's flow decoder -> waveform with a trained
vocoder (``--vocoder``, or the ``vocoder/`` a run exported beside the decoder),
else Griffin-Lim.
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
    from audiorole.tokenizers.offline import OfflineTokenizer

    tokenizer = OfflineTokenizer.load(args.tokenizer)
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

            vocoder = Vocoder.load(vocoder_dir).for_inference()
        wave = synthesize(_tokens_from_args(args), decoder, vocoder, n_steps=args.steps, seed=args.seed)
        sf.write(args.out, wave, decoder.sample_rate)
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({len(wave) / decoder.sample_rate:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
