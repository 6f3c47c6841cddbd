"""What the probe trains with: each setting from the command line, else from the project's
training script for this model (found by the static analysis through the project root),
else a default; each with where it came from.

`X_from` says which of the three ("option", "training script", "default"); `X_at` the
script's `path:line` when it came from there.
"""

from __future__ import annotations

import os
from typing import Any

from cnnlint.ir import Setting

DEFAULT_BATCH, DEFAULT_OPTIMIZER, DEFAULT_LR, DEFAULT_MOMENTUM = 16, "SGD", 0.01, 0.9
MOMENTUM_OPTIMIZERS = ("SGD", "RMSprop")  # the torch.optim classes that take `momentum`


def choose(options: Any, context: Any) -> dict[str, Any]:
    """`options`: the probe's `ProbeSettings`; `context`: the static `StaticContext`."""
    chosen: dict[str, Any] = {}
    _set(chosen, "batch_size", options.batch_size, context.batch_size, DEFAULT_BATCH)
    optimizer = context.optimizer
    script_kind = Setting(optimizer.kind, "", optimizer.loc) if optimizer is not None else None
    _set(chosen, "optimizer", options.optimizer, script_kind, DEFAULT_OPTIMIZER)
    _set(chosen, "lr", options.lr, optimizer.lr if optimizer is not None else None, DEFAULT_LR)
    # The script's momentum and weight decay belong to the script's optimizer: another
    # optimizer chosen on the command line does not inherit them.
    same_kind = optimizer is not None and chosen["optimizer"] == optimizer.kind
    takes_momentum = chosen["optimizer"] in MOMENTUM_OPTIMIZERS
    default_momentum = DEFAULT_MOMENTUM if chosen["optimizer_from"] == "default" else None
    _set(chosen, "momentum", options.momentum,
         optimizer.momentum if same_kind and takes_momentum else None,  # type: ignore[union-attr]
         default_momentum if takes_momentum else None)
    _set(chosen, "weight_decay", options.weight_decay,
         optimizer.weight_decay if same_kind else None, None)  # type: ignore[union-attr]
    chosen["steps"], chosen["seed"] = options.steps, options.seed
    return chosen


def _set(chosen: dict[str, Any], key: str, option: Any, script: Setting | None,
         default: Any) -> None:
    if option is not None:
        chosen[key], chosen[f"{key}_from"] = option, "option"
    elif script is not None and script.value is not None and (
            isinstance(script.value, str) or script.known):
        chosen[key], chosen[f"{key}_from"] = script.value, "training script"
        if script.loc is not None:
            chosen[f"{key}_at"] = f"{os.path.relpath(script.loc.path)}:{script.loc.line}"
    else:
        chosen[key], chosen[f"{key}_from"] = default, "default"


def describe(chosen: dict[str, Any], key: str, label: str, value: str) -> str:
    """`label value (origin)`, e.g. `lr 0.1 (training script train.py:40)`."""
    origin = chosen.get(f"{key}_from", "")
    at = chosen.get(f"{key}_at")
    return f"{label}{value} ({origin}{' ' + at if at else ''})"
