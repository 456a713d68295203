"""Generate a character's reply: interleaved text and speech tokens, then text and (optionally) a waveform.

``model.generate`` stops at ``<|user|>`` or ``<|endoftext|>``. ``ReplyConstraint``
masks the logits so the model can only emit text tokens, audio tokens the decoder
knows, or a stop token, and (``structured``) only in the 13 text : 26 audio
pattern of ``audiorole.text.interleave`` — so even an untrained model's output
splits cleanly, and nothing but valid codes ever reaches the decoder.
"""

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from audiorole.text.interleave import AUDIO, STOP, TEXT, ReplyGrammar
from audiorole.text.split import ReplyParts, split_reply
from audiorole.text.vocab import ChatVocab


def _kind_masks(vocab: ChatVocab, size: int, audio_limit: int) -> dict[str, torch.Tensor]:
    """Boolean masks over the model's logits (its vocabulary may be padded beyond the tokenizer's)."""
    ids = torch.arange(size)
    audio = (ids >= vocab.audio_offset) & (ids < vocab.audio_offset + audio_limit)
    text = (ids < vocab.size) & ~((ids >= vocab.audio_offset) & (ids < vocab.audio_offset + vocab.n_audio))
    if vocab.special:
        text &= ~torch.isin(ids, torch.tensor(sorted(vocab.special)))
    stop = torch.isin(ids, torch.tensor(vocab.stop))
    return {TEXT: text, AUDIO: audio, STOP: stop}


class ReplyConstraint:
    """A transformers logits processor: allowed kinds only (and the interleave pattern when ``structured``).

    ``min_audio_per_text``: the reply may not stop before it holds at least this many speech codes per text
    token, so its speech is long enough to say its words (a small LM tends to stop a few codes after its
    text ends).
    """

    def __init__(self, vocab: ChatVocab, model_vocab_size: int, prompt_length: int, structured: bool = True,
                 audio_limit: int | None = None, text_block: int = 13, audio_block: int = 26,
                 text_leads: bool = True, text_resumes: bool = False, min_audio_per_text: float = 0.0):
        limit = vocab.n_audio if audio_limit is None else min(vocab.n_audio, int(audio_limit))
        self.vocab, self.prompt_length, self.structured = vocab, prompt_length, structured
        self.masks = _kind_masks(vocab, model_vocab_size, limit)
        self.blocks = (text_block, audio_block, text_leads, text_resumes)
        self.min_audio_per_text = float(min_audio_per_text)
        self.grammars: list[ReplyGrammar] = []
        self.counts: list[dict[str, int]] = []
        self.seen = 0

    def _kind(self, index: int) -> str:
        if index in self.vocab.stop:
            return STOP
        return AUDIO if self.vocab.is_audio(index) else TEXT

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not self.grammars:
            self.grammars = [ReplyGrammar(*self.blocks) for _ in range(input_ids.shape[0])]
            self.counts = [{TEXT: 0, AUDIO: 0} for _ in range(input_ids.shape[0])]
            self.seen = self.prompt_length
        # Feed the tokens generated since the last call (one per step) to each row's grammar.
        for position in range(self.seen, input_ids.shape[1]):
            for row, grammar in enumerate(self.grammars):
                kind = self._kind(int(input_ids[row, position]))
                if kind != STOP and kind in grammar.allowed():
                    grammar.step(kind)
                    self.counts[row][kind] += 1
        self.seen = input_ids.shape[1]
        if next(iter(self.masks.values())).device != scores.device:
            self.masks = {k: m.to(scores.device) for k, m in self.masks.items()}
        allowed = torch.zeros_like(scores, dtype=torch.bool)
        for row, grammar in enumerate(self.grammars):
            kinds = grammar.allowed() if self.structured else {TEXT, AUDIO, STOP}
            counts = self.counts[row]
            if counts[AUDIO] < self.min_audio_per_text * counts[TEXT] and kinds - {STOP}:
                kinds = kinds - {STOP}  # too little speech for its words yet
            for kind in kinds:
                allowed[row] |= self.masks[kind][: scores.shape[1]]
        return scores.masked_fill(~allowed, float("-inf"))


class TextRepetitionPenalty:
    """A transformers logits processor: CTRL's repetition penalty on the reply's own *text* tokens only.

    transformers' ``repetition_penalty`` divides the score of every token already in the sequence, the
    prompt and the speech codes included; speech codes repeat by nature (a held vowel is one code many
    times), so penalising them bends the speech. Here only text tokens the reply has already written
    are penalised: a small LM stops looping on one phrase, and its speech is left as it was.
    """

    def __init__(self, vocab: ChatVocab, prompt_length: int, penalty: float):
        if penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0 (1.0: off), got {penalty}")
        self.vocab, self.prompt_length, self.penalty = vocab, prompt_length, float(penalty)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        reply = input_ids[:, self.prompt_length:]
        if reply.shape[1] == 0 or self.penalty == 1.0:
            return scores
        v = self.vocab
        text = (reply < v.audio_offset) | (reply >= v.audio_offset + v.n_audio)
        for row in range(reply.shape[0]):
            seen = torch.unique(reply[row][text[row]])
            seen = seen[seen < scores.shape[1]]
            if seen.numel():
                picked = scores[row, seen]
                scores[row, seen] = torch.where(picked > 0, picked / self.penalty, picked * self.penalty)
        return scores


@dataclass
class GenerationSettings:
    """How a reply is decoded (``model.generation``): greedy, or sampled (temperature, nucleus top-p,
    seeded per reply), with a repetition penalty on the reply's text tokens (1.0: none)."""

    max_new_tokens: int = 400
    do_sample: bool = False
    temperature: float = 0.8
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    structured: bool = True
    text_leads: bool = True   # text opens the reply; a full text block is followed by audio (ReplyGrammar)
    text_resumes: bool = False  # after a full text block and its audio block, text comes next (ReplyGrammar)
    min_audio_per_text: float = 0.0  # no stop before this many speech codes per text token (ReplyConstraint)
    seed: int = 0


class AudioCodeStreamer:
    """A transformers streamer: calls ``on_code(code)`` for each speech code the moment it is generated,
    so speech can be synthesised while the reply is still being written (``audiorole.models.streaming``)."""

    def __init__(self, vocab: ChatVocab, on_code, audio_limit: int | None = None):
        self.vocab, self.on_code = vocab, on_code
        self.limit = vocab.n_audio if audio_limit is None else min(vocab.n_audio, int(audio_limit))
        self.prompt_seen = False
        self.generated = 0  # tokens generated so far (text and speech)

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate() hands over the prompt first
            self.prompt_seen = True
            return
        for index in value.reshape(-1).tolist():
            self.generated += 1
            code = index - self.vocab.audio_offset
            if self.vocab.is_audio(index) and code < self.limit:
                self.on_code(code)

    def end(self) -> None:
        pass


def reply_seed(seed: int, prompt_ids: list[int]) -> int:
    """A sampling seed for one prompt: ``seed`` and the prompt's ids, hashed (stable across runs and machines)."""
    digest = zlib.crc32(np.asarray(prompt_ids, dtype="<i8").tobytes())
    return (int(seed) * 1_000_003 + digest) % (2**63 - 1)


def generate_reply(model, vocab: ChatVocab, prompt_ids: list[int], settings: GenerationSettings | None = None,
                   audio_limit: int | None = None, streamer: AudioCodeStreamer | None = None
                   ) -> tuple[list[int], ReplyParts]:
    """The generated ids (prompt excluded) and their split into text ids and speech codes."""
    from transformers import LogitsProcessorList

    settings = settings or GenerationSettings()
    device = next(model.parameters()).device
    input_ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    constraint = ReplyConstraint(vocab, model.config.vocab_size if hasattr(model, "config") else vocab.size,
                                 len(prompt_ids), settings.structured, audio_limit,
                                 text_leads=settings.text_leads, text_resumes=settings.text_resumes,
                                 min_audio_per_text=settings.min_audio_per_text)
    processors = [constraint]
    if settings.repetition_penalty != 1.0:  # before the grammar's mask: -inf stays -inf either way
        processors.insert(0, TextRepetitionPenalty(vocab, len(prompt_ids), settings.repetition_penalty))
    sampling = {"do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p} if settings.do_sample \
        else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    was_training = model.training
    model.eval()
    # Each reply draws from its own stream, seeded by the seed and the prompt, in a forked RNG: the same
    # scene gives the same reply whatever was asked before it, different scenes do not share their draws
    # (one seed for all would start every reply with the same choices), and a preview during training
    # leaves the training RNG where it was.
    devices = [device] if device.type == "cuda" else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices, enabled=settings.do_sample):
        if settings.do_sample:
            torch.manual_seed(reply_seed(settings.seed, prompt_ids))
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                             max_new_tokens=settings.max_new_tokens, eos_token_id=list(vocab.stop),
                             pad_token_id=vocab.end_of_text, logits_processor=LogitsProcessorList(processors),
                             streamer=streamer, **sampling)
    model.train(was_training)
    generated = out[0, len(prompt_ids):].tolist()
    return generated, split_reply(generated, vocab, codebook_size=audio_limit)


def speak(codes: np.ndarray, decoder, vocoder=None, n_steps: int = 10) -> np.ndarray:
    """Speech codes -> waveform with a character's decoder (empty when there are no codes)."""
    if decoder is None or len(codes) == 0:
        return np.zeros(0, dtype=np.float32)
    from audiorole.speak import synthesize

    return synthesize(codes, decoder, vocoder=vocoder, n_steps=n_steps)
