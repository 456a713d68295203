"""Build ARP-Eval's inputs from a prepared dataset: held-out items, training lines, enrollment clips.

Held-out items come from the dataset's split (``audiorole.data.splits``): ``test``
for reported numbers, ``dev`` for anything that selects; the training lines (CP's
reference) from ``train`` alone, so nothing scored was trained on.
"""

from pathlib import Path

from audiorole.data.replies import load_cuts
from audiorole.data.splits import character_cuts_for, load_splits, part_cuts
from audiorole.errors import AudioroleError
from audiorole.eval.items import ContextTurn, EvalItem


def _item(cut, tokens) -> EvalItem:
    sup = cut.supervisions[0]
    custom = sup.custom
    context = tuple(ContextTurn(speaker=c["speaker"], text=c["text"], episode=c["audio"]["episode"],
                                start=float(c["audio"]["start"]), end=float(c["audio"]["end"]))
                    for c in custom.get("context") or [])
    return EvalItem(id=sup.id, character=sup.speaker, episode=custom["episode"], scene=custom["scene"],
                    turn=int(custom["turn"]), text=sup.text or "", audio=Path(cut.recording.sources[0].source),
                    tokens=tokens.reply(custom["episode"], sup.id) if tokens is not None else None, context=context)


def held_out_items(prepared_dir: str | Path, character: str, part: str = "test", with_tokens: bool = True,
                   limit: int | None = None) -> list[EvalItem]:
    """The character's replies in ``part`` (test or dev), in a fixed order (episode, scene, turn)."""
    cuts = character_cuts_for(prepared_dir, character, part)
    if len(cuts) == 0:
        raise AudioroleError(f"{prepared_dir}: no {part} replies for '{character}' (see splits.json for the counts "
                             "per part and stats.json for drops)")
    tokens = None
    if with_tokens:
        from audiorole.tokenizers.cache import TokenCache, latest_cache

        tokens = TokenCache(latest_cache(prepared_dir))
    items = sorted((_item(c, tokens) for c in cuts), key=lambda i: (i.episode, i.scene, i.turn, i.id))
    return items[:limit] if limit else items


def training_lines(prepared_dir: str | Path) -> dict[str, list[str]]:
    """Every character's train-part reply texts (the CP reference)."""
    splits = load_splits(prepared_dir)
    train = part_cuts(load_cuts(prepared_dir), splits, "train")
    lines: dict[str, list[str]] = {}
    for cut in train:
        sup = cut.supervisions[0]
        lines.setdefault(sup.speaker, [])
        if sup.text:
            lines[sup.speaker].append(sup.text)
    return dict(sorted(lines.items()))


def enrollment_clips(series_dir: str | Path) -> dict[str, list[Path]]:
    """Each registered character's enrollment clips (the AP reference)."""
    from audiorole.data.series import SeriesFolder

    series = SeriesFolder.load(series_dir)
    return {name: list(c.enrollment) for name, c in series.registry.characters.items()}


def personas(series_dir: str | Path) -> dict[str, str]:
    """Each registered character's persona text (what a CP judge is told about the character)."""
    from audiorole.data.series import SeriesFolder

    series = SeriesFolder.load(series_dir)
    return {name: c.persona for name, c in series.registry.characters.items() if c.persona}
