"""The configuration reference, written from ``conf/`` itself so it cannot drift from it.

    python -m audiorole.utils.conf_reference [--out FILE]     # Markdown; the docs site builds it too

For each entry point (``train.yaml``, ``evaluate.yaml``, ``prepare.yaml``): its defaults list
and its top-level keys with their comments. For each config group (``stage/``,
``data/prep/diarize/``, ...): every option, what it builds (``_target_``), the comment at the
top of its file, and the keys it leaves to the user (``???``). The YAML files' own comments
are the documentation: a file without one shows up here as a gap to fill.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from audiorole.utils.atomic import write_text
from audiorole.utils.resolvers import ROOT_DIR

CONF_DIR = ROOT_DIR / "conf"
ENTRY_POINTS = {"train.yaml": "python train.py", "evaluate.yaml": "python evaluate.py",
                "prepare.yaml": "python -m audiorole.prepare"}


def _cell(text: str) -> str:
    """Table-cell-safe Markdown: pipes escaped, angle brackets outside code spans escaped."""
    parts = text.replace("|", "\\|").split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;") for i, p in enumerate(parts))


def header_comment(path: Path) -> tuple[str, str | None]:
    """(description, first example) from the comment block at the top of a YAML file.

    Indented comment lines that are a command or an override are examples (``\\`` continues one
    onto the next line); ``text:  python ...`` on one line is a description and its example.
    """
    words, examples, continued = [], [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line[1:]
        if text.strip().startswith("@package"):
            continue
        inline = re.match(r"(.*?:)\s{2,}((?:python|\.venv/bin/python) .*)$", text)
        if continued:
            examples[-1] = examples[-1].rstrip("\\ ") + " " + text.strip()
        elif inline:
            words.append(inline.group(1).strip().rstrip(":") + ".")
            examples.append(inline.group(2).strip())
        elif text.startswith("   ") and re.match(r"(python |\.venv/bin/python |[\w./+~-]+=)", text.strip()):
            examples.append(text.strip())
        else:
            words.append(text.strip())
        continued = bool(examples) and examples[-1].endswith("\\") and (continued or text.rstrip().endswith("\\"))
    description = " ".join(w for w in words if w).rstrip(":")
    return (description + "." if description and description[-1] not in ".)!?" else description), \
        (examples[0].rstrip("\\ ") if examples else None)


def package(path: Path, group: str) -> str:
    """The config package a group file writes into: ``@package`` if given, else the group path."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if line[1:].strip().startswith("@package"):
            name = line[1:].strip().split(None, 1)[1].strip()
            return "" if name == "_global_" else name
    return group.replace("/", ".")


def required_keys(node, prefix: str = "") -> list[str]:
    """Dotted paths of the keys set to ``???``."""
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in required_keys(value, f"{prefix}{key}.")]
    return [prefix.rstrip(".")] if node == "???" else []


def _load(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:  # a file the reference cannot read is named, not skipped
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def _target(config) -> str:
    if not isinstance(config, dict):
        return ""
    if "_target_" in config:
        return config["_target_"]
    nested = [v["_target_"] for v in config.values() if isinstance(v, dict) and "_target_" in v]
    return nested[0] if len(nested) == 1 else ""


def _top_level_keys(path: Path) -> list[tuple[str, str, str]]:
    """(key, value as written or "(mapping)"/"(list)", comment) for each top-level key but ``defaults``."""
    rows, pending = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            pending.append(line[1:].strip())
            continue
        match = re.match(r"([A-Za-z_][\w]*):(.*)$", line)
        if not match:
            if not line.strip():
                pending = []
            continue
        key, rest = match.groups()
        value, _, comment = rest.partition(" #")
        value = value.strip()
        if not value:
            following = next((n for n in lines[i + 1:] if n.strip() and not n.lstrip().startswith("#")), "")
            value = "(list)" if following.lstrip().startswith("- ") else "(mapping)"
        if key != "defaults":
            rows.append((key, value, comment.strip() or " ".join(p for p in pending if not p.startswith("@"))))
        pending = []
    return rows


def _defaults(config: dict) -> list[tuple[str, str]]:
    """(group as written, option) for each ``- group: option`` of a defaults list."""
    out = []
    for entry in config.get("defaults", []) if isinstance(config, dict) else []:
        if isinstance(entry, dict):
            for group, option in entry.items():
                out.append((str(group), "null" if option is None else ", ".join(option) if isinstance(option, list)
                            else str(option)))
    return out


def chosen_by(conf_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """group path -> [(the file whose defaults list picks it, option)], overrides included."""
    out: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(conf_dir.rglob("*.yaml")):
        here = path.parent.relative_to(conf_dir).as_posix()
        for group, option in _defaults(_load(path)):
            group = group.removeprefix("override ").strip()
            resolved = group[1:] if group.startswith("/") else f"{here}/{group}" if here != "." else group
            out.setdefault(resolved, []).append((path.relative_to(conf_dir).as_posix(), option))
    return out


def entry_point_section(path: Path, command: str) -> list[str]:
    description, example = header_comment(path)
    config = _load(path)
    defaults = ", ".join(f"`{group}={option}`" for group, option in _defaults(config))
    lines = [f"### `{path.name}`: `{command}`", "", _cell(description) + (f" Example: `{example}`" if example else ""), "",
             f"Defaults list: {defaults}.", "", "| key | value | what it is |", "|---|---|---|"]
    lines += [f"| `{key}` | `{value}` | {_cell(comment)} |" for key, value, comment in _top_level_keys(path)]
    return lines + [""]


def group_section(conf_dir: Path, group_dir: Path, choices: dict[str, list[tuple[str, str]]]) -> list[str]:
    group = group_dir.relative_to(conf_dir).as_posix()
    where = ", ".join(f"`{option}` by `{source}`" for source, option in choices.get(group, []))
    lines = [f"### `{group}`", "", f"Chosen: {where}." if where else "Chosen on the command line only.", "",
             "| option | builds | what it is | must be given |", "|---|---|---|---|"]
    for path in sorted(group_dir.glob("*.yaml")):
        description, example = header_comment(path)
        config = _load(path)
        body = description + (f" Example: `{example}`" if example else "")
        prefix = package(path, group)
        required = ", ".join(f"`{prefix + '.' if prefix else ''}{k}`" for k in required_keys(config))
        target = _target(config)
        lines.append(f"| `{path.stem}` | {f'`{target}`' if target else ''} | {_cell(body)} | {required} |")
    return lines + [""]


def reference(conf_dir: str | Path = CONF_DIR) -> str:
    conf_dir = Path(conf_dir)
    lines = ["# Configuration reference", "",
             f"Written from `conf/` by `python -m audiorole.utils.conf_reference` (every docs build does it again):",
             "the comment at the top of each file, what it builds, and the keys it leaves to you (`???`).",
             "How the groups combine, with examples: [Configuration](configuration.md).", "",
             "## Entry points", ""]
    for name, command in ENTRY_POINTS.items():
        if (conf_dir / name).is_file():
            lines += entry_point_section(conf_dir / name, command)
    lines += ["## Config groups", ""]
    choices = chosen_by(conf_dir)
    groups = sorted({p.parent for p in conf_dir.rglob("*.yaml")} - {conf_dir}, key=lambda p: p.as_posix())
    for group_dir in groups:
        lines += group_section(conf_dir, group_dir, choices)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiorole.utils.conf_reference", description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default=str(CONF_DIR), help="the config folder (default: the repo's conf/)")
    parser.add_argument("--out", help="write the Markdown here (default: print it)")
    args = parser.parse_args(argv)
    text = reference(args.conf)
    if args.out:
        write_text(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
