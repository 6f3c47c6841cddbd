"""How training code's loops are read: a loop over a loader or a range stands for many
passes, so the reader runs it once or twice and makes what changes between passes (counts,
numbers a pass binds) unknown; `tqdm(range(n))` is the range it wraps. Kinds of loop (epoch,
iteration, batch) are decided when the pass ends (see `Recorder`)."""

from __future__ import annotations

from typing import Any, Callable

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import Frame, counter_targets, identifiers
from cnnlint.extract.training.config import ConfigInterp
from cnnlint.extract.training.objects import TrainObj
from cnnlint.extract.training.recorder import LoopState, Recorder
from cnnlint.extract.values import UNKNOWN

MAX_PHASES = 8  # a loop over this many names or settings or fewer runs each with its own value


# Progress bars around a loop's range (`tqdm(range(epochs))`) and tqdm's own `trange(n)`.
_PROGRESS_BARS = frozenset({"tqdm", "tqdm_notebook", "auto_tqdm"})
_RANGES = frozenset({"trange", "tnrange"})


def _range_call(expr: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The `range(...)` call a loop runs over, seen through a progress bar; None for any
    other loop."""
    if expr[0] != "call":
        return None
    func = expr[1]
    name = func[-1] if func[0] in ("name", "attr") and type(func[-1]) is str else ""
    if name == "range" and func[0] == "name" or name in _RANGES:
        return expr
    if name in _PROGRESS_BARS and expr[2]:
        return _range_call(expr[2][0])
    return None


def bound_range(expr: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The `range(...)` call a value bound to a name is (`iteration = trange(n) if bar else
    range(n)`: both ways the same range), for a loop over that name later; None for any
    other value."""
    if expr[0] == "ifexp":
        first, second = _range_call(expr[2]), _range_call(expr[3])
        return first if first is not None and second is not None \
            and first[2:4] == second[2:4] else None
    return _range_call(expr)


class LoopReading(ConfigInterp):
    """The training interpreter's loops (`recorder`, `batches` and `in_module_code` are the
    training interpreter's)."""

    recorder: Recorder | None
    batches: dict[int, TrainObj]
    in_module_code: Callable[[Frame], bool]

    def loop_started(self, stmt: tuple[Any, ...], value: Any, items: list[Any] | None,
                     f: Frame) -> Any:
        rec = self.recorder
        if rec is None:
            return None
        rec.next_loop += 1
        iter_expr = stmt[2]
        loader = value if isinstance(value, TrainObj) and value.kind == "loader" else None
        together: tuple[TrainObj, ...] = ()
        if loader is None and items:
            found = self._loaders_of(items[0])
            loader, together = (found[0], tuple(found[1:])) if found else (None, ())
        kind = "loader" if loader is not None else "other"
        ranged = _range_call(iter_expr)
        if ranged is None and iter_expr[0] == "name" and f.ranges:
            ranged = f.ranges.get(iter_expr[1])  # `for epoch in iteration:`
        if loader is None and ranged is not None:
            kind, iter_expr = "range", ranged
        loop = LoopState(rec.next_loop, kind, f.scope.loc(stmt[5]), f.owner, loader=loader,
                         together=together, label=f"{text_of(stmt[1])} {text_of(stmt[2])}")
        if rec.entry_call is not None and f.scope.path != rec.entry_call.path:
            loop.called_at = rec.entry_call
        # A body that ends every pass with `break` runs once (one batch per epoch).
        loop.single_pass = any(s[0] == "break" for s in stmt[3])
        # `for it in range(n_iters): pair = pairs[it - 1]`: one example (or batch) per pass.
        loop.picks_examples = kind == "range" and _indexes_by_target(stmt)
        loop.unknown_data = kind == "other" and items is None
        loop.first_event = len(rec.events)
        loop.kept_at = _kept(rec)
        loop.in_module = self.in_module_code(f)
        # Over a few names or settings (`("train", "val")`, a list of experiment configs):
        # each pass runs with its own value, and may train its own network.
        loop.phases = kind == "other" and items is not None \
            and 1 < len(items) <= MAX_PHASES and all(
                type(x) in (str, dict) or type(x) is v.Instance
                and not self.is_module_class(x.cls) for x in items)
        stop = None
        if kind == "range" and iter_expr[2]:
            stop = iter_expr[2][1] if len(iter_expr[2]) > 1 else iter_expr[2][0]
        if kind == "range" and (items is not None or type(value) is v.LongRange):
            loop.count = len(items) if items is not None else value.length
            loop.origin = self.origin(stop, f) if stop is not None else ""
        elif kind == "range" and len(iter_expr[2]) == 2 and stop is not None \
                and stop[0] == "binop" and stop[1] == "+" and stop[2] == iter_expr[2][0] \
                and stop[3][0] == "const" and type(stop[3][1]) is int:
            loop.count = stop[3][1]  # range(start, start + 200): 200 passes, wherever it starts
            loop.origin = "literal"
        rec.loops.append(loop)
        return loop

    def _only_runs_models(self, loop: Any) -> bool:
        """Whether the loop, in training code, ran a model on each pass so far and recorded
        nothing else but mode changes, and built nothing the run keeps (an optimizer, a
        loader, a model). (A module's own loops, building its layers, record nothing.)"""
        rec = self.recorder
        assert rec is not None
        events = rec.events[loop.first_event:]
        return not loop.in_module and loop.kept_at == _kept(rec) \
            and {e.passes[e.loops.index(loop.id)] for e in events
                 if e.kind == ir.FORWARD and loop.id in e.loops} \
            >= set(range(loop.pass_index + 1)) \
            and all(e.kind in (ir.FORWARD, ir.MODE) for e in events)

    def _loaders_of(self, item: Any) -> list[TrainObj]:
        """The loaders a loop's item comes from: `x`, `(i, (x, y))`, and both of
        `((x_a, y_a), (x_b, y_b))` over `zip(loader_a, loader_b)` (the last one first)."""
        found: list[TrainObj] = []
        stack = [item]
        while stack:
            x = stack.pop()
            if isinstance(x, v.Tensor) and x.node in self.batches:
                loader = self.batches[x.node]
                if all(loader is not y for y in found):
                    found.append(loader)
            elif type(x) in (tuple, list):
                stack.extend(x)
        return found

    def loop_continues(self, loop: Any, index: int) -> bool:
        if loop is None or loop.phases:
            return True
        if not loop.training:
            # A range loop whose passes so far only ran models (a timing or shape check:
            # `for i in range(1000): y = model(x)`) runs its later passes alike: two are read
            # (a large network run a thousand times would exhaust the reading).
            return index < 1 or loop.kind != "range" or not self._only_runs_models(loop)
        loop.repeated = True
        # A training loop runs twice: the second pass sees the state the first leaves behind.
        return index < 1

    def loop_item(self, loop: Any, index: int, item: Any) -> Any:
        # A pass that stands for many: `if epoch == 30:`, `if epoch % 5 == 0:` and
        # `if i % 200 == 199:` (enumerate's count over a loader) must run both ways there.
        # Its numbers are unknown; the objects it binds are its own
        # (`for net, opt in zip(nets, optimizers)`).
        return _numbers_unknown(item) if _stands_for_many(loop, index) else item

    def loop_pass(self, loop: Any, index: int, body: tuple[Any, ...], f: Frame) -> None:
        if loop is not None:
            loop.pass_index = index
        # In a pass that stands for many, the counters it keeps (`step += 1`,
        # `self.iteration = ...`) hold any value, so `if step % 1000 == 0:` goes both ways.
        if _stands_for_many(loop, index):
            self._forget_counters(body, f)

    def _while(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        # The body is read once, and that pass stands for every pass: the counters it keeps
        # hold any value (`while step < len(loader): step += 1; if step % 4 == 0: ...`).
        if self.recorder is not None:
            self._forget_counters(stmt[2], f)
        return super()._while(stmt, f)

    def _forget_counters(self, body: tuple[Any, ...], f: Frame) -> None:
        for target in counter_targets(body):
            if target[0] == "name":
                if type(f.locals.get(target[1])) in (int, float):
                    f.locals[target[1]] = UNKNOWN
                continue
            obj = f.locals.get(target[1][1])
            if isinstance(obj, v.Instance) and type(obj.attrs.get(target[2])) in (int, float):
                obj.attrs[target[2]] = UNKNOWN

    def loop_finished(self, loop: Any) -> None:
        rec = self.recorder
        if rec is not None and loop is not None and rec.loops and rec.loops[-1] is loop:
            rec.loops.pop()
            rec.finished[loop.id] = loop
            if loop.training and rec.loops:
                rec.loops[-1].training = True
            if loop.unknown_data and not loop.training:
                _may_evaluate(rec, loop.first_event)

    def over_unknown_items(self, evaluate: Any) -> None:
        # `sum(crit(net(x), y).item() for x, y in make_loader("val"))`: as a loop over
        # data not known that trains nothing (see `_may_evaluate`).
        rec = self.recorder
        if rec is None:
            return super().over_unknown_items(evaluate)
        first = len(rec.events)
        evaluate()
        if not any(e.kind in (ir.STEP, ir.BACKWARD) for e in rec.events[first:]):
            _may_evaluate(rec, first)
        return None

    def unknown_item(self) -> Any:
        # In training code a loop over something unknown is nearly always over batches.
        if self.recorder is None:
            return UNKNOWN
        return self.add_node(ir.INPUT, (), name="batch")


def _may_evaluate(rec: Recorder, first: int) -> None:
    """A loop that calls a model on data the reader could not follow, and trains nothing
    (its events from `first` on): that data may be held out (`for x, y in
    make_loader("val")`), so its forwards may evaluate (and no-validation must not say the
    run never does), unless a loss backpropagated later is computed from them (a loop over
    a sequence's steps that adds up the loss)."""
    for event in rec.events[first:]:
        if event.kind == ir.FORWARD:
            event.flags = event.flags | {"unknown-data"}
            rec.maybe_evaluating = True


def _numbers_unknown(item: Any) -> Any:
    if type(item) in (tuple, list):
        return type(item)(_numbers_unknown(x) for x in item)
    if type(item) in (int, float, str, bool) or item is None:
        return UNKNOWN
    return item


def _stands_for_many(loop: LoopState | None, index: int) -> bool:
    """A loop pass that stands for many: a loader loop's one pass is every batch, a training
    loop's second is every later epoch."""
    return loop is not None and ((loop.kind == "loader" and index == 0)
                                 or (loop.repeated and index >= 1))


def text_of(expr: tuple[Any, ...]) -> str:
    """Every name and attribute in an expression, space-separated (for keyword tests)."""
    return " ".join(identifiers(expr, attributes=True))


def _indexes_by_target(stmt: tuple[Any, ...]) -> bool:
    """Whether a `for` loop's body assigns an item taken by the loop's own variable
    (`pair = pairs[it - 1]`), a statement of the body itself (not of a loop inside it)."""
    names = set(identifiers(stmt[1]))
    return bool(names) and any(
        s[0] == "assign" and len(s) > 2 and type(s[2]) is tuple and s[2][:1] == ("sub",)
        and names & set(identifiers(s[2][2])) for s in stmt[3])


def _kept(rec: Recorder) -> tuple[int, ...]:
    """How many optimizers, schedulers, loaders and models the pass has built so far."""
    return (len(rec.constructions), len(rec.scheduler_builds), len(rec.loaders),
            len(rec.models), len(rec.losses))
