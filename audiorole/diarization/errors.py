from audiorole.errors import AudioroleError


class DiarizationError(AudioroleError):
    """A diarization backend cannot be built or run (missing token, dir, weights)."""
