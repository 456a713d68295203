"""Build ARP-Eval's inputs from a prepared dataset: held-out items, training lines, enrollment clips.

The held-out items are the acoustic stage's validation split (whole scenes,
``audiorole.data.acoustic_split.split_by_scene``), so nothing scored was trained on.
"""

from pathlib import Path

from audiorole.data.acoustic_split import character_cuts, load_cuts, split_by_scene
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


def held_out_items(prepared_dir: str | Path, character: str, val_fraction: float = 0.15, seed: int = 0,
                   with_tokens: bool = True, limit: int | None = None) -> list[EvalItem]:
    """The character's validation replies, in a fixed order (episode, scene, turn)."""
    cuts = character_cuts(load_cuts(prepared_dir), character)
    if len(cuts) == 0:
        raise AudioroleError(f"{prepared_dir}: no kept replies for '{character}' (see stats.json for drops)")
    _, val = split_by_scene(cuts, val_fraction, seed)
    tokens = None
    if with_tokens:
        from audiorole.tokenizers.cache import TokenCache, latest_cache

        tokens = TokenCache(latest_cache(prepared_dir))
    items = sorted((_item(c, tokens) for c in val), key=lambda i: (i.episode, i.scene, i.turn, i.id))
    return items[:limit] if limit else items


def training_lines(prepared_dir: str | Path, val_fraction: float = 0.15, seed: int = 0) -> dict[str, list[str]]:
    """Every character's training-split reply texts (the CP reference); the split matches ``held_out_items``."""
    cuts = load_cuts(prepared_dir)
    lines: dict[str, list[str]] = {}
    for character in sorted({c.supervisions[0].speaker for c in cuts}):
        train, _ = split_by_scene(character_cuts(cuts, character), val_fraction, seed)
        lines[character] = [c.supervisions[0].text for c in train if c.supervisions[0].text]
    return lines


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
