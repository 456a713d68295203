"""The reference reply itself: the upper bound every other system is read against."""

from audiorole.audio.decode import load_audio
from audiorole.eval.items import EvalItem, Output


class GroundTruth:
    """Answers each item with its own kept clip.

    ``use_reference_text``: give the evaluator the reference transcript (CQ is then 1 by
    construction); ``False`` makes the evaluator transcribe the clip like any other system,
    which measures what ASR errors alone cost the text metrics.
    """

    def __init__(self, sample_rate: int = 16000, use_reference_text: bool = True, name: str = "ground_truth"):
        self.sample_rate = int(sample_rate)
        self.use_reference_text = use_reference_text
        self.name = name

    def respond(self, items: list[EvalItem]) -> list[Output]:
        return [Output(wave=load_audio(item.audio, self.sample_rate), sample_rate=self.sample_rate,
                       text=item.text if self.use_reference_text else None)
                for item in items]

    def describe(self) -> dict:
        return {"sample_rate": self.sample_rate, "reference_text": self.use_reference_text}
