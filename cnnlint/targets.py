"""Model targets as written: `path/to/file.py:Name` or `package.module:Name`, optionally with
literal constructor arguments: `models/net.py:ResNet(depth=50, num_classes=10)`. The same
targets serve `cnnlint --model`, `[tool.cnnlint.models]` and `cnnlint probe`.

Parsing only: nothing is imported or evaluated here (arguments are read with
`ast.literal_eval`), so the configuration can check targets on the static path.
`cnnlint.trace.targets` imports and builds them.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any


class TargetError(Exception):
    """A target that cannot be parsed, imported or built; the message says which stage."""


@dataclass
class Target:
    name: str  # the class or factory (`Net`, or `EfficientNet.from_name`)
    path: str | None = None  # a file, or None for a module target
    module: str | None = None  # a dotted module, or None for a file target
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()
    input_shape: tuple[int, ...] | None = None  # (C, H, W), without the batch
    label: str = ""  # how messages name it

    def describe(self) -> str:
        return self.label or f"{self.path or self.module}:{self.name}"


def parse_target(text: str, base_dir: str = "") -> Target:
    """`file.py:Name`, `pkg.mod:Name` or `pkg.mod:Class.factory`, each optionally followed
    by literal arguments: `(depth=50)`, `("efficientnet-b0")`."""
    spec = text.strip()
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if spec.endswith(")") and "(" in spec:
        spec, _, call = spec.partition("(")
        args, kwargs = parse_arguments("f(" + call, text)
    location, colon, name = spec.rpartition(":")
    if not colon or not location or not all(p.isidentifier() for p in name.split(".")):
        raise TargetError(f"model target {text!r} is not FILE.py:Name or package.module:Name")
    if location.endswith(".py") or "/" in location or os.sep in location:
        return Target(name=name, path=os.path.join(base_dir, location), kwargs=kwargs,
                      args=args, label=text.strip())
    if not all(part.isidentifier() for part in location.split(".")):
        raise TargetError(f"model target {text!r}: {location!r} is not a module name")
    return Target(name=name, module=location, kwargs=kwargs, args=args, label=text.strip())


def parse_arguments(call: str, text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Literal arguments of a call, read with `ast.literal_eval`: nothing is executed."""
    try:
        tree = ast.parse(call, mode="eval").body
        assert isinstance(tree, ast.Call) and all(k.arg for k in tree.keywords)
        return (tuple(ast.literal_eval(a) for a in tree.args),
                {str(k.arg): ast.literal_eval(k.value) for k in tree.keywords})
    except (SyntaxError, ValueError, AssertionError):
        raise TargetError(f"model target {text!r}: arguments must be Python literals, "
                          "`Name(depth=50, widths=(16, 32))`") from None
