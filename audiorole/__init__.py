"""audiorole: turn TV episodes into a character-grounded speech dataset, train a
speech LLM and a per-character voice decoder on it, and score them with ARP-Eval.

This package is the library: it never imports Lightning. The Lightning adapters
live in the sibling packages ``datamodules``, ``lightning_modules`` and ``callbacks``.
"""

__version__ = "0.1.0"
