"""Join base corpora into one, for training a base decoder on several vocabularies at once.

    python -m audiorole.demo.join_corpora --out DIR CORPUS [CORPUS ...]

Each CORPUS is a folder written by ``python -m audiorole.demo.base_corpus``. The joined
folder holds only manifests (the clips stay where they are; the token cache is written
beside the manifests on first use). Every corpus contributes its train clips; the held-out
clips (dev and test voices) come from the **last** corpus only, so selection and the test
read the sentences of that corpus (say, ``--vocabulary broad``: words the others lack).
Clip ids must be unique across corpora (each vocabulary has its own id prefix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.utils.atomic import atomic_path


def join(out: str | Path, corpora: list[str | Path]) -> dict[str, int]:
    """Write the joined manifests into ``out``; returns clips per split."""
    from lhotse import RecordingSet, SupervisionSet

    from .base_corpus import read_cuts

    if not corpora:
        raise AudioroleError("join_corpora: name at least one corpus folder")
    recordings, supervisions, seen = [], [], set()
    for k, corpus in enumerate(corpora):
        last = k == len(corpora) - 1
        for cut in read_cuts(corpus):
            supervision = cut.supervisions[0]
            if supervision.custom["split"] != "train" and not last:
                continue
            if cut.recording.id in seen:
                raise AudioroleError(f"{corpus}: clip id {cut.recording.id} is also in an earlier corpus; "
                                     "join corpora of different seeds or vocabularies")
            missing = [src.source for src in cut.recording.sources if src.type == "file" and not Path(src.source).is_file()]
            if missing:
                raise AudioroleError(f"{corpus}: clip {missing[0]} is missing; rewrite the corpus with "
                                     f"python -m audiorole.demo.base_corpus --out {corpus} (an absolute --out)")
            seen.add(cut.recording.id)
            recordings.append(cut.recording)
            supervisions.append(supervision)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, manifest in (("recordings", RecordingSet.from_recordings(recordings)),
                           ("supervisions", SupervisionSet.from_segments(supervisions))):
        with atomic_path(out / f"{name}.jsonl.gz") as tmp:
            manifest.to_file(tmp)
    counts: dict[str, int] = {}
    for s in supervisions:
        counts[s.custom["split"]] = counts.get(s.custom["split"], 0) + 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the joined manifests")
    parser.add_argument("corpora", nargs="+", help="base-corpus folders; held-out clips come from the last")
    args = parser.parse_args(argv)
    print(f"joined {len(args.corpora)} corpora into {args.out}: {join(args.out, args.corpora)}")


if __name__ == "__main__":
    main()
