"""Backend-neutral label hygiene: ``SPK_00, SPK_01, …`` in order of first speech."""


def relabel_by_first_turn(annotation, prefix: str = "SPK_"):
    first = {}
    for segment, _, label in annotation.itertracks(yield_label=True):
        first.setdefault(label, segment.start)
    order = sorted(first, key=lambda label: first[label])
    return annotation.rename_labels({label: f"{prefix}{i:02d}" for i, label in enumerate(order)})


def drop_short_turns(annotation, min_duration: float):
    if min_duration <= 0:
        return annotation
    out = annotation.empty()
    for segment, track, label in annotation.itertracks(yield_label=True):
        if segment.duration >= min_duration:
            out[segment, track] = label
    return out
