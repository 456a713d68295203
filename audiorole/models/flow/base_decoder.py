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
    "config.yaml": "615e2efb539571704f9860533f4d47bb03f5706cc03f466ee1c1e380f429d036",
    "flow.pt": "2c39ee0f9480039178cc6a3859843765f0e66e48d6787e4e725a2676a11f1afd",
    "trained_on.json": "b00e373b8f7d87e35449cffa103a2df697b090887713699bbef5461d5eecbb1f",
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
