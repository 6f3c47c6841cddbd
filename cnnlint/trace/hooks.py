"""An `ir.Network` recorded from one forward pass, for models torch.fx cannot trace.

Data-dependent control flow (`if x.sum() > 0:`) or ops torch.fx does not support stop
symbolic tracing; running the model on a small input does not care. Forward hooks on the
built-in layers record the layers in the order they run; a `TorchFunctionMode` records the
torch calls between them (the additions and concatenations that make skip connections), and
a map from each tensor to the node that produced it gives the dataflow edges. Calls inside a
built-in layer (Conv2d's own `F.conv2d`) are not recorded: the layer is one node, as in fx.
"""

from __future__ import annotations

from typing import Any, Iterator

from cnnlint import ir
from cnnlint.trace import ops


def tensors(value: Any) -> Iterator[Any]:
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors(item)


def leaves(model: Any) -> set[int]:
    """Ids of the built-in layers, by torch.fx's rule, so that both front ends stop at the
    same modules."""
    import torch.fx

    tracer = torch.fx.Tracer()
    return {id(m) for name, m in model.named_modules(remove_duplicate=False)
            if tracer.is_leaf_module(m, name)}


class _Recorder:
    def __init__(self, model: Any, model_loc: Any, locs: dict[str, Any]) -> None:
        self.builder = ops.GraphBuilder(model_loc, locs)
        self.names = {id(m): name for name, m in model.named_modules()}
        self.leaves = leaves(model)
        self.model_class = type(model).__name__
        self.inside_leaf = 0  # > 0 while a built-in layer runs its own forward
        self.stack: list[tuple[str, type]] = []  # the custom modules now running
        self.keep: list[Any] = []  # tensors stay alive so that their ids stay unique

    def produced(self, value: Any, node: int | None) -> None:
        if node is None:
            return
        for tensor in tensors(value):
            self.builder.produced[id(tensor)] = node
            self.keep.append(tensor)

    def inputs(self, *values: Any) -> list[int]:
        return self.builder.ids(id(t) for v in values for t in tensors(v))

    # --- module hooks ----------------------------------------------------------------------

    def before(self, module: Any, args: Any) -> None:
        if id(module) in self.leaves:
            self.inside_leaf += 1
        else:
            self.stack.append((self.names.get(id(module), ""), type(module)))

    def after(self, module: Any, args: Any, output: Any) -> None:
        if id(module) not in self.leaves:
            if self.stack:
                self.stack.pop()
            return
        self.inside_leaf -= 1
        if self.inside_leaf:
            return
        kind = ops.layer_kind(module)
        node = self.builder.add(kind, self.inputs(args), name=self.names.get(id(module), ""),
                                owner=ops.owner_of(self.stack, self.model_class),
                                args=ops.layer_args(kind, module))
        self.produced(output, node)

    # --- torch calls between layers ----------------------------------------------------------

    def call(self, func: Any, args: Any, kwargs: Any, output: Any) -> None:
        if self.inside_leaf:
            return
        qualname = getattr(func, "__qualname__", "") or ""
        owner_type, _, method = qualname.rpartition(".")
        if owner_type in ("TensorBase", "Tensor", "_TensorBase"):
            action, kind = ops.classify_method(method, args[1:], kwargs)
            name = f".{method}()"
        elif owner_type == "getset_descriptor":
            action, kind, name = ops.FOLLOW, "", ".attribute"
        else:
            full = ops.function_name(func)
            action, kind = ops.classify_function(full, args[1:], kwargs)
            name = ops.short_name(full)
        if not any(True for _ in tensors(output)):
            return
        self.produced(output, self.builder.call(
            action, kind, self.inputs(args, kwargs), name,
            ops.owner_of(self.stack, self.model_class)))


def build(model: Any, example: Any, model_loc: Any, locs: dict[str, Any]
          ) -> tuple[ir.Network, Any]:
    """Run `model(example)` once (no gradients): (what ran, the output). Raises what the
    model raises. Every hook is removed again, also when it does."""
    import torch
    from torch.overrides import TorchFunctionMode

    recorder = _Recorder(model, model_loc, locs)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            output = func(*args, **kwargs)
            recorder.call(func, args, kwargs, output)
            return output

    handles = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(recorder.before))
            handles.append(module.register_forward_hook(recorder.after))
        recorder.produced(example, recorder.builder.add(ir.INPUT, [], name="x"))
        with torch.no_grad(), Mode():
            output = model(example)
        recorder.builder.network.outputs = recorder.inputs(output)
    finally:
        for handle in handles:
            handle.remove()
    return recorder.builder.network, output
