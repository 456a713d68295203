"""The demo's shipped base decoder: the tiny flow trained on the multi-speaker base corpus.

Per-character decoders trained from scratch on a few minutes of audio keep the
voice but lose the words; starting from a decoder that already maps the shipped
offline codebook's codes (``audiorole/tokenizers/shipped.py``) to speech over
twenty voices is what the demo's acoustic stage fine-tunes from
(``model.init_from=${audiorole.base_decoder:}`` in ``conf/model/acoustic_tiny.yaml``).

The folder ``base/`` holds the public decoder layout (``config.yaml`` + ``flow.pt``),
its weights stored as float16 (loading restores float32), and ``trained_on.json``
naming the speech tokens it was trained on (the shipped codebook's fingerprint:
fine-tuning on other codes is refused), each file pinned by
sha256 below. How it was trained, with the exact commands, is in
docs/glm4voice_decoder.md ("The demo's base decoder"). Re-export a run's decoder with::

    python -m audiorole.models.flow.base_decoder --run-decoder logs/train/runs/<run>/decoder
"""

from __future__ import annotations

import argparse
from pathlib import Path

from audiorole.data.trained_on import read_trained_on, write_trained_on
from audiorole.errors import AudioroleError
from audiorole.utils.atomic import atomic_dir
from audiorole.utils.weights import file_sha256, verify_shipped

BASE_DIR = Path(__file__).parent / "base"
SHA256 = {
    "config.yaml": "44c57f682be024bd02ecdbda824d4f8ff187c99ba4df0b89e92c5dd803a4d864",
    "flow.pt": "3846989703207d282b30a163db25b9bfe6c580496c2906eff7d62619481ed669",
    "trained_on.json": "a954178fc69aa793529ea1fe5a456799ed5ee2b615734a3fd8903a110bbd7da0",
}


def base_decoder_dir() -> str:
    """The shipped folder, after checking each file against its pin (a one-line error otherwise)."""
    return str(verify_shipped(BASE_DIR, SHA256, AudioroleError))


def export(run_decoder: str | Path, out: Path = BASE_DIR) -> dict[str, str]:
    """Write a trained decoder (an exported folder or a run's .ckpt) as the shipped one (float16 weights);
    returns the new pins."""
    import torch

    from audiorole.eval.systems.loading import load_decoder

    decoder = load_decoder(run_decoder)
    _, record = read_trained_on(run_decoder)
    if not (record or {}).get("speech_tokens"):
        raise AudioroleError(f"{run_decoder}: no record of the speech tokens it was trained on (trained_on.json); "
                             "export a decoder trained by this version of train.py experiment=base_decoder")
    with atomic_dir(out) as staged:
        decoder.save(staged)
        state = torch.load(staged / "flow.pt", map_location="cpu", weights_only=True)
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, staged / "flow.pt")
        # Fine-tuning checks it: the codes it maps to speech are the shipped codebook's.
        write_trained_on(staged, {"character": record.get("character"), "speech_tokens": record["speech_tokens"]})
    return {name: file_sha256(out / name) for name in SHA256}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export a trained decoder folder as the shipped base decoder")
    parser.add_argument("--run-decoder", required=True, help="a training run's <output_dir>/decoder (or a .ckpt)")
    parser.add_argument("--out", default=str(BASE_DIR))
    args = parser.parse_args(argv)
    for name, sha in export(args.run_decoder, Path(args.out)).items():
        print(f'    "{name}": "{sha}",')


if __name__ == "__main__":
    main()
