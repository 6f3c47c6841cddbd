"""What the probed model's forward is called with, and which of its outputs the probe
trains on. Every forward the runner makes goes through `ModelIO`, so the class count, the
training steps and the checks after the run all see the same inputs and the same logits.

Inputs: one tensor by default; one per `--input-shape` when the option is given several
times; or the example that `--inputs module:callable` returns for a batch size (a tensor or
a tuple). From such an example the floating-point tensors are replaced by the synthetic (or
the user's) data of their shape, and anything else (an integer mask, lengths, a flag) is
passed on as returned.

Outputs: a tensor of logits, or a tuple, list, dict or object holding one. `pick_output`
takes a dict's `logits`/`out`-like key, else the first floating tensor of the batch's size
whose dim 1 is the class count (when it is known), else the first one, and names it
(`output[0]`, `output['out']`).
"""

from __future__ import annotations

from typing import Any, Callable

PREFERRED_KEYS = ("logits", "out", "output", "outputs", "pred", "preds", "prediction",
                  "y_hat", "scores")
MAX_DEPTH = 3  # how deep into nested tuples and dicts the logits are looked for

Path = tuple[Any, ...]  # indices and keys from the model's output down to the logits
_END = object()


class OutputError(Exception):
    pass


def describe(path: Path) -> str:
    return "output" + "".join(f"[{key!r}]" if isinstance(key, str) else f"[{key}]"
                              for key in path)


def _children(value: Any) -> list[tuple[Any, Any]]:
    """(key, item) of a container the logits may sit in."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, (tuple, list)):
        return list(enumerate(value))
    found = [(key, getattr(value, key)) for key in PREFERRED_KEYS if hasattr(value, key)]
    return [("." + key, item) for key, item in found]


def _candidates(value: Any, path: Path = ()) -> list[tuple[Path, Any]]:
    """The floating tensors in `value`, depth first, with their paths."""
    import torch

    if isinstance(value, torch.Tensor):
        return [(path, value)] if value.is_floating_point() and value.dim() >= 1 else []
    if len(path) >= MAX_DEPTH:
        return []
    out = []
    for key, item in _children(value):
        out.extend(_candidates(item, (*path, key)))
    return out


def follow(value: Any, path: Path) -> Any:
    """The item at `path`, or None when the output has another structure now."""
    for key in path:
        try:
            if isinstance(key, str) and key.startswith("."):
                value = getattr(value, key[1:])
            else:
                value = value[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
    return value


def pick_output(output: Any, num_classes: int | None = None,
                batch: int | None = None) -> tuple[Path, Any]:
    """(path, tensor) of the logits in a model's output."""
    import torch

    if isinstance(output, torch.Tensor):
        if not output.is_floating_point():
            raise OutputError(f"the model returned a {output.dtype} tensor, not logits")
        return (), output
    found = _candidates(output)
    if batch is not None:
        found = [(path, t) for path, t in found if t.shape[0] == batch]
    if not found:
        raise OutputError(f"the model returned {type(output).__name__} with no "
                          f"floating-point tensor of logits in it")
    for key in PREFERRED_KEYS:
        for path, tensor in found:
            if path[-1] in (key, "." + key):
                return path, tensor
    if num_classes is not None:
        for path, tensor in found:
            if tensor.dim() >= 2 and tensor.shape[1] == num_classes:
                return path, tensor
    return found[0]


class ModelIO:
    """The inputs a forward gets and the logits taken from its output, for one run.
    `record`: the report's settings (it gets `output`), `notes`: the report's notes."""

    def __init__(self, shapes: list[tuple[int, ...]], record: dict[str, Any],
                 notes: list[str], factory: Callable[[int], Any] | None = None,
                 num_classes: int | None = None) -> None:
        self.shapes = shapes  # of the inputs the data fills, in order
        self.factory = factory
        self.record, self.notes = record, notes
        self.num_classes = num_classes
        self.path: Path | None = None
        self.several = False  # a batch so far had several arguments
        # Position -> value for the inputs passed as the factory returned them, per size.
        self.constants: dict[int, dict[int, Any]] = {}

    @classmethod
    def from_factory(cls, factory: Callable[[int], Any], size: int, record: dict[str, Any],
                     notes: list[str], num_classes: int | None = None) -> ModelIO:
        """From `--inputs`: the example for `size` samples sets the shapes."""
        import torch

        example = _as_tuple(factory(size))
        shapes = [tuple(x.shape[1:]) for x in example
                  if isinstance(x, torch.Tensor) and x.is_floating_point()]
        if not shapes:
            raise OutputError("--inputs returned no floating-point tensor to fill with data")
        io = cls(shapes, record, notes, factory, num_classes)
        io.constants[size] = io._constants(example)
        return io

    @staticmethod
    def _constants(example: tuple[Any, ...]) -> dict[int, Any]:
        import torch

        return {i: x for i, x in enumerate(example)
                if not (isinstance(x, torch.Tensor) and x.is_floating_point())}

    # --- inputs ------------------------------------------------------------------------------

    def example(self, size: int, device: Any) -> tuple[Any, ...]:
        """Inputs for a forward before any data: zeros, or the factory's example."""
        import torch

        if self.factory is not None:
            return self._to(_as_tuple(self.factory(size)), device)
        return tuple(torch.zeros(size, *shape, device=device) for shape in self.shapes)

    def arguments(self, data: Any, device: Any) -> tuple[Any, ...]:
        """The forward's positional arguments for a batch's input (a tensor, or a tuple or
        list of them), with the factory's non-floating inputs put back in their places."""
        filled = list(self._to(_as_tuple(data), device))
        self.several = self.several or len(filled) > 1
        if self.factory is None:
            return tuple(filled)
        size = int(filled[0].shape[0]) if filled else 0
        if size not in self.constants:
            self.constants[size] = self._constants(_as_tuple(self.factory(size)))
        constants = self._to_dict(self.constants[size], device)
        if len(filled) >= len(self.shapes) + len(constants):
            return tuple(filled)  # the data brings every input itself
        self.several = True
        out: list[Any] = []
        rest = iter(filled)
        while True:  # the constants in their places, the data in order around them
            if len(out) in constants:
                out.append(constants[len(out)])
                continue
            item = next(rest, _END)
            if item is _END:
                return tuple(out)
            out.append(item)

    def describe_example(self, size: int) -> str:
        """`a (2, 3, 32, 32) input`, or the shapes of several, for messages."""
        shapes = [f"({', '.join(map(str, (size, *shape)))})" for shape in self.shapes]
        return f"a {shapes[0]} input" if len(shapes) == 1 else f"{', '.join(shapes)} inputs"

    @staticmethod
    def _to(values: tuple[Any, ...], device: Any) -> tuple[Any, ...]:
        import torch

        return tuple(v.to(device) if isinstance(v, torch.Tensor) else v for v in values)

    def _to_dict(self, values: dict[int, Any], device: Any) -> dict[int, Any]:
        return dict(zip(values, self._to(tuple(values.values()), device)))

    # --- outputs -----------------------------------------------------------------------------

    def forward(self, model: Any, arguments: tuple[Any, ...]) -> Any:
        """The model's logits for these arguments."""
        import torch

        first = arguments[0] if arguments else None
        batch = int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 \
            else None
        return self.logits(model(*arguments), batch)

    def logits(self, output: Any, batch: int | None = None) -> Any:
        """The logits in `output`: where they were found before, else `pick_output`'s
        choice, which goes into the report (settings `output`, and a note)."""
        if self.path is not None:
            found = follow(output, self.path)
            if found is not None and getattr(found, "is_floating_point", lambda: False)():
                return found
        self.path, tensor = pick_output(output, self.num_classes, batch)
        self.record["output"] = describe(self.path)
        if self.path:
            note = (f"the model returns {_kind(output)}; the probe trains on "
                    f"{describe(self.path)}, shape {tuple(tensor.shape)}")
            if note not in self.notes:
                self.notes.append(note)
        return tensor

    # --- for code that calls the model with one batch tensor ---------------------------------

    def packed(self, data: Any, device: Any) -> Any:
        """A batch's input as `unpacking(model)` takes it (after the training steps)."""
        arguments = self.arguments(data, device)
        return arguments if self.several else arguments[0]

    def unpacking(self, model: Any) -> Any:
        """`model`, or when the forward takes several inputs a stand-in that spreads a
        tuple over its arguments (everything else is the model's own)."""
        return _Spread(model) if self.several else model


class _Spread:
    def __init__(self, model: Any) -> None:
        self._model = model

    def __call__(self, arguments: tuple[Any, ...]) -> Any:
        return self._model(*arguments)

    def __getattr__(self, name: str) -> Any:
        if name == "_model":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._model, name)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _kind(output: Any) -> str:
    if isinstance(output, dict):
        return f"a dict with keys {', '.join(map(repr, list(output)[:6]))}"
    if isinstance(output, (tuple, list)):
        return f"a {type(output).__name__} of {len(output)}"
    return f"a {type(output).__name__}"


def logits_only(model: Any, io: ModelIO) -> Any:
    """`model` as a module whose output is the logits the probe trains on (for the sanity
    checks and the LR range test, which call a model with one batch tensor and read its
    output as logits). A module, so copies, `parameters()` and train/eval still work."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return io.logits(self.inner(x), int(x.shape[0]))

    return LogitsOnly(model)
