"""Read a HyperPyYAML file (CosyVoice / GLM-4-Voice ``config.yaml``) as plain data, executing nothing.

HyperPyYAML's tags would import and call arbitrary Python (``!new:``, ``!name:``, ``!apply:``). Here
each tagged node becomes data instead: ``!new:pkg.Cls {kw}`` -> ``{"_target_": "pkg.Cls", **kw}``,
``!name:``/``!apply:`` likewise under ``_name_``/``_apply_``, ``!ref <key>`` -> the value at that key
(plain references only; an expression stays a string), anything else -> its value.
"""

from __future__ import annotations

import re

import yaml

_REF = re.compile(r"^<([\w.\[\]]+)>$")


class _DataLoader(yaml.SafeLoader):
    pass


# YAML 1.1 (PyYAML) reads `1e-06` as a string; HyperPyYAML (YAML 1.2) reads it as a float, as do the configs
_DataLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
                                  list("-+0123456789."))


def _node_value(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


def _callable_tag(key: str):
    def construct(loader, suffix, node):
        value = _node_value(loader, node)
        if isinstance(value, dict):
            return {key: suffix, **value}
        return {key: suffix, "_args_": value if isinstance(value, list) else ([value] if value != "" else [])}

    return construct


for _prefix, _key in (("!new:", "_target_"), ("!name:", "_name_"), ("!apply:", "_apply_")):
    _DataLoader.add_multi_constructor(_prefix, _callable_tag(_key))
_DataLoader.add_constructor("!ref", lambda loader, node: {"_ref_": loader.construct_scalar(node)})
_DataLoader.add_constructor("!tuple", lambda loader, node: list(_node_value(loader, node)))
_DataLoader.add_multi_constructor("!", lambda loader, suffix, node: _node_value(loader, node))


def _lookup(root: dict, path: str):
    value = root
    for part in re.findall(r"[^.\[\]]+", path):
        value = value[part] if isinstance(value, dict) else value[int(part)]
    return value


def _resolve(value, root):
    if isinstance(value, dict):
        if set(value) == {"_ref_"}:
            ref = _REF.match(str(value["_ref_"]).strip())
            if ref is None:
                return value["_ref_"]  # an expression: left as text, never evaluated
            try:
                return _resolve(_lookup(root, ref.group(1)), root)
            except (KeyError, IndexError, ValueError, TypeError):
                return value["_ref_"]
        return {k: _resolve(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, root) for v in value]
    return value


def load(text: str) -> dict:
    """HyperPyYAML text -> nested plain data (dicts, lists, scalars) with plain references resolved."""
    data = yaml.load(text, Loader=_DataLoader) or {}
    if not isinstance(data, dict):
        raise ValueError("a HyperPyYAML config must be a mapping at the top level")
    return _resolve(data, data)


class Tagged(dict):
    """A mapping written with a HyperPyYAML tag, e.g. ``Tagged("!new:pkg.Cls", kw)`` -> ``!new:pkg.Cls`` + kw."""

    def __init__(self, tag: str, mapping: dict):
        super().__init__(mapping)
        self.tag = tag


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Tagged, lambda dumper, data: dumper.represent_mapping(data.tag, dict(data)))


def dump(data: dict, header: str = "") -> str:
    """Plain data with ``Tagged`` nodes -> HyperPyYAML text (what ``load`` and HyperPyYAML both read)."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return "".join(f"# {line}\n" for line in header.splitlines()) + text
