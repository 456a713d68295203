"""Lightning callbacks: ARP-Eval at validation, audio samples, adapter-only checkpoints."""
