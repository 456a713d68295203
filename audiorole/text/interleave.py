"""The reply's token pattern: 13 text tokens, 26 audio tokens, repeated (GLM-4-Voice).

When one stream runs out the rest of the other follows in one run, so a block
shorter than its size means that stream has ended. ``ReplyGrammar`` is the exact
set of sequences ``interleave`` can produce; generation uses it so a reply is
always well formed, whatever the model's weights.
"""

from dataclasses import dataclass

TEXT_BLOCK = 13
AUDIO_BLOCK = 26


def interleave(text: list[int], audio: list[int], text_block: int = TEXT_BLOCK, audio_block: int = AUDIO_BLOCK) -> list[int]:
    out: list[int] = []
    t = a = 0
    while t < len(text) or a < len(audio):
        if a >= len(audio):                       # audio done: the rest is text
            return out + list(text[t:])
        if t >= len(text):                        # text done: the rest is audio
            return out + list(audio[a:])
        out += text[t:t + text_block]
        t += text_block
        if t > len(text):                         # a short text block: text has ended
            return out + list(audio[a:])
        out += audio[a:a + audio_block]
        a += audio_block
    return out


TEXT, AUDIO, STOP = "text", "audio", "stop"


@dataclass
class ReplyGrammar:
    """Which kind of token may come next, given the kinds so far (state machine over ``interleave``'s output).

    A switch of stream before a block is full ends the stream left; a block that
    is full may be followed by either stream (continuing the same one means the
    other has ended). A stop token may always end the reply. With
    ``text_leads``, GLM-4-Voice's usual shape is required: the reply opens with
    text, a full text block is followed by speech and an audio block is full
    before text resumes, so only the text can end first (its speech outlasts its
    text: 26 tokens are ~2 s, 13 text tokens ~3 s of speech). A weakly trained
    model otherwise tends to drop one of the two streams.

    With ``text_resumes`` a full text block also promises more text: once its
    audio block is full, text comes next, so the text ends only with a short
    block (or a stop). A small LM cannot count to 26, and after 26 speech codes
    it keeps emitting speech, which ended the text after its first 13 tokens.
    The one reply ``interleave`` makes that this excludes, text of an exact
    multiple of 13 tokens, costs one extra text token.
    """

    text_block: int = TEXT_BLOCK
    audio_block: int = AUDIO_BLOCK
    text_leads: bool = False
    text_resumes: bool = False
    phase: str = TEXT
    run: int = 0
    text_done: bool = False
    audio_done: bool = False

    def allowed(self) -> set[str]:
        if self.text_done:
            return {AUDIO, STOP}
        if self.audio_done:
            return {TEXT, STOP}
        if self.text_leads and self.phase == TEXT:
            if self.run == 0:                      # the reply's first token
                return {TEXT, STOP}
            if self.run >= self.text_block:
                return {AUDIO, STOP}
        if self.text_leads and self.phase == AUDIO and self.run < self.audio_block:
            return {AUDIO, STOP}
        if self.text_resumes and self.phase == AUDIO and self.run >= self.audio_block:
            return {TEXT, STOP}
        return {TEXT, AUDIO, STOP}

    def step(self, kind: str) -> None:
        if kind not in self.allowed():
            raise ValueError(f"{kind} token not allowed here ({self})")
        if kind == STOP:
            return
        block = self.text_block if self.phase == TEXT else self.audio_block
        if kind == self.phase:
            if self.run >= block and not (self.text_done or self.audio_done):
                # a full block continued: the other stream has ended
                if kind == TEXT:
                    self.audio_done = True
                else:
                    self.text_done = True
            self.run += 1
            return
        if self.run < block:                      # switched early: the stream left has ended
            if self.phase == TEXT:
                self.text_done = True
            else:
                self.audio_done = True
        self.phase, self.run = kind, 1
