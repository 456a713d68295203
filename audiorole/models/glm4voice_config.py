"""Read the GLM-4-Voice decoder's ``config.yaml`` as plain data, executing nothing.

The public folder's ``config.yaml`` is HyperPyYAML: ``!new:module.Class`` builds
objects, ``!name:`` makes partials, ``!ref <key>`` points at other keys. Loading
it with HyperPyYAML imports and runs whatever those tags name, so a config from
the internet could run code. Here every tag becomes data instead: a ``Tagged``
mapping (``tag`` = ``"new"``, ``target`` = ``"module.Class"``, items = its
keyword arguments), and a ``!ref`` to a single key is replaced by that key's
value. Anything richer (arithmetic inside ``!ref``) stays an unresolved string;
callers read only the plain numbers they need and fall back to the published
defaults for the rest.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from audiorole.errors import ConfigError

_REF = re.compile(r"^<([\w.]+)>$")


class Tagged(dict):
    """A HyperPyYAML tagged node: its arguments as a dict, plus ``tag`` and ``target``."""

    def __init__(self, tag: str, target: str, args=None):
        super().__init__(args or {})
        self.tag, self.target = tag, target

    def __repr__(self) -> str:
        return f"!{self.tag}:{self.target} {dict.__repr__(self)}"


class _Ref(str):
    """A ``!ref``/``!copy`` string, resolved after the whole file is read."""


class _SafeTagLoader(yaml.SafeLoader):
    pass


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    tag, _, target = node.tag.lstrip("!").partition(":")
    if isinstance(node, yaml.MappingNode):
        args = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        args = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_scalar(node)
        args = {"value": value} if value not in ("", None) else {}
    if isinstance(args, list):  # positional arguments, keyed by index
        args = dict(enumerate(args))
    return Tagged(tag, target, args)


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> _Ref:
    return _Ref(loader.construct_scalar(node))


# YAML 1.1 (PyYAML) reads "1e-06" as a string; HyperPyYAML's YAML 1.2 reads it as a number, as the configs mean.
_SafeTagLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))
for _prefix in ("!new:", "!name:", "!apply:", "!module:", "!include:"):
    _SafeTagLoader.add_multi_constructor(_prefix, _tagged)
_SafeTagLoader.add_constructor("!ref", _ref)
_SafeTagLoader.add_constructor("!copy", _ref)
_SafeTagLoader.add_constructor("!tuple", lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))
_SafeTagLoader.add_constructor("!PLACEHOLDER", lambda loader, node: None)


def _lookup(root: dict, dotted: str):
    node = root
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _resolve(node, root: dict, depth: int = 0):
    if depth > 32:
        raise ConfigError("config.yaml: !ref chain deeper than 32; is it circular?")
    if isinstance(node, _Ref):
        m = _REF.match(node.strip())
        if not m:
            return str(node)  # an expression: left for the caller, never evaluated
        try:
            return _resolve(_lookup(root, m.group(1)), root, depth + 1)
        except KeyError:
            return str(node)
    if isinstance(node, Tagged):
        out = Tagged(node.tag, node.target)
        out.update({k: _resolve(v, root, depth) for k, v in node.items()})
        return out
    if isinstance(node, dict):
        return {k: _resolve(v, root, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, depth) for v in node]
    return node


def read_config(path: str | Path) -> dict:
    """``config.yaml`` -> dict, tags as ``Tagged`` data and simple ``!ref``s resolved; runs no code."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config; give the decoder folder holding config.yaml")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeTagLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not readable YAML ({str(e).splitlines()[0]}); pass the folder's config.yaml") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return _resolve(raw, raw)


def component(config: dict, key: str, path: str | Path = "config.yaml") -> Tagged | None:
    """The ``key`` entry (e.g. ``hift``, ``flow``) if it is a ``!new:`` node, else None."""
    node = config.get(key)
    if node is None:
        return None
    if not isinstance(node, Tagged):
        raise ConfigError(f"{path}: '{key}' is not a '!new:' component; is this a GLM-4-Voice decoder config?")
    return node


def plain_kwargs(node: Tagged) -> dict:
    """Keyword arguments that are plain data (numbers, strings, lists, dicts); nested components dropped."""

    def plain(v) -> bool:
        if isinstance(v, Tagged):
            return False
        if isinstance(v, dict):
            return all(plain(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        return True

    return {k: v for k, v in node.items() if isinstance(k, str) and plain(v)}
