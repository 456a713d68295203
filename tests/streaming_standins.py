"""A stand-in flow with the authors' ``MaskedDiffWithXvec.inference`` signature, for streaming tests.

``LookupFlow`` gives every mel frame the row of a fixed table picked by the
token that frame belongs to (frame j <- token floor(j / frames-per-token)),
and follows the authors' length rule: ``int(all tokens / rate × sr / hop)``
frames for prompt + new tokens, of which the ones after the prompt's mel are
returned. So a frame does not depend on how the tokens were split into
blocks, and streaming can be checked against one-shot synthesis exactly.
Also used by ``fixtures/glm4voice_streaming/make.py`` to drive the authors'
streaming code.
"""

import torch
from torch import nn

SAMPLE_RATE, HOP = 22050, 256


class LookupFlow(nn.Module):
    def __init__(self, codebook_size: int = 64, n_mels: int = 80, input_frame_rate: float = 12.5, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.table = nn.Parameter(torch.randn(codebook_size, n_mels, generator=g) * 1.5 - 6.0, requires_grad=False)
        self.input_frame_rate = input_frame_rate

    def frames(self, num_tokens: int) -> int:
        return int(num_tokens / self.input_frame_rate * SAMPLE_RATE / HOP)

    def inference(self, token, token_len, prompt_token, prompt_token_len, prompt_feat, prompt_feat_len, embedding):
        tokens = torch.cat([prompt_token, token], dim=1)[0].long()
        n = self.frames(int(prompt_token_len[0]) + int(token_len[0]))
        per_token = SAMPLE_RATE / HOP / self.input_frame_rate
        index = (torch.arange(n) / per_token).long().clamp(max=tokens.shape[0] - 1)
        mel = self.table[tokens[index]].T[None]  # (1, n_mels, n)
        return mel[:, :, int(prompt_feat.shape[1]):]


class SeededVocoder:
    """Seeds torch's RNG before each vocoder call (call k -> seed k), so two vocoders draw the same noise."""

    def __init__(self, vocoder, call):
        self.vocoder, self.call, self.calls = vocoder, call, 0

    def inference(self, mel, cache_source=None):
        torch.manual_seed(self.calls)
        self.calls += 1
        return self.call(self.vocoder, mel, cache_source)
