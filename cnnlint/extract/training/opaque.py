"""Calls of what the training reader cannot see inside: a library object, an opaque model,
the result of an unknown call, or one of a registry's entries. Some are known not to matter
(a logger, a tensor computation); the rest are *unresolved*: they might validate, stop, reset
gradients or step, so the rules about what their loop lacks stay silent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from cnnlint import ir
from cnnlint.extract import torchnn
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, Frame, describe, tensors_in
from cnnlint.extract.training.objects import (LIBRARY_MODEL, MODULE_METHODS, PLAIN_METHODS,
                                               handed_data_only, inert, walk,
                                               weights_of_model)
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp

# Methods that tell an opaque value is a model.
# What a running average of a network's weights does with it (see `AVERAGED_COPIES`).
_AVERAGING = frozenset({"update_parameters", "update", "set"})
_MODEL_WORDS = ("parameters", "named_parameters", "train", "eval", "state_dict",
                "load_state_dict", "modules", "children", "named_modules", "zero_grad")


def call_each(interp: TrainingInterp, func: v.Candidates, args: Args, f: Frame, loc: Loc | None,
               func_expr: tuple[Any, ...] | None) -> Any:
    """Every candidate of a registry, called the same way: the models they build are
    one model of unknown choice (a rule holds for it when it holds for each)."""
    results = [interp.call(option, Args(list(args.pos), dict(args.kw), args.open_pos,
                                      args.open_kw), f, loc, func_expr)
               for option in func.options]
    if all(isinstance(r, v.MODULE_VALUES) for r in results):
        choice = v.Choice(tuple(results), default=next(
            (made for option, made in zip(func.options, results) if option is func.default),
            None))
        name = " or ".join(f"`{getattr(o, 'name', '?')}`" for o in func.options)
        interp.track_model(choice, f"one of {name}", loc)
        return choice
    return _merged(interp, results)


MAX_PLAIN_OPTIONS = 4  # trainers an option may pick, each read in turn


def _merged(interp: TrainingInterp, results: list[Any]) -> Any:
    """One value for the results of calls of which one runs."""
    merged = results[0]
    for other in results[1:]:
        merged = interp.merge(merged, other)
    return merged


def each_option_method(interp: TrainingInterp, model: v.Choice, name: str, args: Args,
                       f: Frame, loc: Loc | None) -> Any:
    """`model.save_checkpoint(val_loss)` on one of several networks (picked by an option),
    for a method of their own (inherited from a shared base): a call the reader does not
    follow (which one runs is not known, and running each can cost as much as each whole
    program), so the rules about what the loop lacks stay silent. None when no option
    defines it (a torch method, or one the reader cannot see)."""
    defined = any(isinstance(o, v.Instance) and isinstance(o.cls.lookup(name), v.FuncVal)
                  for o in model.options)
    plain = all(isinstance(o, v.Instance) and not interp.is_module_class(o.cls)
                for o in model.options)
    if defined and plain and len(model.options) <= MAX_PLAIN_OPTIONS:
        # One of a few trainers picked by an option (`Trainer_ce(...)` or `Trainer_mse(...)`,
        # then `trainer.train()`): each one's method is read, as each may be what runs.
        return _merged(interp, [interp.call(interp.getattr(o, name), args, f, loc)
                                for o in model.options])
    if name in MODULE_METHODS or not defined:
        return None
    first = model.options[0]
    if isinstance(first, v.Instance) and not interp.is_module_class(first.cls) and all(
            isinstance(o, v.Instance) and o.cls is first.cls for o in model.options):
        # Objects of one plain class made on either side of an `if` (a logger opened to
        # resume or anew): the same method runs whichever it is.
        return interp.call_method(first, name, args, f, loc)
    # What it is given, and the network it is a method of, may be trained there (its own
    # `train_loop(loader, optimizer)`).
    interp.hand_off((*args.pos, *args.kw.values(), model))
    networks = any(isinstance(o, v.Instance) and interp.is_module_class(o.cls)
                   for o in model.options)
    interp.blocked_by(f"{name} of one of several {'networks' if networks else 'objects'}",
                      loc, f, True)
    return v.UNKNOWN


def call_unknown(interp: TrainingInterp, args: Args, f: Frame, loc: Loc | None,
                  func_expr: tuple[Any, ...] | None) -> Any:
    """A call of something the reader could not resolve. Called on tensors it computes
    (a metric, a loss, a mixing function); otherwise it might do anything."""
    method = func_expr is not None and func_expr[0] in ("attr", "sub")
    tensors = tensors_in(args)
    rec = interp.recorder
    if tensors and rec is not None and method and func_expr is not None \
            and func_expr[1] == ("name", "self") and interp.in_module_code(f) \
            and (_given_to_constructor(f.self_obj, func_expr[2])
                 or _built_by_own_code(f.self_obj, func_expr[2])):
        # `self.model(x)` in a module's forward, `self.model` a network its constructor was
        # given, or one its own code built (`self.base_model = ...` from an option's name),
        # that the reader could not build: the module holds that network.
        rec.unknown_inside.add(id(f.self_obj))
    plain = method and func_expr is not None and func_expr[0] == "attr" \
        and func_expr[2] in PLAIN_METHODS
    if rec is not None and method and func_expr is not None and func_expr[0] == "attr" \
            and func_expr[2] == "backward" and not interp.in_module_code(f):
        # `loss.backward()` on a loss the reader lost track of (computed from a batch of a
        # loader it could not follow): autograd's backward pass, whatever the loss was.
        rec.mark_training(step=False)
        rec.event(ir.BACKWARD, loc)
        return None
    touches = True
    if (method or not tensors or hands_a_network(args)) and not plain:
        touches = interp.touches_models(args, method)
        interp.blocked_by(describe(func_expr), loc, f, touches)
    if tensors:
        return interp.unknown_call(args, f"`{describe(func_expr)}(...)` is not known")
    return v.Opaque(f"{describe(func_expr)}(...)", detached=not touches)


def hands_a_network(args: Args) -> bool:
    """Whether a call on tensors is handed a network too (`inferer(inputs=x,
    network=model)`): it may run it, to evaluate it or to train it, so it is more than a
    computation on the tensors."""
    return any(isinstance(x, v.MODULE_VALUES) or (isinstance(x, v.Opaque) and x.model)
               for x in (*args.pos, *args.kw.values()))


def _given_to_constructor(obj: Any, attr: Any) -> bool:
    """Whether `obj`'s class's `__init__` stores a parameter as `self.<attr>` as it is
    (`self.model = model`), or an entry or attribute of one (`self.backbone =
    backbone["backbone"]`)."""
    if not isinstance(obj, v.Instance):
        return False
    init = obj.cls.lookup("__init__")
    if not isinstance(init, v.FuncVal):
        return False
    params = {name for name, _, _ in init.node[2]}
    return any(_a_parameter(value, params) for value in _assigned_to_self(init.node[3], attr))


def _built_by_own_code(obj: Any, attr: Any) -> bool:
    """Whether a method of `obj`'s class (or of a project base) assigns `self.<attr>` the
    result of a call (`self.base_model = getattr(models, name)()`)."""
    if not isinstance(obj, v.Instance):
        return False
    return any(type(value) is tuple and value and value[0] == "call"
               for cls in (obj.cls, *obj.cls.project_bases())
               for value in _assigned_to_self(cls.node, attr))


def _assigned_to_self(code: Any, attr: Any) -> Iterator[Any]:
    """The expressions `code` assigns to `self.<attr>`."""
    if type(attr) is not str:
        return
    target = ("attr", ("name", "self"), attr)
    for stmt in walk(code):
        if stmt and stmt[0] == "assign" and len(stmt) > 2 and type(stmt[1]) is tuple \
                and target in stmt[1]:
            yield stmt[2]


def _a_parameter(expr: Any, params: set[str]) -> bool:
    """`model`, `backbone["backbone"]` or `cfg.net`, for `model`, `backbone`, `cfg` among
    `params`."""
    if type(expr) is tuple and len(expr) == 3 and expr[0] in ("sub", "attr"):
        expr = expr[1]
    return type(expr) is tuple and len(expr) == 2 and expr[0] == "name" and expr[1] in params


def call_opaque(interp: TrainingInterp, func: v.Opaque, args: Args, f: Frame, loc: Loc | None,
                 func_expr: tuple[Any, ...] | None) -> Any:
    if func.parent is not None and func_expr is not None and func_expr[0] == "attr" \
            and func_expr[2] == func.attr:  # `obj.method(...)`, not a value held in a name
        return opaque_method(interp, func.parent, func.attr, args, f, loc, describe(func_expr))
    tensors = tensors_in(args)
    if func.model:
        if not interp.in_module_code(f):
            interp.forward_event(func, loc, args)
        if not tensors:
            return v.Opaque(f"{func.origin}(...)", func.library)
        features = interp.unknown_call(args, LIBRARY_MODEL)
        if func.new_head is not None and isinstance(features, v.Tensor):
            # The head the script put in place gives the output (a softmax it ends with
            # reaches the loss).
            return interp.apply(func.new_head, Args([features]), f)
        return features
    if tensors:
        if hands_a_network(args):
            interp.blocked_by(describe(func_expr) if func_expr is not None else func.origin,
                              loc, f, interp.touches_models(args, False))
        return interp.unknown_call(args, f"`{func.origin}(...)` is not known")
    if func.library.startswith("torch.") and func.library.endswith("Tensor"):
        return interp.add_node(ir.INPUT, (), name=func.origin)  # a tensor type picked by device
    if func.library and inert(func.library):
        return v.Opaque(f"{func.origin}(...)", func.library)
    if func.library and handed_data_only(args):
        # A library's function given only data (`Bar(loader)`, a progress bar): it cannot
        # reach a network, an optimizer or a schedule (nor the script's names), so it holds
        # no step a rule could miss.
        return v.Opaque(f"{func.origin}(...)", func.library, detached=True)
    touches = interp.touches_models(args, False)
    interp.blocked_by(describe(func_expr) if func_expr is not None else func.origin, loc, f,
                      touches)
    return v.Opaque(f"{func.origin}(...)", detached=not touches)


def opaque_method(interp: TrainingInterp, obj: v.Opaque, name: str, args: Args, f: Frame,
                   loc: Loc | None, source: str = "") -> Any:
    """`obj.name(...)`; `source` is the call as written, for notes."""
    rec = interp.recorder
    assert rec is not None
    if name in ("parameters", "named_parameters"):
        obj.model = True
        interp.params_of.append((obj, interp.calls[-1]))
        return v.Params(obj, named=name == "named_parameters")
    if name in ("train", "eval") and (obj.model or not args.pos or
                                      isinstance(args.pos[0], bool)):
        obj.model = True
        interp.set_mode(obj, name, args, loc)
        return obj
    if name == "zero_grad":
        rec.event(ir.ZERO_GRAD, loc, what=f"{obj.origin}.zero_grad()")
        return None
    if name in _MODEL_WORDS:
        obj.model = True
    if name in torchnn.CASTS:
        return obj
    if obj.averages and name in _AVERAGING:
        return None  # the average takes in the network's weights: nothing trains
    if obj.model and name == "forward":
        return call_opaque(interp, obj, args, f, loc, None)
    if obj.model and name == "state_dict":
        return weights_of_model(obj, loc)
    if obj.model and name in MODULE_METHODS:
        return None if name == "load_state_dict" else v.Opaque(
            f"{obj.origin}.{name}()", obj.library)
    tensors = tensors_in(args)
    if obj.library and inert(obj.library) and not obj.model:
        return tensors[0] if tensors else v.Opaque(f"{obj.origin}.{name}()", obj.library)
    # A method of a value detached from every network (a scheduler from a call not
    # followed, handed the optimizer) reaches one only through what it is given.
    touches = not obj.detached or obj.model or interp.touches_models(args, False)
    if touches:
        v.attach(obj)  # `helper.register(net)`: it may hold the network now
    if not (name in PLAIN_METHODS and not obj.model):
        interp.blocked_by(source or f"{obj.origin}.{name}", loc, f, touches)
    if tensors:
        return interp.unknown_call(args, f"`{obj.origin}.{name}()` is not known")
    return v.Opaque(f"{obj.origin}.{name}()", detached=not touches)
