"""AQ by an audio-LLM judge: each clip goes as a base64 WAV ``input_audio`` part with the ``aq`` prompt."""

from audiorole.eval.audio import resample, wav_base64
from audiorole.eval.judge import JudgeClient, PromptTemplate


class JudgeQuality:
    """``client`` None: the evaluator hands over its shared ``judge`` client."""

    def __init__(self, client: JudgeClient | None = None, prompt: str = "aq", sample_rate: int = 16000,
                 min_seconds: float = 0.5):
        self.client = client
        self.prompt = PromptTemplate.load(prompt)
        self.sample_rate = int(sample_rate)
        self.min_seconds = float(min_seconds)

    @property
    def scale(self) -> tuple[float, float]:
        return self.prompt.scale

    @property
    def name(self) -> str:
        low, high = self.prompt.scale
        return f"judge:{self.client.model if self.client else '?'}({low}-{high})"

    def score_many(self, waves, sample_rate: int) -> list[float]:
        scores = []
        for wave in waves:
            wave = resample(wave, sample_rate, self.sample_rate)
            if wave.size < self.min_seconds * self.sample_rate:
                scores.append(float("nan"))
                continue
            messages = self.prompt.render(audio_wav_b64=wav_base64(wave, self.sample_rate))
            judgment = self.client.judge(messages, self.prompt.scale)
            scores.append(float(judgment.score) if judgment else float("nan"))
        return scores

