"""Run a block with a given number of torch threads, then put the setting back.

ARP-Eval's models are small (a tiny decoder, Griffin-Lim, Resemblyzer, DNSMOS, Whisper tiny):
on shared CPU cores one thread is several times faster for them than two (docs/design.md §8).
"""

from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None):
    """``n`` threads inside the block; ``None`` leaves torch's setting alone."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)
