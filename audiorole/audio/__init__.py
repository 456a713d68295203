"""Audio I/O: decode anything FFmpeg reads, resample, loudness."""
