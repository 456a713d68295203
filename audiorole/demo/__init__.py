"""A small synthetic TV series ("Harbor Lights") used as the demo input.

The committed series lives in ``series/``; ``make_demo.py`` regenerates it
(or a larger one) offline. See ``README.md`` in this folder.
"""

from pathlib import Path

DEMO_SERIES_DIR = Path(__file__).parent / "series"

__all__ = ["DEMO_SERIES_DIR"]
