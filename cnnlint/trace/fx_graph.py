"""An `ir.Network` from `torch.fx.symbolic_trace`: the model's own graph, without running it.

torch.fx keeps torch.nn's built-in layers as `call_module` leaves and inlines everything
else (custom blocks, Sequential), so the graph has exactly the layers and the additions and
concatenations between them, in execution order.
"""

from __future__ import annotations

import inspect
from typing import Any

from cnnlint import catalogue, ir
from cnnlint.trace import ops


def concrete_defaults(model: Any) -> dict[str, object]:
    """forward's parameters that have defaults (`mask=None`), fixed to them so that
    `if mask is not None:` traces the default path instead of failing."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params
            if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def build(model: Any, model_loc: Any, locs: dict[str, Any]) -> tuple[Any, ir.Network]:
    """Trace `model` symbolically: (the GraphModule, its network). Raises whatever
    torch.fx raises when it cannot."""
    import torch.fx

    fixed = concrete_defaults(model)
    graph_module = torch.fx.symbolic_trace(model, concrete_args=fixed)
    builder = ops.GraphBuilder(model_loc, locs)
    model_class = type(model).__name__
    buffers = {name for name, _ in model.named_buffers()}
    for node in graph_module.graph.nodes:
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        inputs = builder.ids(node.all_input_nodes)
        if node.op == "placeholder":
            if str(node.target).lstrip("*") not in fixed:
                builder.produced[node] = builder.add(ir.INPUT, [], name=node.target)
        elif node.op == "call_module":
            module = model.get_submodule(node.target)
            kind = ops.layer_kind(module)
            builder.produced[node] = builder.add(
                kind, inputs, name=node.target, owner=ops.owner_of(stack[:-1], model_class),
                args=ops.layer_args(kind, module))
        elif node.op in ("call_function", "call_method"):
            if node.op == "call_function":
                qualname = ops.function_name(node.target)
                action, kind = ops.classify_function(qualname, _rest(node), node.kwargs)
                if catalogue.is_weighted(kind) and _weight_is_buffer(node, buffers):
                    kind = catalogue.FIXED_FILTER  # a fixed filter: no weight trains
                name = ops.short_name(qualname)
            else:
                action, kind = ops.classify_method(node.target, _rest(node), node.kwargs)
                name = f".{node.target}()"
            produced = builder.call(action, kind, inputs, name, ops.owner_of(stack, model_class))
            if produced is not None:
                builder.produced[node] = produced
        elif node.op == "output":
            builder.network.outputs = inputs
        # get_attr (parameters, buffers, constants) is not data flowing from the input.
    return graph_module, builder.network


def _weight_is_buffer(node: Any, buffers: set[str]) -> bool:
    """Whether a functional conv or linear's weight is one of the model's buffers
    (`F.conv2d(x, self.filt)`), read as it is (`get_attr`)."""
    weight = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
    return getattr(weight, "op", None) == "get_attr" and weight.target in buffers


def _rest(node: Any) -> list[Any]:
    """A call's positional arguments after its first (the tensor): constants as they are,
    other graph values as themselves (which counts as not known)."""
    return list(node.args[1:])
