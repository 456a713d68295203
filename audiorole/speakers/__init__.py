"""Speaker embedders: one L2-normalised vector per clip, used by diarization,
character attribution and the AP metric. Heavy imports happen on first use."""

from audiorole.speakers.resemblyzer_embedder import ResemblyzerEmbedder, SpeakerClipError

__all__ = ["ResemblyzerEmbedder", "SpeakerClipError"]
