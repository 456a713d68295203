"""AQ offline default: DNSMOS OVRL (1-5) from ``audiorole.quality.DNSMOS``."""

from audiorole.errors import ConfigError


class DNSMOSQuality:
    """``score_many(waves, sr) -> [ovrl, ...]``; NaN for clips DNSMOS cannot score (shorter than ``min_seconds``)."""

    scale = (1.0, 5.0)

    def __init__(self, key: str = "ovrl", personalized: bool = False, hop_seconds: float = 1.0,
                 min_seconds: float = 0.5, threads: int = 1):
        from audiorole.quality.dnsmos import KEYS, DNSMOS

        if key not in KEYS:
            raise ConfigError(f"eval.quality.key '{key}' unknown; use one of {', '.join(KEYS)}")
        self.key = key
        self.name = "dnsmos" if key == "ovrl" else f"dnsmos-{key}"
        self._dnsmos = DNSMOS(personalized=personalized, hop_seconds=hop_seconds, min_seconds=min_seconds,
                              threads=threads)

    def score_many(self, waves, sample_rate: int) -> list[float]:
        return [float(s[self.key]) for s in self._dnsmos.score_many(list(waves), int(sample_rate))]
