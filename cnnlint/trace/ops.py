"""What torch calls mean in the IR, shared by the torch.fx reader and the forward recorder.

Both front ends see the same things: leaf modules (`nn.Conv2d` instances), torch functions
(`F.relu`, `torch.cat`, `operator.add`) and tensor methods (`x.view`, `x.__add__`). They name
them here, with the static reader's catalogue, so that a traced network and a statically read
one are the same IR and the same rules judge them.
"""

from __future__ import annotations

from typing import Any, Iterable

from cnnlint import catalogue, ir

# What one call does to the graph.
LAYER = "layer"  # applies a layer kind functionally (F.relu, x.sigmoid())
COMBINE = "combine"  # meets two tensors (add, cat, mul): a node when they differ
FOLLOW = "follow"  # reshapes, moves or reduces: the output stands for its input
VALUE = "value"  # not a tensor (x.shape, x.size(0)): not part of the graph

_OPERATORS = {
    "add": "add", "iadd": "add", "sub": "add", "isub": "add",
    "mul": "mul", "imul": "mul", "matmul": "mul", "truediv": "mul", "itruediv": "mul",
}
_VALUE_METHODS = frozenset({
    "size", "dim", "numel", "nelement", "item", "tolist", "stride", "is_contiguous",
    "get_device", "data_ptr", "element_size", "__len__", "ndimension", "is_floating_point",
})
_DUNDER_METHODS = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub",
    "__rsub__": "sub", "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul",
    "__imul__": "mul_", "__matmul__": "matmul", "__rmatmul__": "matmul",
    "__truediv__": "div", "__rtruediv__": "div", "__itruediv__": "div_",
}


def classify_function(qualname: str, rest: Iterable[Any] = (),
                      keywords: dict[str, Any] | None = None) -> tuple[str, str]:
    """(what it does, the kind) for a function by its qualified name (`torch.cat`); `rest`
    are its positional arguments after the tensor, `keywords` its keyword arguments."""
    keywords = keywords or {}
    if qualname.startswith("torch.") and qualname[6:] in catalogue.AXIS_MOVES:
        return _axis_move(qualname[6:], [*rest, *keywords.values()])
    rectifier = catalogue.clamp_kind(qualname, list(rest), keywords)
    if rectifier:
        return LAYER, rectifier
    if qualname in catalogue.FUNCTIONAL:
        return LAYER, catalogue.FUNCTIONAL[qualname]
    if qualname in catalogue.COMBINE_FUNCTIONS:
        return COMBINE, catalogue.COMBINE_FUNCTIONS[qualname]
    module, _, name = qualname.rpartition(".")
    if module in ("_operator", "operator") and name in _OPERATORS:
        return COMBINE, _OPERATORS[name]
    if qualname in ("builtins.getattr", "builtins.len", "torch._assert", "builtins.isinstance"):
        return VALUE, ""
    return FOLLOW, ""


def classify_method(name: str, rest: Iterable[Any] = (),
                    keywords: dict[str, Any] | None = None) -> tuple[str, str]:
    """The same for a tensor method (`view`, `__add__`)."""
    name = _DUNDER_METHODS.get(name, name)
    keywords = keywords or {}
    if name in catalogue.AXIS_MOVES:
        return _axis_move(name, [*rest, *keywords.values()])
    kind = catalogue.TENSOR_METHOD_KIND.get(name) or catalogue.clamp_kind(
        name, list(rest), keywords)
    if kind:
        return LAYER, kind
    if name in catalogue.COMBINE_METHODS:
        return COMBINE, catalogue.COMBINE_METHODS[name]
    if name in _VALUE_METHODS:
        return VALUE, ""
    return FOLLOW, ""


def _axis_move(name: str, rest: Iterable[Any]) -> tuple[str, str]:
    if catalogue.moves_channel_axis(name, list(rest)):
        return LAYER, ir.PERMUTE
    return FOLLOW, ""


def function_name(func: Any) -> str:
    """`torch.nn.functional.relu`, `torch.cat`, `_operator.add` for a callable."""
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", None) or type(func).__name__
    return f"{module}.{name}" if module else name


def short_name(qualname: str) -> str:
    """How a message names a functional call, as the static reader spells it: `F.relu`."""
    return qualname.replace("torch.nn.functional.", "F.")


def layer_kind(module: Any) -> str:
    """The torch class a module is: `Conv2d` also for a subclass such as efficientnet's
    `Conv2dStaticSamePadding`, so that the rules know its family."""
    for cls in type(module).__mro__:
        if cls.__name__ in catalogue.FAMILY_OF:
            return cls.__name__
    return type(module).__name__


def layer_args(kind: str, module: Any) -> dict[str, object]:
    """The constructor arguments a rule may ask about, read off the live module."""
    args: dict[str, object] = {}
    for name in catalogue.SIGNATURES.get(kind, ()):
        if name == "bias" and hasattr(module, "bias"):
            args["bias"] = module.bias is not None
        elif name == "affine" and hasattr(module, "affine"):
            args["affine"] = bool(module.affine)
        else:
            value = getattr(module, name, None)
            if isinstance(value, (bool, int, float, str)) or (
                    isinstance(value, tuple) and all(isinstance(x, int) for x in value)):
                args[name] = value
    return args


def owner_of(stack: Iterable[tuple[str, type]], model_class: str) -> str:
    """The innermost class (not a container) on a module stack: whose code made a node."""
    owner = model_class
    for _, cls in stack:
        if cls.__name__ not in catalogue.CONTAINERS:
            owner = cls.__name__
    return owner


class GraphBuilder:
    """Builds an `ir.Network` one call at a time; inputs are producer keys (fx nodes or
    tensor ids), which the front end maps through `produced`."""

    def __init__(self, model_loc: Any, locs: dict[str, Any]) -> None:
        self.network = ir.Network()
        self.produced: dict[Any, int] = {}  # producer key -> IR node id
        self.model_loc = model_loc
        self.locs = locs  # module path -> where the static reader saw it built

    def ids(self, keys: Iterable[Any]) -> list[int]:
        found: list[int] = []
        for key in keys:
            node = self.produced.get(key)
            if node is not None and node not in found:
                found.append(node)
        return found

    def add(self, kind: str, inputs: list[int], name: str, owner: str = "",
            args: dict[str, object] | None = None, functional: bool = False) -> int:
        node = ir.Node(id=len(self.network.nodes), kind=kind, inputs=tuple(inputs), name=name,
                       owner=owner, args=args or {}, functional=functional,
                       loc=self.locs.get(name, self.model_loc))
        self.network.nodes.append(node)
        return node.id

    def call(self, action: str, kind: str, inputs: list[int], name: str,
             owner: str) -> int | None:
        """The IR node a classified call produces (or the node its output stands for);
        None when the output is not a tensor of the graph."""
        if action == VALUE or not inputs:
            return None
        if action == LAYER:
            return self.add(kind, inputs[:1], name, owner, functional=True)
        if len(inputs) == 1:
            return inputs[0]  # `x + 1`, `x.view(n, -1)`: the same value, reshaped
        if action == COMBINE:
            return self.add(kind, inputs, name, owner)
        return self.add(ir.UNKNOWN, inputs, name, owner)


def first_layer(model: Any) -> Any:
    """The first conv or linear layer in registration order, which fixes the input."""
    for module in model.modules():
        if catalogue.family(layer_kind(module)) in ("conv", "linear") \
                and not layer_kind(module).startswith("Lazy"):
            return module
    return None


# Spatial size of an inferred input, by the number of spatial dimensions.
_SPATIAL = {1: (256,), 2: (64, 64), 3: (32, 32, 32)}


def infer_input_shape(model: Any) -> tuple[int, ...] | None:
    """(C, H, W) for the first layer: `(in_channels, 64, 64)` for a Conv2d, `(in_features,)`
    for a Linear; None when there is no such layer."""
    layer = first_layer(model)
    if layer is None:
        return None
    if hasattr(layer, "in_features"):
        return (int(layer.in_features),)
    dims = len(getattr(layer, "kernel_size", (0, 0)))
    return (int(layer.in_channels), *_SPATIAL.get(dims, (64, 64)))


def parse_shape(text: str) -> tuple[int, ...]:
    """`3,64,64` (or `3x64x64`) as a shape; ValueError with a readable message."""
    parts = [p for p in text.replace("x", ",").replace(" ", "").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"input shape must be integers like 3,64,64, not {text!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"input shape must be positive integers like 3,64,64, not {text!r}")
    return shape
