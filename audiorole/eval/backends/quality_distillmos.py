"""AQ by DistillMOS (Microsoft, MIT): a small CNN + transformer distilled from an XLS-R speech-quality model.

The weights ship inside the ``distillmos`` wheel (``weights/distill_mos_v7.pt``, sha256-pinned
here); the model is ``distillmos.ConvTransformerSQAModel`` (it needs ``xls-r-sqa`` for its
transformer and pooling blocks). Input is 16 kHz audio; the model cuts it into 7.68 s windows,
peak-normalises each and averages their predicted MOS (1-5). Clips shorter than ``min_seconds``
get NaN (the evaluator scores unscoreable outputs itself).
"""

import numpy as np

from audiorole.eval.audio import resample
from audiorole.utils.weights import package_file, verified

SAMPLE_RATE = 16000
WEIGHTS = (("weights", "distill_mos_v7.pt"), "b18b3ac60227267cfb91e5d00ce22cc7b73716fd92f269484da1446e27031a40")


class DistillMOSQuality:
    scale = (1.0, 5.0)

    def __init__(self, device: str = "cpu", min_seconds: float = 0.5):
        self.device = str(device)
        self.min_seconds = float(min_seconds)
        self.name = "distillmos"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import torch
            from distillmos import ConvTransformerSQAModel

            parts, sha = WEIGHTS
            path = verified(package_file("distillmos", *parts), sha, "distillmos")
            model = ConvTransformerSQAModel(load_weights=False)  # its own loader prints; load the pinned file here
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
            self._model = model.eval().to(self.device)
        return self._model

    def score_many(self, waves, sample_rate: int) -> list[float]:
        import torch

        scores = []
        with torch.inference_mode():
            for wave in waves:
                wave = resample(wave, sample_rate, SAMPLE_RATE)
                if wave.size < self.min_seconds * SAMPLE_RATE or not np.isfinite(wave).all():
                    scores.append(float("nan"))
                    continue
                x = torch.from_numpy(np.ascontiguousarray(wave))[None].to(self.device)
                scores.append(float(self.model(x).reshape(-1)[0]))
        return scores
