"""Normalisation written by hand in a forward pass.

`(x - x.mean(dim)) / x.std(dim)` (AdaIN's instance normalisation, a functional LayerNorm,
an RMS norm's `x * torch.rsqrt(x.pow(2).mean(-1) + eps)`) normalises `x` as a norm layer
does, with no module in sight. The reader keeps each tensor's statistics apart from the
tensor itself: a statistic is a new tensor object on the same graph node, remembered with
the node it summarises. Reshaping it, adding an epsilon or taking its square root keeps it
a statistic of that node. Subtracting a mean from its own tensor centres that tensor;
dividing the tensor (centred or not) by one of its own statistics, or multiplying it by
one's inverse square root, is a normalisation, and becomes a norm node of the graph.

What is kept is per graph: node ids start again with each model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlint import catalogue, ir
from cnnlint.extract import values as v

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp

MEAN = "mean"
SPREAD = "spread"  # a variance or a standard deviation (or its square root)
INVERSE = "inverse"  # an inverse square root of either: multiplying by it divides
CENTRED = "centred"  # not a statistic: the tensor minus its own mean

# The tensor methods (and torch functions) that summarise a tensor, by the kind they give.
METHODS = {"mean": MEAN, "var": SPREAD, "std": SPREAD}
FUNCTIONS = {"torch.mean": MEAN, "torch.var": SPREAD, "torch.std": SPREAD}
INVERTING = frozenset({"rsqrt", "torch.rsqrt"})

# The kind a normalisation written by hand reads as (also a project's own norm module's).
HAND_NORM = "LayerNorm"


def statistic(interp: Interp, t: v.Tensor, kind: str) -> v.Tensor:
    """`t.mean(...)`, `t.var(...)`: a new tensor on t's node, known as a statistic of it.
    A statistic of a statistic (`x.mean(-1).mean()`) stays one of the same tensor."""
    found = _known(interp, t)
    return _registered(interp, t, found[1] if found is not None and found[2] != CENTRED
                       else t.node, kind)


def inverted(interp: Interp, t: v.Tensor) -> v.Tensor:
    """`torch.rsqrt(var + eps)`: multiplying by it normalises."""
    found = _known(interp, t)
    if found is None or found[2] == CENTRED:
        return t
    return _registered(interp, t, found[1], INVERSE)


def centred(interp: Interp, a: v.Tensor, b: v.Tensor, result: v.Tensor) -> v.Tensor:
    """`a - b`, computed as `result`: marked as centred when b is a's own mean."""
    found = _known(interp, b)
    if found is not None and found[2] == MEAN and found[1] == _source(interp, a):
        interp.statistics[id(result)] = (result, found[1], CENTRED)
    return result


def normalised(interp: Interp, op: str, a: v.Tensor, b: v.Tensor) -> Any:
    """The norm node for `a / b` (b a mean or spread of a's tensor) or `a * b` (b an inverse
    square root of one); None when it is not a normalisation."""
    found = _known(interp, b)
    if found is None or found[1] != _source(interp, a):
        return None
    if (op == "/" and found[2] in (MEAN, SPREAD)) or (op == "*" and found[2] == INVERSE):
        return interp.add_node(HAND_NORM, (a,), name=f"x {op} its statistics",
                               functional=True)
    return None


# A node's args naming, by position, the inputs that only steer it (shared: nodes of one
# kind, inputs and name stay one node, as other arithmetic does).
_STEERED_AT = ({catalogue.STEERED_BY: (0,)}, {catalogue.STEERED_BY: (1,)})


def modulated(interp: Interp, op: str, a: v.Tensor, b: v.Tensor) -> Any:
    """`x * s`, `x + m` where s or m is a statistic of another tensor (AdaIN's style mean
    and deviation, a conditional norm's): the node computes on x, and the statistic only
    steers it. None when neither or both are statistics, or x's own are used."""
    first, second = _known(interp, a), _known(interp, b)
    first = first if first is not None and first[2] != CENTRED else None
    second = second if second is not None and second[2] != CENTRED else None
    if (first is None) == (second is None):
        return None
    found = first or second
    assert found is not None
    data, at = (b, 0) if first is not None else (a, 1)
    if found[1] == _source(interp, data):
        return None
    kind = ir.MUL if op in ("*", "/") else ir.ADD
    return interp.add_node(kind, (a, b), name=op, args=_STEERED_AT[at])


def is_statistic(interp: Interp, value: Any) -> bool:
    return type(value) is v.Tensor and _known(interp, value) is not None


def returned(interp: Interp, value: Any) -> bool:
    """Whether a block's result holds a statistic or a centred tensor, which a replay of the
    block (new tensors on the same nodes) would not know as such."""
    if not interp.statistics:
        return False
    if type(value) in (list, tuple):
        return any(returned(interp, x) for x in value)
    return is_statistic(interp, value)


def _source(interp: Interp, t: v.Tensor) -> int:
    """The node a tensor stands for: a centred tensor's is the tensor it was centred from."""
    found = _known(interp, t)
    return found[1] if found is not None and found[2] == CENTRED else t.node


def _registered(interp: Interp, t: v.Tensor, source: int, kind: str) -> v.Tensor:
    """A new tensor on t's node, known as a statistic (`kind`) of node `source`."""
    made = v.Tensor(t.node)
    interp.statistics[id(made)] = (made, source, kind)
    return made


def _known(interp: Interp, t: v.Tensor) -> tuple[v.Tensor, int, str] | None:
    found = interp.statistics.get(id(t))
    return found if found is not None and found[0] is t else None
