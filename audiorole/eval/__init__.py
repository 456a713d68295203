"""ARP-Eval: acoustic quality (AQ), content quality (CQ), acoustic personalization (AP), content personalization (CP).

- ``evaluator.ARPEvaluator``: built from ``conf/eval/*.yaml``; ``prepare`` the references, ``score`` items and outputs.
- ``metrics``: the four measures as torchmetrics (sums and counts, DDP-safe).
- ``backends``: speaker embedders, quality scorers, text embedder, ASR, content scorers.
- ``judge``: the OpenAI-compatible judge client, prompt templates and strict reply parsing.
- ``items`` / ``eval_set``: what is scored and where it comes from.

Names below import on first use, so ``import audiorole.eval`` stays cheap.
"""

from audiorole.utils.lazy import lazy_getattr

_LAZY = {
    "ARPEvaluator": "audiorole.eval.evaluator",
    "EvalResult": "audiorole.eval.result",
    "arp_metrics": "audiorole.eval.metrics",
    "EvalItem": "audiorole.eval.items",
    "ContextTurn": "audiorole.eval.items",
    "Output": "audiorole.eval.items",
    "System": "audiorole.eval.items",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
