"""Configuration trees (yacs, OmegaConf, EasyDict, addict, ml_collections): built from their
defaults, read and written by attribute, and forgotten when merged with what the reader
cannot see (a file, the command line)."""

from __future__ import annotations

from typing import Any, Callable

from cnnlint.extract import values as v
from cnnlint.extract.frames import Args
from cnnlint.extract.values import UNKNOWN

# The calls that build a tree, from a dict of defaults or empty.
CONSTRUCTORS = frozenset({
    "yacs.config.CfgNode", "omegaconf.OmegaConf.create", "easydict.EasyDict", "addict.Dict",
    "addict.addict.Dict", "ml_collections.ConfigDict", "ml_collections.config_dict.ConfigDict",
})
# Methods that change nothing the reader tracks.
_QUIET = frozenset({"freeze", "defrost", "set_new_allowed", "is_frozen", "register_deprecated_key",
                    "register_renamed_key", "lock", "unlock", "dump"})
# Methods that merge in values the reader cannot see.
_MERGES = frozenset({"merge_from_file", "merge_from_list", "merge_from_other_cfg", "update",
                     "merge_with", "merge_with_cli", "merge_with_dotlist"})
_COPIES = frozenset({"clone", "copy", "deepcopy"})


def build(args: Args) -> Any:
    """The tree a constructor call makes: its dict argument (nested dicts become trees)."""
    if args.open_pos or args.open_kw:
        return UNKNOWN
    given = args.pos[0] if args.pos else dict(args.kw)
    if given is None:
        given = {}
    if type(given) is not dict and not isinstance(given, v.ConfigNode):
        return UNKNOWN
    return _tree(given)


def _tree(value: Any) -> Any:
    if type(value) is dict or isinstance(value, v.ConfigNode):
        return v.ConfigNode({k: _tree(x) for k, x in value.items()})
    if type(value) is list:
        return [_tree(x) for x in value]
    return value


def attribute(node: v.ConfigNode, name: str) -> Any:
    if name in node:
        return node[name]
    if name in _QUIET or name in _MERGES or name in _COPIES or name in (
            "get", "items", "keys", "values", "setdefault", "pop"):
        return v.BoundMethod(node, name)
    return UNKNOWN


def method(node: v.ConfigNode, name: str, args: Args, write: Callable[..., None]) -> Any:
    """A method of a tree; ABSENT when it is a plain dict method (the caller's to run).
    `write(node, key, value)` makes every change (the interpreter undoes them later)."""
    if name in _COPIES:
        return _tree(node)
    if name in _QUIET:
        return None
    if name in _MERGES:
        forget(node, write)
        return None
    return ABSENT


def forget(node: v.ConfigNode, write: Callable[..., None]) -> None:
    """What a merge may have changed: every value in the tree (not its shape)."""
    for key, value in list(node.items()):
        if isinstance(value, v.ConfigNode):
            forget(value, write)
        else:
            write(node, key, UNKNOWN)


ABSENT = object()
