"""RTTM, the diarization interchange format: one ``SPEAKER`` line per speech turn.

``SPEAKER <uri> 1 <onset> <dur> <NA> <NA> <speaker> <NA> <NA>``; written
atomically so a crashed run never leaves half a file that a rerun would trust.
"""

from pathlib import Path

from audiorole.diarization.errors import DiarizationError
from audiorole.utils.atomic import write_text


def format_rttm(annotation, uri: str | None = None) -> str:
    uri = uri or annotation.uri or "unknown"
    if any(c.isspace() for c in uri):
        raise DiarizationError(f"RTTM uri {uri!r} contains whitespace; rename the episode file")
    lines = []
    for segment, _, label in sorted(annotation.itertracks(yield_label=True), key=lambda t: (t[0].start, t[0].end, str(t[2]))):
        label = str(label)
        if any(c.isspace() for c in label):
            raise DiarizationError(f"RTTM speaker label {label!r} contains whitespace; use a label without spaces")
        lines.append(f"SPEAKER {uri} 1 {segment.start:.3f} {segment.duration:.3f} <NA> <NA> {label} <NA> <NA>\n")
    return "".join(lines)


def write_rttm(annotation, path: str | Path, uri: str | None = None) -> Path:
    path = Path(path)
    write_text(path, format_rttm(annotation, uri))
    return path


def read_rttm(path: str | Path, uri: str | None = None):
    """Read one RTTM file into an Annotation (of ``uri`` if given, else of the first uri in the file)."""
    from pyannote.core import Annotation, Segment

    path = Path(path)
    if not path.is_file():
        raise DiarizationError(f"{path}: no such RTTM file")
    annotation = None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] != "SPEAKER" or len(fields) < 8:
            raise DiarizationError(f"{path}:{n}: not an RTTM SPEAKER line: {line.strip()[:80]!r}")
        file_uri, onset, dur, label = fields[1], float(fields[3]), float(fields[4]), fields[7]
        if annotation is None:
            uri = uri or file_uri
            annotation = Annotation(uri=uri)
        if file_uri != uri:
            continue
        annotation[Segment(onset, onset + dur), annotation.new_track(Segment(onset, onset + dur))] = label
    return annotation if annotation is not None else Annotation(uri=uri or path.stem)
