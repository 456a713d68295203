"""``python -m audiorole.app``: a local browser app on trained runs (talk to a character; hear evaluate.py samples)."""
