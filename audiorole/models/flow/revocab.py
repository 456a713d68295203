"""Move a trained flow decoder onto another tokenizer's codes (a warm start, not a finished decoder).

A decoder maps codes to speech through ``input_embedding``; everything after it (conformer encoder,
length regulator, flow estimator) works on embeddings and does not care which tokenizer made them.
When the tokenizer changes, the rest of a trained decoder is still a far better start than random
weights. Each new code's embedding starts as the mean of the old decoder's embeddings of the old
codes heard at the same frames of the same clips (both tokenizers at 12.5 Hz), so the warm-started
decoder already says roughly what the new codes mean; fine-tuning on the new codes
(``train.py experiment=base_decoder model.init_from=<out>``) does the rest. Codes never seen get
the mean embedding.

    python -m audiorole.models.flow.revocab --decoder OLD_DECODER --old-tokenizer OLD_DIR \\
        --new-tokenizer NEW_DIR --corpus CORPUS --out OUT [--clips 500]

``--old-tokenizer``/``--new-tokenizer``: tokenizer folders (``tokenizer=folder`` layouts, or
``shipped`` for the shipped one). The output is a decoder folder whose ``trained_on.json`` names
the new tokenizer's fingerprint (the fine-tuning run checks it against its token cache).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from audiorole.data.trained_on import write_trained_on
from audiorole.errors import AudioroleError

log = logging.getLogger(__name__)


def co_occurrence_embedding(old_embedding: torch.Tensor, pairs: list[tuple[np.ndarray, np.ndarray]],
                            new_size: int) -> tuple[torch.Tensor, int]:
    """(new_size, dim) embeddings: per new code, the mean old embedding over its frames; (…, codes seen)."""
    dim = old_embedding.shape[1]
    total, count = torch.zeros(new_size, dim), torch.zeros(new_size)
    for old_codes, new_codes in pairs:
        n = min(len(old_codes), len(new_codes))  # packing may round a clip's length by a frame
        new_ids = torch.as_tensor(np.asarray(new_codes[:n], np.int64))
        total.index_add_(0, new_ids, old_embedding[torch.as_tensor(np.asarray(old_codes[:n], np.int64))])
        count.index_add_(0, new_ids, torch.ones(n))
    out = old_embedding.mean(0, keepdim=True).repeat(new_size, 1)
    seen = count > 0
    out[seen] = total[seen] / count[seen, None]
    return out, int(seen.sum())


def revocab(decoder, embedding: torch.Tensor):
    """A copy of ``decoder`` with ``input_embedding`` replaced (vocab_size follows it)."""
    from audiorole.models.flow.decoder import FlowDecoder

    config = decoder.config
    config["vocab_size"] = int(embedding.shape[0])
    out = FlowDecoder.from_config(config)
    state = decoder.state_dict()
    state["input_embedding.weight"] = embedding.to(state["input_embedding.weight"].dtype)
    out.load_state_dict(state)
    return out


def _tokenizer(folder: str):
    from audiorole.tokenizers.artifact import load_tokenizer_dir
    from audiorole.tokenizers.shipped import load_shipped

    return load_shipped() if folder == "shipped" else load_tokenizer_dir(folder)


def main(argv: list[str] | None = None) -> None:
    from audiorole.audio.decode import load_audio
    from audiorole.demo.base_corpus import read_cuts
    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.tokenizers.packing import encode_clips

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--decoder", required=True, help="the trained decoder folder to start from")
    p.add_argument("--old-tokenizer", required=True, help="the tokenizer that decoder was trained on")
    p.add_argument("--new-tokenizer", required=True, help="the tokenizer to move it to ('shipped': the shipped one)")
    p.add_argument("--corpus", required=True, help="a base corpus (audiorole.demo.base_corpus); its train clips are read")
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=int, default=500, help="train clips drawn (seed 0) to pair the codes on")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    old_tok, new_tok = _tokenizer(args.old_tokenizer), _tokenizer(args.new_tokenizer)
    if old_tok.frame_rate != new_tok.frame_rate:
        raise AudioroleError(f"{args.new_tokenizer}: {new_tok.frame_rate} Hz codes cannot be paired with "
                             f"{old_tok.frame_rate} Hz ones; both tokenizers must share a frame rate")
    train = [c for c in read_cuts(Path(args.corpus)) if c.supervisions[0].custom["split"] == "train"]
    if not train:
        raise AudioroleError(f"{args.corpus}: no train clips; give a corpus written by audiorole.demo.base_corpus")
    pick = np.random.default_rng(0).choice(len(train), min(args.clips, len(train)), replace=False)
    waves = [load_audio(train[i].recording.sources[0].source, 16000) for i in pick]
    pairs = list(zip(encode_clips(old_tok, waves, 16000), encode_clips(new_tok, waves, 16000)))
    decoder = FlowDecoder.load(args.decoder)
    embedding, seen = co_occurrence_embedding(decoder.input_embedding.weight.detach().float(), pairs,
                                              new_tok.codebook_size)
    out = revocab(decoder, embedding).save(args.out)
    write_trained_on(out, {"character": "base", "speech_tokens": new_tok.fingerprint,
                           "warm_start": {"decoder": str(args.decoder), "clips": len(pairs), "codes_seen": seen}})
    log.info("wrote %s: %d of %d new codes seen in %d clips", out, seen, new_tok.codebook_size, len(pairs))


if __name__ == "__main__":
    main()
