"""What the app can play: the characters trained under a log folder, and the ``evaluate.py`` runs there.

A training run leaves ``run.json`` (its resolved config) and, by stage, ``decoder/`` (the
acoustic export) or ``lm/adapter/`` (the semantic export), each with ``trained_on.json``
naming the character. For every character the newest finished run of each stage wins; a
character with a voice but no adapter still answers (``audiorole.app.respond`` says how).
Runs that are unfinished, failed or unreadable are listed with a one-line reason, never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

RUN_FILE = "run.json"


@dataclass
class Character:
    name: str
    decoder: Path | None = None        # <acoustic run>/decoder
    adapter: Path | None = None        # <semantic run>/lm/adapter
    prepared: Path | None = None       # the prepared dataset it was trained on
    series: Path | None = None         # the series folder (personas in characters.yaml)
    n_steps: int = 10                  # flow steps validation used (0: the encoder's own mel)


@dataclass
class Catalog:
    root: Path
    characters: dict[str, Character] = field(default_factory=dict)  # the most recently trained first
    eval_runs: list[Path] = field(default_factory=list)   # newest first
    skipped: list[str] = field(default_factory=list)      # "<run>: why", one line each

    def problem(self) -> str | None:
        """One line for the page when there is nothing to talk to."""
        if not self.root.is_dir():
            return f"{self.root}: no such folder; run `python train.py` first, or start the app with --logs DIR"
        if not self.characters:
            reasons = f" ({'; '.join(self.skipped[:3])})" if self.skipped else ""
            return (f"{self.root}: no finished training run with a decoder/ or lm/adapter/ export{reasons}; "
                    "run `python train.py` first, or start the app with --logs DIR")
        return None


def _runs(root: Path, task: str) -> list[Path]:
    """Run folders, newest first: ``<task>/runs/<time>`` and sweep jobs ``<name>/multiruns/<time>/<job>``
    (experiments log under their own name, so every task but evaluate counts as training)."""
    runs = list((root / task / "runs").glob("*")) if task == "evaluate" else list(root.glob("*/runs/*"))
    runs += list((root / task / "multiruns").glob("*/*")) if task == "evaluate" else list(root.glob("*/multiruns/*/*"))
    if task != "evaluate":
        runs = [p for p in runs if p.parents[1].name != "evaluate" and p.parents[2].name != "evaluate"]
    when = {p: p.name if p.parent.name == "runs" else f"{p.parent.name}/{int(p.name) if p.name.isdigit() else 0:06d}"
            for p in runs if p.is_dir()}
    return sorted(when, key=when.get, reverse=True)


def _record(run: Path) -> dict:
    record = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    if record.get("status") != "ok":
        raise ValueError(f"status {record.get('status')}: {record.get('error') or 'no error recorded'}")
    return record


def _trained_character(export: Path) -> str | None:
    path = export / "trained_on.json"
    return json.loads(path.read_text(encoding="utf-8")).get("character") if path.is_file() else None


def _add(catalog: Catalog, run: Path) -> None:
    exports = [p for p in (run / "decoder", run / "lm" / "adapter") if p.is_dir()]
    if not exports:
        return
    if not (run / RUN_FILE).is_file():
        catalog.skipped.append(f"{run.name}: unfinished (no {RUN_FILE})")
        return
    record = _record(run)
    config = record.get("config") or {}
    data = config.get("data") or {}
    for export in exports:
        name = _trained_character(export) or record.get("character")
        if not name:
            catalog.skipped.append(f"{export}: no character recorded")
            continue
        character = catalog.characters.setdefault(name, Character(name=name))
        slot = "decoder" if export.name == "decoder" else "adapter"
        if getattr(character, slot) is not None:
            continue  # a newer run already gave this character its voice (or its words)
        setattr(character, slot, export)
        if character.prepared is None and data.get("out_dir"):
            character.prepared, character.series = Path(data["out_dir"]), Path(data.get("series_dir") or ".")
        if slot == "decoder":
            character.n_steps = int((config.get("model") or {}).get("n_steps", 10))


def find(root: str | Path) -> Catalog:
    """Every character trained under ``root`` (a log folder: ``logs/`` by default) and its evaluate runs."""
    catalog = Catalog(root=Path(root))
    if not catalog.root.is_dir():
        return catalog
    for run in _runs(catalog.root, "train"):
        try:
            _add(catalog, run)
        except (OSError, ValueError, TypeError) as exc:  # json errors are ValueErrors
            catalog.skipped.append(f"{run.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    catalog.eval_runs = [run for run in _runs(catalog.root, "evaluate") if (run / "eval.json").is_file()]
    return catalog
