"""Configuration trees (yacs, OmegaConf, EasyDict, addict, ml_collections): built from their
defaults, read and written by attribute, and forgotten when merged with what the reader
cannot see (the command line, a file it cannot find). Configuration files (JSON, and YAML
when PyYAML is installed) named by a known path inside the project are read as data."""

from __future__ import annotations

import json
import os
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
ABSENT = object()  # not a call or method this module answers


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


MAX_CONFIG_BYTES = 1 << 20
_PATHS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
_LOADERS = frozenset({"json.load", "yaml.safe_load", "yaml.load", "yaml.full_load",
                      "omegaconf.OmegaConf.load"})


def library_call(qualname: str, args: Args, bases: Callable[[], list[str]]) -> Any:
    """Configuration trees, paths and configuration files; ABSENT for any other call.
    `bases()`: the folders a relative path may start from (the project root, the running
    script's folder), asked only when a file is read."""
    if qualname in CONSTRUCTORS:
        return build(args)
    if qualname in _PATHS:
        return path_of(args.pos)
    if qualname in _LOADERS and args.pos and isinstance(args.pos[0], (v.FilePath, str)):
        given = args.pos[0]
        if not isinstance(given, v.FilePath) and qualname != "omegaconf.OmegaConf.load":
            return UNKNOWN  # `yaml.safe_load(text)`: the text is not a file
        data = read(given.path if isinstance(given, v.FilePath) else given, bases())
        return _tree(data) if qualname.startswith("omegaconf") and type(data) is dict \
            else data
    return ABSENT


def is_path_class(qualname: str) -> bool:
    return qualname in _PATHS


def path_of(parts: list[Any]) -> Any:
    if not parts or not all(isinstance(p, (str, v.FilePath)) for p in parts):
        return UNKNOWN
    return v.FilePath(os.path.join(*[p.path if isinstance(p, v.FilePath) else p
                                     for p in parts]))


def path_attribute(path: v.FilePath, name: str) -> Any:
    if name == "parent":
        return v.FilePath(os.path.dirname(path.path) or ".")
    if name == "name":
        return os.path.basename(path.path)
    if name in PATH_SAME or name in PATH_ACTIONS or name in _PATH_QUERIES:
        return v.BoundMethod(path, name)
    return UNKNOWN


# pathlib's methods that hand back the same file (`path.open("rt")`, `path.resolve()`).
PATH_SAME = frozenset({"open", "resolve", "absolute", "expanduser"})
# pathlib's methods that change the file system and return nothing of use
# (`save_path.parent.mkdir(parents=True)`), and those that ask about it: what they answer
# is not known.
PATH_ACTIONS = frozenset({"mkdir", "touch", "unlink", "rmdir", "write_text", "write_bytes",
                          "chmod", "symlink_to"})
_PATH_QUERIES = frozenset({"exists", "is_file", "is_dir", "glob", "rglob", "iterdir",
                           "read_text", "read_bytes", "stat"})


def read(path: str, bases: list[str]) -> Any:
    """The data in a JSON or YAML file inside the project, else UNKNOWN. A relative path is
    looked for from each base; found in two places, which one the script opens is not
    known."""
    found = {os.path.realpath(os.path.join(base, path)) for base in bases
             if os.path.isfile(os.path.join(base, path))}
    if len(found) != 1 or not bases:
        return UNKNOWN
    real = found.pop()
    if not real.startswith(os.path.realpath(bases[0]) + os.sep):
        return UNKNOWN  # outside the project
    if not real.endswith((".json", ".yaml", ".yml")):
        return UNKNOWN
    try:
        if os.path.getsize(real) > MAX_CONFIG_BYTES:
            return UNKNOWN
        with open(real, encoding="utf-8") as handle:
            if real.endswith(".json"):
                return json.load(handle)
            try:
                import yaml  # type: ignore[import-untyped]
            except ImportError:
                return UNKNOWN
            return yaml.safe_load(handle)
    except Exception:  # unreadable, or not valid JSON or YAML: not known
        return UNKNOWN
