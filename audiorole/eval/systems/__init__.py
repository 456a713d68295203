"""Systems ARP-Eval scores: each turns held-out items into ``Output``s (``audiorole.eval.items.System``).

ground_truth.py      the reference clips themselves (the ceiling)
acoustic_decoder.py  a character's decoder re-synthesising each item's speech tokens; pointed at
                     another character's decoder it is the "other character" baseline
untrained.py         the same architecture, randomly initialised (the "base" baseline)
vocoded.py           the reference's own mel through the vocoder (copy synthesis: a decoder's ceiling)
reply_folder.py      replies another system wrote into a folder (<item id>.wav, optional .txt)
lm_replies.py        the semantic stage's LM writing each reply from its scene (trained adapter or untrained)
loading.py           decoders and vocoders from exported dirs or Lightning checkpoints

Systems are listed in config (``conf/systems/``) as ``_target_``s, so a new one is a new config
file, not a change to ``evaluate.py``.
"""

from .acoustic_decoder import AcousticDecoder
from .ground_truth import GroundTruth
from .lm_replies import LMReplies
from .reply_folder import ReplyFolder
from .untrained import UntrainedDecoder
from .vocoded import VocodedGroundTruth

__all__ = ["AcousticDecoder", "GroundTruth", "LMReplies", "ReplyFolder", "UntrainedDecoder", "VocodedGroundTruth"]
