"""Answer a scene as a character: text, and speech in the character's voice.

    python -m audiorole.reply --adapter logs/train/runs/<run>/lm/adapter --decoder <acoustic run>/decoder \\
        --series audiorole/demo/series --character otis --context "mara: Cast off. Mind the shoals." --out reply.wav
    python -m audiorole.reply --model <run>/lm/merged --system "You are ..." --context "..." --out reply.wav [--no-sample]

``--context`` holds the previous turns, one "speaker: line" per line. A model
trained on spoken context (chat user_mode=speech) takes ``--context-audio``
files instead, tokenized with ``--tokenizer``. Writes the wav (when a
``--decoder`` is given) and the reply's text beside it (``.txt``). With
``--stream`` speech is synthesised block by block while the reply is still
being generated (GLM-4-Voice's streaming), so the first audio is ready
before the whole reply is decoded. Decoding follows the model folder's
``generation.json`` (what its training run validated with); ``--sample`` /
``--no-sample``, ``--temperature``, ``--top-p``, ``--repetition-penalty``, ``--seed``
and ``--max-new-tokens`` override one field each.
"""

import argparse
import sys
from pathlib import Path

from audiorole.errors import AudioroleError


def parse_context(text: str):
    from audiorole.eval.items import ContextTurn

    turns = []
    for line in (line.strip() for line in text.splitlines()):
        if line:
            speaker, sep, said = line.partition(":")
            speaker, said = (speaker.strip(), said.strip()) if sep else ("user", line)
            turns.append(ContextTurn(speaker=speaker, text=said, episode="", start=0.0, end=0.0))
    return tuple(turns)


def load_lm(args):
    """(model, tokenizer, chat options) from --model (a plain transformers folder) or --adapter."""
    from audiorole.models.lm.lora import load_adapter, read_chat

    if args.adapter:
        model, tokenizer = load_adapter(args.adapter, merge=True)
        return model, tokenizer, read_chat(args.adapter)
    if not (Path(args.model) / "config.json").is_file():
        raise AudioroleError(f"{args.model}: not a transformers model folder (no config.json); pass a run's lm/merged folder")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = AutoModelForCausalLM.from_pretrained(args.model), AutoTokenizer.from_pretrained(args.model)
    return model, tokenizer, read_chat(args.model)


def _system(args) -> str:
    if args.system is not None:
        return args.system
    if not (args.series and args.character):
        raise AudioroleError("say who answers: --system TEXT, or --series DIR --character NAME (persona from characters.yaml)")
    from audiorole.text.dialogues import system_prompts

    systems = system_prompts(args.series)
    if args.character not in systems:
        raise AudioroleError(f"{args.series}/characters.yaml has no character '{args.character}' "
                             f"(known: {', '.join(sorted(systems))})")
    return systems[args.character]


def _context_codes(args, n_turns: int):
    if not args.context_audio:
        return None
    if not args.tokenizer:
        raise AudioroleError("--context-audio needs --tokenizer DIR (the dataset's offline tokenizer, e.g. "
                             "data/prepared/demo/tokenizer/offline)")
    from audiorole.audio.decode import load_audio
    from audiorole.tokenizers.artifact import load_tokenizer_dir

    tokenizer = load_tokenizer_dir(args.tokenizer)
    codes = tuple(tokenizer.encode(load_audio(p, tokenizer.sample_rate)) for p in args.context_audio)
    if n_turns and len(codes) != n_turns:
        raise AudioroleError(f"{len(codes)} --context-audio files for {n_turns} --context lines; give one per turn")
    return codes


def decoding(args):
    """The model folder's generation.json (``{}`` for an older export: greedy), with the given flags on top."""
    from audiorole.models.lm.generate import GenerationSettings
    from audiorole.models.lm.lora import read_generation

    settings = read_generation(args.adapter or args.model)
    given = {"do_sample": args.sample, "temperature": args.temperature, "top_p": args.top_p,
             "repetition_penalty": args.repetition_penalty, "max_new_tokens": args.max_new_tokens, "seed": args.seed}
    settings.update({k: v for k, v in given.items() if v is not None})
    settings.setdefault("max_new_tokens", 600)
    return GenerationSettings(**settings)


def answer(model, tokenizer, chat: dict, system: str, context, codes=None, settings=None, decoder=None,
           vocoder=None, n_steps: int = 10):
    """``(text, speech codes, waveform or None)``: the reply to a scene, spoken when a decoder is given."""
    from audiorole.models.lm.generate import generate_reply, speak
    from audiorole.text.template import ChatFormat

    fmt = ChatFormat(tokenizer, **chat)
    limit = int(decoder.vocab_size) if decoder is not None else None
    _, parts = generate_reply(model, fmt.vocab, fmt.prompt(system, context, codes), settings, audio_limit=limit)
    text = tokenizer.decode(parts.text_ids, skip_special_tokens=True).strip()
    wave = speak(parts.codes, decoder, vocoder, n_steps=n_steps) if decoder is not None else None
    return text, parts.codes, wave


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.reply", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="merged model folder (plain transformers, e.g. <run>/lm/merged)")
    source.add_argument("--adapter", help="LoRA adapter folder (<run>/lm/adapter); its base is rebuilt from base.yaml")
    parser.add_argument("--decoder", help="the character's exported acoustic decoder; without it only text is written")
    parser.add_argument("--vocoder", help="vocoder artifact, or GLM-4-Voice's decoder folder / hift.pt "
                                          "(default: the one exported beside --decoder, else Griffin-Lim)")
    parser.add_argument("--stream", action="store_true",
                        help="synthesise speech blockwise while the reply is generated; report the first-audio latency")
    parser.add_argument("--context", default="", help='previous turns, one "speaker: line" per line')
    parser.add_argument("--context-audio", nargs="*", help="spoken previous turns (models trained with user_mode=speech)")
    parser.add_argument("--tokenizer", help="offline speech tokenizer folder, for --context-audio")
    parser.add_argument("--system", help="system prompt; default: the character's persona")
    parser.add_argument("--series", help="series folder whose characters.yaml holds the persona")
    parser.add_argument("--character", help="who answers (a name in characters.yaml)")
    # Decoding: the model's own generation.json (what its run validated with), each flag overriding one field.
    parser.add_argument("--sample", action=argparse.BooleanOptionalAction, default=None,
                        help="sample (--sample) or decode greedily (--no-sample)")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--repetition-penalty", type=float, help="on the reply's text tokens (1.0: none)")
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--steps", type=int, default=10, help="flow-matching steps of the decoder")
    parser.add_argument("--out", required=True, help="output wav; the text goes to the same name with .txt")
    args = parser.parse_args(argv)
    try:
        from audiorole.text.template import ChatFormat
        from audiorole.utils.atomic import atomic_path, write_text

        system = _system(args)
        context = parse_context(args.context)
        decoder = vocoder = None
        if args.decoder:
            from audiorole.eval.systems.loading import load_decoder, load_vocoder

            decoder = load_decoder(args.decoder)  # a folder without flow.pt: a one-line AudioroleError
            vocoder, _ = load_vocoder(args.vocoder, args.decoder)
        model, tokenizer, chat = load_lm(args)
        codes = _context_codes(args, len(context))
        if codes is not None and not context:
            context = tuple(parse_context("\n".join("user: " for _ in codes)))
        settings = decoding(args)
        out = Path(args.out)
        if args.stream and decoder is not None:
            fmt = ChatFormat(tokenizer, **chat)
            limit = int(decoder.vocab_size)
            parts = _reply_streaming(model, fmt, fmt.prompt(system, context, codes), settings, limit, decoder, vocoder,
                                     args)
            text, speech, wave = tokenizer.decode(parts.text_ids, skip_special_tokens=True).strip(), parts.codes, None
        else:
            text, speech, wave = answer(model, tokenizer, chat, system, context, codes, settings, decoder, vocoder,
                                        n_steps=args.steps)
        write_text(out.with_suffix(".txt"), text + "\n")
        print(text)
        if wave is not None:
            import soundfile as sf

            with atomic_path(out) as tmp:
                sf.write(tmp, wave, decoder.sample_rate, format="WAV")
            print(f"wrote {out} ({len(wave) / decoder.sample_rate:.2f} s, {len(speech)} speech tokens) and "
                  f"{out.with_suffix('.txt')}")
        elif decoder is None:
            print(f"wrote {out.with_suffix('.txt')} (no --decoder: text only, {len(speech)} speech tokens unspoken)")
    except AudioroleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _reply_streaming(model, fmt, prompt, settings, limit, decoder, vocoder, args):
    """Generate the reply while its speech codes are synthesised blockwise into ``args.out``."""
    import time

    from audiorole.audio.wav_stream import WavStream
    from audiorole.models.lm.generate import AudioCodeStreamer, generate_reply
    from audiorole.models.streaming import BlockFeeder
    from audiorole.speak import streaming_synthesizer

    feeder = BlockFeeder(streaming_synthesizer(decoder, vocoder, n_steps=args.steps))
    first_at = None  # tokens generated when the first audio was written
    start = time.perf_counter()
    with WavStream(args.out, decoder.sample_rate) as out:
        def on_code(code: int) -> None:
            nonlocal first_at
            chunk = feeder.add(code)
            if chunk is not None:
                out.write(chunk)
                first_at = first_at or streamer.generated

        streamer = AudioCodeStreamer(fmt.vocab, on_code, audio_limit=limit)
        generated, parts = generate_reply(model, fmt.vocab, prompt, settings, audio_limit=limit, streamer=streamer)
        out.write(feeder.close())
    first = (f"first audio after {out.first_audio_s:.2f} s, at token {first_at or len(generated)} of {len(generated)}"
             if out.first_audio_s is not None else "no speech tokens")
    print(f"wrote {args.out} ({out.seconds:.2f} s in {out.chunks} chunks, {len(parts.codes)} speech tokens; {first}; "
          f"all after {time.perf_counter() - start:.2f} s)")
    return parts


if __name__ == "__main__":
    sys.exit(main())
