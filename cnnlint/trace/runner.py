"""Trace the models of a lint run and hand the engine IR models it can judge like the others.

Models come from the linted files (every nn.Module class whose constructor needs no
argument, and every factory the static reader saw return a module) and from explicit
targets (`--model`, `[tool.cnnlint.models]`). Each is built, traced with torch.fx, or, when
that fails, recorded over one forward pass; a model that fails both becomes a `trace` error
entry and the run goes on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

from cnnlint import ir
from cnnlint.findings import ErrorEntry, Loc
from cnnlint.sources import ReadError, read_python
from cnnlint.targets import Target, TargetError
from cnnlint.trace import fx_graph, hooks, ops
from cnnlint.trace.targets import (
    construct, contained, definition, import_file, required_parameters, resolve, roots_for,
)

FX, HOOKS = "torch.fx", "forward hooks"

# By default no single model may hold the run longer than this (an import that waits on
# the network, a forward pass on a huge input); `trace-timeout` changes it.
TIMEOUT_S = 120


@dataclass
class TraceSettings:
    targets: list[Target] = field(default_factory=list)  # --model and [tool.cnnlint.models]
    input_shape: tuple[int, ...] | None = None  # --input-shape: for forward passes
    root: str = "."  # the project root: on sys.path while tracing
    timeout: float = TIMEOUT_S  # seconds one model may take to import, build and trace


@dataclass
class TraceOutcome:
    models: list[ir.Model] = field(default_factory=list)
    errors: list[ErrorEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was traced, and how
    skipped: list[str] = field(default_factory=list)  # classes not traced, and why (--verbose)


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """SIGALRM after `seconds` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Timeout(f"gave up after {seconds:g} s (the `trace-timeout` setting)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def example_input(model: Any, shape: tuple[int, ...] | None, batch: int = 2) -> Any:
    """A seeded random batch for `model`: the given (C, H, W) or one inferred from its
    first layer. Seeded from its own generator: the global RNG is not touched."""
    import torch

    shape = shape or ops.infer_input_shape(model)
    if shape is None:
        raise TargetError("no input shape: the model has no conv or linear layer to infer "
                          "it from; give one (--input-shape C,H,W)")
    generator = torch.Generator().manual_seed(0)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else "cpu"
    return torch.randn(batch, *shape, generator=generator).to(device)


def trace_network(model: Any, loc: Loc, locs: dict[str, Loc],
                  input_shape: tuple[int, ...] | None) -> tuple[ir.Network, str, str]:
    """(network, method, remark). torch.fx first; its graph is then replayed against one
    real forward pass on the same seeded input. A Python branch on a traced value
    (`isinstance(proxy, Tensor)`, say) can make torch.fx record a graph that runs but
    computes something else; when the outputs differ, the recorded pass is the truth."""
    graph_module, fx_failure = None, ""
    # BaseException: the user's forward may call sys.exit(); that must not end the run.
    try:
        graph_module, network = fx_graph.build(model, loc, locs)
    except (_Timeout, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fx_failure = f"symbolic tracing failed: {type(exc).__name__}: {_first_line(exc)}"
    try:
        example = example_input(model, input_shape)
        recorded, reference = _seeded(lambda: hooks.build(model, example, loc, locs))
    except (_Timeout, KeyboardInterrupt):
        raise
    except BaseException as exc:
        why = f"{type(exc).__name__}: {_first_line(exc)}"
        if graph_module is not None:
            return network, FX, f"not checked against a forward pass: {why}"
        raise TargetError(f"{fx_failure}, and so did a forward pass: {why}") from exc
    if graph_module is not None:
        try:
            replay = _seeded(lambda: graph_module(example))
            if _same(reference, replay):
                return network, FX, ""
            fx_failure = "the torch.fx graph computes something else than the model"
        except (_Timeout, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fx_failure = f"the torch.fx graph does not run: {type(exc).__name__}: " \
                         f"{_first_line(exc)}"
    return recorded, HOOKS, fx_failure


def _seeded(run: Any) -> Any:
    """Run with the same random stream each time (dropout, drop-path), without touching
    the caller's global RNG state, and without gradients."""
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        return run()


def _same(a: Any, b: Any) -> bool:
    import torch

    left, right = list(hooks.tensors(a)), list(hooks.tensors(b))
    return len(left) == len(right) and all(
        x.shape == y.shape and torch.allclose(x, y, rtol=1e-4, atol=1e-5, equal_nan=True)
        for x, y in zip(left, right))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


class _Tracer:
    def __init__(self, settings: TraceSettings, static: list[ir.Model],
                 linted: list[str]) -> None:
        self.settings = settings
        self.static = {(os.path.realpath(m.path), m.name): m for m in static}
        self.linted = {os.path.realpath(p): p for p in linted}
        # Models an explicit target names (with its arguments) are not also traced bare.
        self.explicit = {(os.path.realpath(t.path), t.name) for t in settings.targets if t.path}
        self.out = TraceOutcome()

    # --- where things are --------------------------------------------------------------------

    def display_path(self, path: str) -> str:
        real = os.path.realpath(path)
        if real in self.linted:
            return self.linted[real]
        relative = os.path.relpath(real)
        return path if relative.startswith("..") else relative

    def model_loc(self, obj: Any, fallback: str) -> Loc:
        path, line = definition(obj)
        path = self.display_path(path or fallback)
        column = 1
        try:
            text = read_python(path).splitlines()[line - 1]
            column = text.find(getattr(obj, "__name__", "")) + 1 or 1
        except (ReadError, IndexError):
            pass
        return Loc(path, line, column, line, column + len(getattr(obj, "__name__", "")))

    # --- one model -----------------------------------------------------------------------------

    def trace(self, target: Target, factory: Any, fallback_path: str,
              requested: bool = False) -> None:
        where = self.model_loc(factory, fallback_path)
        static = self.static.get((os.path.realpath(where.path), target.name))
        loc = static.loc if static is not None else where
        locs = {n.name: n.loc for n in static.network if n.name and n.loc is not None} \
            if static is not None else {}
        try:
            with _deadline(self.settings.timeout):
                module = construct(factory, target)
                network, method, fx_failure = trace_network(
                    module, loc, locs, target.input_shape or self.settings.input_shape)
        except (TargetError, _Timeout) as exc:
            self.out.errors.append(ErrorEntry(loc.path, "trace",
                                              f"{target.describe()}: {exc}"))
            return
        except Exception as exc:  # a bug of ours: this model's error, the others go on
            self.out.errors.append(ErrorEntry(loc.path, "internal", (
                f"tracing {target.describe()} failed: {type(exc).__name__}: {exc}")))
            return
        kind = "class" if isinstance(factory, type) else "factory"
        self.out.models.append(ir.Model(
            name=target.name, kind=kind, class_name=type(module).__name__, loc=loc,
            network=network, inits=list(static.inits) if static is not None else [],
            source="trace", trace_method=method,
            requested_as=target.describe() if requested else ""))
        why = f" ({fx_failure})" if fx_failure else ""
        named = target.describe() if requested else target.name
        self.out.notes.append(f"{loc.path}:{loc.line}: traced {named} with {method}, "
                              f"{sum(n.weighted for n in network)} weighted layers{why}")

    # --- the models of the linted files --------------------------------------------------------

    def trace_file(self, path: str, factories: list[str]) -> None:
        import torch

        try:
            with _deadline(self.settings.timeout):
                module = import_file(path)
        except (TargetError, _Timeout) as exc:
            self.out.errors.append(ErrorEntry(path, "trace", str(exc)))
            return
        found: list[tuple[int, str, Any]] = []
        for name, obj in vars(module).items():
            defined_here = getattr(obj, "__module__", None) == module.__name__
            if isinstance(obj, type) and issubclass(obj, torch.nn.Module) and defined_here:
                if obj.forward is torch.nn.Module.forward:
                    continue  # no forward of its own: a base class, nothing to run
                found.append((definition(obj)[1], name, obj))
            elif name in factories and callable(obj) and defined_here:
                found.append((definition(obj)[1], name, obj))
        for _, name, obj in sorted(found, key=lambda item: item[:2]):
            if (os.path.realpath(path), name) in self.explicit:
                continue
            missing = required_parameters(obj)
            if missing:
                self.out.skipped.append(
                    f"{path}: not traced {name}: it needs {', '.join(missing)}; name it with "
                    f"--model {path}:{name}({missing[0]}=...)")
                continue
            self.trace(Target(name=name, path=path), obj, path)

    def trace_target(self, target: Target) -> None:
        try:
            with _deadline(self.settings.timeout):
                factory = resolve(target)
        except (TargetError, _Timeout) as exc:
            self.out.errors.append(ErrorEntry(target.path or "", "trace", str(exc)))
            return
        self.trace(target, factory, target.path or "", requested=True)


def trace_models(settings: TraceSettings, static: list[ir.Model], files: list[str],
                 linted: list[str]) -> TraceOutcome:
    """Trace the models defined in `files` (the linted files that define module classes or
    factories) and the explicit targets."""
    tracer = _Tracer(settings, static, linted)
    factories: dict[str, list[str]] = {}
    for model in static:
        if model.kind == "factory":
            factories.setdefault(os.path.realpath(model.path), []).append(model.name)
    for path in files:
        roots = roots_for(Target(name="", path=path), settings.root)
        with contained(roots):
            tracer.trace_file(path, factories.get(os.path.realpath(path), []))
    for target in settings.targets:
        with contained(roots_for(target, settings.root)):
            tracer.trace_target(target)
    return tracer.out


def merge(static: list[ir.Model], traced: list[ir.Model]) -> list[ir.Model]:
    """The run's models: a traced model replaces the static model of the same file and
    name (the trace saw the real thing); traced models the static reader missed are added."""
    by_key = {(os.path.realpath(m.path), m.name): m for m in traced}
    merged = [by_key.pop((os.path.realpath(m.path), m.name), m) for m in static]
    return merged + [m for m in traced if (os.path.realpath(m.path), m.name) in by_key]
