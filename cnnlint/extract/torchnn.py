"""What torch.nn means to the interpreter: layers and containers become specs, a module call
runs its forward into the graph, nn.init calls are recorded, and tensor methods become nodes.

Functions here take the interpreter as their first argument; `Interp` keeps thin methods for
the ones a subclass (the training reader) refines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable

from cnnlint import catalogue, ir
from cnnlint.extract import configs, statistics
from cnnlint.extract import values as v
from cnnlint.extract.frames import (MAX_CALL_DEPTH, MODULE_BASES, Args, Frame, immutable_const,
                                    tensors_in, walk)
from cnnlint.extract.memo import (
    NO_PRINT, UNSEEN, ForwardMemo, Fragment, construction_key, fingerprint, input_pattern,
    holds_any, layers_of, lists_held, lists_in, record, replay, shared_within, unchanged,
)
from cnnlint.extract.statistics import HAND_NORM
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.interp import Interp


def instantiate(interp: Interp, cls: v.ClassVal, args: Args, f: Frame, loc: Loc | None) -> Any:
    """`cls(*args)`. A module built from constant arguments is read once per run and copied
    after that (see memo.py)."""
    memo = interp.construction_memo()
    key = interp.in_state(construction_key(cls, args)) if memo is not None else None
    if key is not None and memo is not None:
        hit = memo.get(key, cls)
        if hit is not None and interp.depth + hit.depth < MAX_CALL_DEPTH \
                and interp.affords(hit.steps):
            copy = interp.reuse(hit)
            if type(copy) is v.LayerSpec and (copy.loc, copy.scope) != (loc, f.owner):
                # A torch layer under a project name (`class MyConv(nn.Conv2d)`) is built
                # here, not where the kept copy was: findings and fixes name this call.
                copy.loc, copy.scope = loc, f.owner
                interp.changed(copy)
            elif type(copy) is v.Instance and copy.torch_layer is not None:
                copy.torch_layer = replace(copy.torch_layer, loc=loc, scope=f.owner)
            return copy
        if memo.known_unreusable(key) or hit is not None:
            key = None
    start = (interp.steps, interp.built, len(interp.noted), len(interp.inits), interp.deepest)
    mark = interp.side_effects()
    lists = lists_in(args) if key is not None else []
    interp.deepest = interp.depth
    interp.built += 1
    inst = v.Instance(cls)
    init = cls.lookup("__init__")

    def construct() -> None:
        if isinstance(init, v.FuncVal):
            interp.call_function(replace(init, bound=inst), args)
        else:
            base_init(interp, inst, cls, args)

    written: set[int] | None = None
    if key is None:
        construct()
    else:  # (kept only if it wrote no table that outlives it)
        _, written = interp.tracking_writes(construct)
    used = interp.deepest - interp.depth + 1
    interp.deepest = max(start[4], interp.deepest)
    made: Any = _as_layer(interp, inst, f, loc)
    if key is not None and memo is not None:
        if interp.side_effects() != mark or not interp.is_module_class(cls) \
                or not unchanged(lists) or written and interp.writes_module_table(written):
            memo.forget(key)
        else:
            memo.put(key, cls, made, steps=interp.steps - start[0], built=interp.built - start[1],
                     notes=interp.noted[start[2]:], inits=interp.inits[start[3]:], depth=used)
    return made


def _as_layer(interp: Interp, inst: v.Instance, f: Frame, loc: Loc | None) -> Any:
    """A project subclass of a torch layer with no forward of its own (`class
    DWConv(nn.Conv2d)` setting `groups` in its `__init__`) is that layer, built with the
    arguments its constructor handed to torch's; otherwise the instance itself."""
    given = interp.layer_inits.pop(id(inst), None)
    if given is None:
        return inst
    kind, args = given
    bound = bind_layer_args(kind, args)
    if inst.cls.lookup("forward") is not None:
        inst.torch_layer = v.LayerSpec(kind, bound, loc, f.owner)  # `super().forward(x)`
        return inst
    if catalogue.is_weighted(kind) and _fixes_its_weights(inst.cls):
        kind = catalogue.FIXED_FILTER  # a mean shift written as a 1x1 conv: no trained layer
    return v.LayerSpec(kind, bound, loc, f.owner)


def _fixes_its_weights(cls: v.ClassVal) -> bool:
    """Whether the class's constructor sets its weights to values of its own and freezes them
    (`self.weight.data = ...`, then `p.requires_grad = False`), as a colour mean shift does."""
    init = cls.lookup("__init__")
    if not isinstance(init, v.FuncVal):
        return False
    assigns = [item for item in walk(init.node[3]) if item and item[0] == "assign"]
    written = any(target in _OWN_WEIGHT for item in assigns for target in item[1])
    frozen = any(target[0] == "attr" and target[2] == "requires_grad"
                 and item[2] == ("const", False) for item in assigns for target in item[1])
    return written and frozen


_OWN_WEIGHT = (("attr", ("name", "self"), "weight"),
               ("attr", ("attr", ("name", "self"), "weight"), "data"))


def base_init(interp: Interp, inst: v.Instance, cls: v.ClassVal, args: Args) -> None:
    """`super().__init__(...)` (or no __init__): the first base that defines one."""
    for base in cls.bases:
        if isinstance(base, v.ClassVal):
            init = base.lookup("__init__")
            if isinstance(init, v.FuncVal):
                interp.call_function(replace(init, bound=inst), args)
                return
            base_init(interp, inst, base, args)
            return
        if isinstance(base, v.Ref):
            container = container_kind(base.qualname)
            kind = layer_kind(base.qualname)
            if kind:  # read when the constructor is done (`_as_layer`)
                interp.layer_inits[id(inst)] = (kind, args)
            if container == "Sequential":
                for key, child in sequential_children(args):
                    inst.attrs[key] = child
            elif container == "ModuleList":
                for i, child in enumerate(interp.iterate(args.pos[0]) or [] if args.pos else []):
                    inst.attrs[str(i)] = child
            elif container == "ModuleDict" and args.pos and type(args.pos[0]) is dict:
                inst.attrs.update(args.pos[0])
            return


def is_module_class(interp: Interp, cls: Any, seen: frozenset[int] = frozenset()) -> bool:
    if not isinstance(cls, v.ClassVal) or id(cls) in seen:
        return False
    for base in cls.bases:
        if isinstance(base, v.Ref) and (
                base.qualname in MODULE_BASES or layer_kind(base.qualname)
                or container_kind(base.qualname)):
            return True
        if interp.is_module_class(base, seen | {id(cls)}):
            return True
    return False


def container_base(interp: Interp, cls: v.ClassVal,
                   seen: frozenset[int] = frozenset()) -> str | None:
    """"Sequential", "ModuleList" or "ModuleDict" when the class derives from one."""
    for base in cls.bases:
        if isinstance(base, v.Ref):
            kind = container_kind(base.qualname)
            if kind:
                return kind
        elif isinstance(base, v.ClassVal) and id(base) not in seen:
            found = interp.container_base(base, seen | {id(cls)})
            if found:
                return found
    return None


def children(interp: Interp, inst: v.Instance) -> list[tuple[str, Any]]:
    return [(k, x) for k, x in inst.attrs.items() if isinstance(x, v.MODULE_VALUES)]


def weighted_count(modules: Iterable[Any]) -> int:
    """How many of `modules` are layers with weights (convolutions, linear layers, ...)."""
    return sum(1 for m in modules if type(m) is v.LayerSpec and catalogue.is_weighted(m.kind))


# Layer families that neither learn nor hold state: what a linear model may hold besides
# its one layer with weights (an output's sigmoid or softmax, a flatten).
_STATELESS = frozenset({"relu", "leaky", "saturating", "softmax", "reshape", "identity"})


def linear_model(modules: list[Any]) -> bool:
    """Whether these modules (a model's tree, from `module_tree`) are a linear model: one
    convolution or linear layer, the rest stateless layers, and no attribute that may hold
    weights of its own (`self.w = nn.Parameter(...)`, read as not known)."""
    weighted = 0
    for m in modules:
        kind = type(m)
        if kind is v.LayerSpec:
            family = catalogue.family(m.kind)
            if catalogue.is_weighted(m.kind):
                weighted += 1
            elif family not in _STATELESS:
                return False
        elif kind is v.Instance:
            if any(not isinstance(x, v.MODULE_VALUES) and not immutable_const(x)
                   for x in m.attrs.values()):
                return False
        elif kind not in (v.SeqSpec, v.ListSpec, v.DictSpec):
            return False
    return weighted == 1


def module_tree(interp: Interp, module: Any) -> list[Any]:
    """Every module inside `module` (itself included), from its construction."""
    out: list[Any] = []
    seen: set[int] = set()
    stack = [module]
    while stack:
        item = stack.pop()
        if id(item) in seen or not isinstance(item, v.MODULE_VALUES):
            continue
        seen.add(id(item))
        out.append(item)
        if isinstance(item, v.SeqSpec):
            stack.extend(c for _, c in item.children)
        elif isinstance(item, v.ListSpec):
            stack.extend(item.children)
        elif isinstance(item, v.DictSpec):
            stack.extend(item.children.values())
        elif isinstance(item, v.Choice):
            stack.extend(item.options)
        elif isinstance(item, v.Instance):
            stack.extend(c for _, c in interp.children(item))
    return out


def _normalise_weights(interp: Interp, layer: Any, how: str) -> None:
    """`spectral_norm(layer)`, also on each module of a narrowed loop over `modules()`."""
    if isinstance(layer, v.EachModule):
        targets = [m for m in module_tree(interp, layer.of) if isinstance(m, v.LayerSpec)
                   and (m.kind in layer.kinds if layer.kinds is not None
                        else catalogue.is_weighted(m.kind))] if layer.of is not None else []
    else:
        targets = [layer] if isinstance(layer, v.LayerSpec) else []
    for target in targets:
        interp.changed(target)
        target.args[catalogue.NORMALISED_BY] = how


def sequence(interp: Interp, inst: v.Instance) -> list[Any]:
    """The modules a Sequential subclass runs, in order. A member whose value is not known
    (`add_module("norm", Norm(c))` with `Norm` from an import that is not resolved) may be
    a module of the sequence: the model is then only partly read, not read without it."""
    if any(x is UNKNOWN or isinstance(x, v.Opaque) for x in inst.attrs.values()):
        interp.note("a member of a Sequential is not known")
    return [c for _, c in children(interp, inst)]


# torchvision's image transforms that a module may apply to a tensor: the function each one
# calls (see `catalogue.PASSTHROUGH_FUNCTIONS` and `catalogue.FUNCTIONAL`).
_IMAGE_TRANSFORMS = {"torchvision.transforms.CenterCrop": "center_crop",
                     "torchvision.transforms.Resize": "resize",
                     "torchvision.transforms.Pad": "pad"}


def call_torch(interp: Interp, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
    container = container_kind(qualname)
    if container == "Sequential":
        if args.open_pos:  # `nn.Sequential(*list(library_net.children())[:-2])`
            interp.note("a Sequential is built from values that are not known")
        return v.SeqSpec(list(sequential_children(args)), args.guessed_from,
                         open=bool(args.open_pos))
    if container == "ModuleList":
        items = interp.iterate(args.pos[0]) if args.pos else []
        if items is None:
            interp.note("a ModuleList is built from values that are not known")
            items = []
        return v.ListSpec(list(items), interp.guessed_from(args.pos[0]) if args.pos else None)
    if container == "ModuleDict":
        first = args.pos[0] if args.pos else {}
        if type(first) is list:
            first = dict(p for p in first if isinstance(p, tuple) and len(p) == 2)
        return v.DictSpec(dict(first) if type(first) is dict else {})
    if qualname in PARAMETER_CONTAINERS:
        # `nn.ParameterList([...])`: the parameters themselves, iterated, indexed and
        # zipped with a ModuleList as a list is (a dict for ParameterDict).
        given = args.pos[0] if args.pos else args.kw.get("values", args.kw.get("parameters"))
        if given is None:
            return [] if qualname.endswith("List") else {}
        if qualname.endswith("Dict"):
            return dict(given) if type(given) is dict else UNKNOWN
        items = interp.iterate(given)
        return UNKNOWN if items is None else list(items)
    kind = layer_kind(qualname)
    if kind:
        interp.built += 1
        bound = bind_layer_args(kind, args)
        for name in ("weight", "pos_weight"):
            if weighs_none(interp, args.kw.get(name)):
                bound[name] = None
        return v.LayerSpec(kind, bound, loc, f.owner)
    rectifier = catalogue.clamp_kind(qualname, args.pos[1:], args.kw)
    if rectifier and args.pos and isinstance(args.pos[0], v.Tensor):
        return interp.add_node(rectifier, (args.pos[0],), name=qualname.replace(
            "torch.nn.functional.", "F."), owner=f.owner, loc=loc, functional=True)
    if qualname in catalogue.FUNCTIONAL:
        kind = catalogue.FUNCTIONAL[qualname]
        normalised = None
        if catalogue.is_weighted(kind):
            weight = _weight_written(interp, qualname, f)
            if weight is not None and _fixed_weight(interp, weight, f):
                kind = catalogue.FIXED_FILTER
            elif weight is not None and _normalised_weight(weight, f):
                normalised = {catalogue.NORMALISED_BY: "division"}
        inputs = tensors_in(Args(args.pos[:1], {k: x for k, x in args.kw.items()
                                                if k == "input"}))
        if not inputs:
            return UNKNOWN
        inputs = inputs[:1]
        if kind in catalogue.DEFORMABLE:  # then its offsets and mask, which steer it
            inputs += [t for t in tensors_in(Args(args.pos[1:], args.kw))
                       if t.node != inputs[0].node]
        return interp.add_node(kind, inputs, name=qualname.replace(
            "torch.nn.functional.", "F."), owner=f.owner, args=normalised, loc=loc,
            functional=True)
    if qualname in catalogue.COMBINE_FUNCTIONS:
        tensors = tensors_in(args)
        kind = catalogue.COMBINE_FUNCTIONS[qualname]
        if kind == ir.MUL and len(tensors) == 1 and len(args.pos) == 2:
            factor = args.pos[1] if args.pos[0] is tensors[0] else args.pos[0]
            if type(factor) in (int, float):  # `torch.mul(out, 0.1)`
                return scaled(interp, tensors[0], factor)
        if len({t.node for t in tensors}) < 2:
            return tensors[0] if tensors else UNKNOWN
        return interp.add_node(kind, tensors, name=qualname, loc=loc,
                               args=scaled_branch(*tensors) if kind == ir.ADD
                               else None)
    if qualname.startswith("torch.") and qualname[6:] in catalogue.AXIS_MOVES \
            and args.pos and isinstance(args.pos[0], v.Tensor):
        return _axis_move(interp, args.pos[0], qualname[6:],
                          [*args.pos[1:], *args.kw.values()], f, loc)
    if qualname in catalogue.RANDOM_DRAWS:
        return v.NOISE
    if qualname in catalogue.PASSTHROUGH_FUNCTIONS and not tensors_in(args) and args.pos \
            and args.pos[0] is v.NOISE:
        return v.NOISE  # `Variable(eps)`, `torch.floor(mask)`
    if qualname in catalogue.PASSTHROUGH_FUNCTIONS:
        tensors = tensors_in(args)
        if tensors and qualname in statistics.FUNCTIONS:
            return statistics.statistic(interp, tensors[0], statistics.FUNCTIONS[qualname])
        if tensors and qualname in statistics.INVERTING:
            return statistics.inverted(interp, tensors[0])
        return tensors[0] if tensors else UNKNOWN
    if qualname in SPLITS and args.pos and isinstance(args.pos[0], v.Tensor):
        return args.pos[0]  # each part comes from the same tensor (as `x.split(...)`)
    if (qualname in catalogue.SHAPED_LIKE or qualname in catalogue.TENSOR_COPIES) \
            and args.pos and isinstance(args.pos[0], v.Tensor):
        return args.pos[0]
    if qualname in catalogue.WEIGHT_NORMALISERS and args.pos:
        _normalise_weights(interp, args.pos[0], catalogue.WEIGHT_NORMALISERS[qualname])
        return args.pos[0]  # in place: the module it was given
    if qualname.startswith("torch.nn.init.") and args.pos \
            and isinstance(args.pos[0], v.ParamRef):
        method = INIT_FUNCTIONS.get(qualname.rsplit(".", 1)[-1], "scaled")
        interp.record_init(args.pos[0], method, Args(args.pos[1:], args.kw), f, loc)
        return args.pos[0]
    image_function = _IMAGE_TRANSFORMS.get(qualname.replace(".transforms.v2.", ".transforms."))
    if image_function is not None:
        # `CenterCrop((h, w))` made in a forward and applied to a feature map (a U-Net
        # cropping what its encoder kept): its function, on what it is given.
        return v.PartialVal(v.Ref(f"torchvision.transforms.functional.{image_function}"))
    found = configs.library_call(qualname, args, interp.file_bases)
    if found is not configs.ABSENT:
        return found
    if qualname == "torch.linspace":
        # `[x.item() for x in torch.linspace(0, drop_path_rate, depth)]`: per-block rates.
        return _linspace(args)
    if qualname in ("collections.namedtuple", "typing.NamedTuple"):
        return v.Builtin("namedtuple")  # its instances: tuples of what they are built from
    if qualname == "functools.partial" and args.pos and not args.open_pos:
        return v.PartialVal(args.pos[0], tuple(args.pos[1:]), dict(args.kw))
    if qualname in ("collections.OrderedDict", "typing.OrderedDict"):
        from cnnlint.extract.builtins import builtin_dict

        return builtin_dict(interp, args)
    from cnnlint.extract.builtins import (LIBRARY_TESTS, MATH_FUNCTIONS, NOT_DATA,
                                          REGEX_FUNCTIONS, data_copy)

    test = LIBRARY_TESTS.get(qualname)
    if test is not None:
        return test(args)
    pure = MATH_FUNCTIONS.get(qualname) or REGEX_FUNCTIONS.get(qualname)
    if pure is not None:
        return pure(interp, args)
    if qualname in ("copy.deepcopy", "copy.copy") and len(args.pos) == 1 and not args.kw \
            and not args.open_pos and not args.open_kw:
        copied = data_copy(args.pos[0], deep=qualname == "copy.deepcopy")
        if copied is not NOT_DATA:
            return copied
    return interp.unknown_call(args, f"`{qualname}` is not known")


def _weight_written(interp: Interp, qualname: str, f: Frame) -> tuple[Any, ...] | None:
    """The expression a functional conv or linear being called is given as its weight, as
    written in a module's own code; None for another call or a weight not written out."""
    if interp.current_call is None:
        return None
    expr, frame = interp.current_call
    if frame is not f or type(f.self_obj) is not v.Instance \
            or expr[1][-1] != qualname.rsplit(".", 1)[-1]:
        return None  # not this call, as written in a module's own code
    positional = [a for a in expr[2] if a[0] != "*"]
    if len(positional) != len(expr[2]):
        return None
    return positional[1] if len(positional) > 1 else next(
        (value for key, value in expr[3] if key == "weight"), None)


def _fixed_weight(interp: Interp, weight: tuple[Any, ...], f: Frame) -> bool:
    """Whether the weight is a buffer of the module whose forward calls it (`F.conv2d(x,
    self.filt, groups=c)`: the fixed binomial filter of anti-aliased downsampling), which no
    optimizer trains."""
    return weight[0] == "attr" and weight[1] == ("name", "self") \
        and weight[2] in interp.buffers.get(id(f.self_obj.cls), ())


def _normalised_weight(weight: tuple[Any, ...], f: Frame) -> bool:
    """Whether the weight is the module's own divided by a norm (`self.weight / sigma`), as
    written or as a method of the module returns it (`self.sn_weights()`): spectral
    normalisation or weight standardisation written by hand."""
    if weight[0] == "call" and weight[1][0] == "attr" and weight[1][1] == ("name", "self"):
        method = f.self_obj.cls.lookup(weight[1][2])
        if not isinstance(method, v.FuncVal):
            return False
        return any(stmt[0] == "return" and _divides_own_weight(stmt[1])
                   for stmt in method.node[3])
    return _divides_own_weight(weight)


def _divides_own_weight(expr: tuple[Any, ...]) -> bool:
    return expr[0] == "binop" and expr[1] == "/" and expr[2][0] == "attr" \
        and expr[2][1] == ("name", "self") and expr[2][2] == "weight"


def _linspace(args: Args) -> Any:
    numbers = [*args.pos[:3]] + [args.kw[k] for k in ("start", "end", "steps")[len(args.pos):]
                                 if k in args.kw]
    if len(numbers) != 3 or not all(type(x) in (int, float) for x in numbers) \
            or type(numbers[2]) is not int or not 0 < numbers[2] <= 10_000:
        return UNKNOWN
    start, end, steps = numbers
    if steps == 1:
        return [float(start)]
    return [start + (end - start) * i / (steps - 1) for i in range(steps)]


SPLITS = frozenset({"torch.split", "torch.chunk", "torch.unbind", "torch.tensor_split"})


def knows(qualname: str) -> bool:
    """True for the torch calls `call_torch` gives a meaning: layers, containers,
    functional ops, tensor combinations, nn.init and OrderedDict."""
    return bool(container_kind(qualname) or layer_kind(qualname)
                or qualname in catalogue.FUNCTIONAL or qualname in catalogue.COMBINE_FUNCTIONS
                or qualname in catalogue.PASSTHROUGH_FUNCTIONS or qualname in SPLITS
                or qualname in catalogue.WEIGHT_NORMALISERS
                or qualname.startswith("torch.") and qualname[6:] in catalogue.AXIS_MOVES
                or qualname.startswith("torch.nn.init.")
                or qualname in ("collections.OrderedDict", "typing.OrderedDict",
                                "inspect.isfunction", "inspect.isclass")
                or qualname.startswith("math.") and _pure_math(qualname))


def _pure_math(qualname: str) -> bool:
    from cnnlint.extract.builtins import MATH_FUNCTIONS

    return qualname in MATH_FUNCTIONS


def apply_torch_layer(interp: Interp, inst: v.Instance, layer: v.LayerSpec, args: Args) -> Any:
    """`super().forward(x)` in a subclass of a torch layer: that layer, at the instance's
    path and built where the instance was."""
    return _run_layer(interp, layer, args, interp.paths.get(id(inst), ""))


APPLIED_TO_UNKNOWN = "a layer is applied to a value that is not known"


def _run_layer(interp: Interp, layer: v.LayerSpec, args: Args, path: str) -> Any:
    inputs = tensors_in(args)
    if not inputs:
        # The layer runs, on something the reader lost track of: the graph lacks it, so
        # rules about the whole network must not judge what is left.
        interp.note(APPLIED_TO_UNKNOWN)
        return UNKNOWN
    return interp.add_node(layer.kind, inputs, name=path, owner=layer.scope, args=layer.args,
                           loc=layer.loc)


def apply_module(interp: Interp, module: Any, args: Args, f: Frame, loc: Loc | None = None) -> Any:
    """Call a module on tensors (its forward)."""
    if isinstance(module, v.LayerSpec):
        return _run_layer(interp, module, args, interp.paths.get(id(module), ""))
    if isinstance(module, v.SeqSpec):
        if module.open:  # its known children are not all it runs: no path goes through it
            return interp.unknown_call(args, "a Sequential is built from values that are "
                                             "not known")
        return chain(interp, [c for _, c in module.children], args, f)
    if isinstance(module, v.Choice):
        results = []
        for option in module.options:
            if option is None:
                results.append(args.pos[0] if args.pos else UNKNOWN)
            else:
                results.append(interp.apply(option, args, f))
        merged = results[0]
        for other in results[1:]:
            merged = interp.merge(merged, other, ir.CHOICE)
        return merged
    if isinstance(module, v.Instance):
        forward = module.cls.lookup("forward")
        inputs = tensors_in(args)
        if len(inputs) == 1 and _normalises_by_hand(module):
            return interp.add_node(HAND_NORM, inputs, name=interp.paths.get(id(module), ""),
                                   owner=module.cls.name,
                                   loc=module.cls.scope.loc(module.cls.node[5]))
        wrapped = _weights_normalised_by(module)
        if wrapped is not None and catalogue.NORMALISED_BY not in wrapped.args:
            _normalise_weights(interp, wrapped, module.cls.name)
        if isinstance(forward, v.FuncVal):
            # A `@staticmethod` forward (`SiLU.forward(x)`) takes no `self`.
            forward = replace(forward, bound=None if forward.decorated("staticmethod")
                              else module)
            outer = interp.within
            path = interp.paths.get(id(module))
            interp.within = path if path is not None else f"#{id(module)}"
            try:
                memo = interp.forward_memo()
                if memo is not None:
                    return _forward_reused(interp, memo, module, forward, args)
                return interp.call_function(forward, args)
            finally:
                interp.within = outer
        if interp.container_base(module.cls) == "Sequential":
            return chain(interp, sequence(interp, module), args, f)
        return interp.unknown_call(args, f"`{module.cls.name}` has no readable forward")
    return interp.unknown_call(args, "a module that is not known is called")


# A project's own normalisation layer (`class LayerNorm(nn.Module)` computing the mean and
# variance by hand, `PixelNorm`, `RMSNorm`): named for a norm, holding weights or buffers but
# no layers. It reads as a layer norm (HAND_NORM), as normalisation written in a forward does.
_NORM_NAME = re.compile(r"norm(?!al)", re.IGNORECASE)


def _normalises_by_hand(module: v.Instance) -> bool:
    """A plain `nn.Module` named for a norm, with no layers in it. One derived from torch's
    own norms (`_BatchNorm`) is read through its forward (`F.batch_norm`), as a BatchNorm."""
    return bool(_NORM_NAME.search(module.cls.name)) \
        and all(base in MODULE_BASES for base in module.cls.library_bases()) \
        and not any(isinstance(x, v.MODULE_VALUES) for x in module.attrs.values())


def _weights_normalised_by(module: v.Instance) -> v.LayerSpec | None:
    """The layer a project's own weight-normalising wrapper holds (`SpectralNorm(conv)`
    dividing the conv's weight by its largest singular value before calling it): a module
    named for a norm whose one module is a weighted layer."""
    if not _NORM_NAME.search(module.cls.name):
        return None
    held = [x for x in module.attrs.values() if isinstance(x, v.MODULE_VALUES)]
    if len(held) == 1 and type(held[0]) is v.LayerSpec and catalogue.is_weighted(held[0].kind):
        return held[0]
    return None


def _forward_reused(interp: Interp, memo: ForwardMemo, module: v.Instance, forward: v.FuncVal,
                    args: Args) -> Any:
    """A block's forward on fresh tensors, replayed when a block of the same structure ran
    before (see memo.py); recorded otherwise."""
    call = lambda: interp.call_function(forward, args)  # noqa: E731
    prefix = interp.paths.get(id(module))
    given = input_pattern(args.pos) if not (
        args.kw or args.open_pos or args.open_kw) else None
    if prefix is None or given is None or not given[1] \
            or interp.at_path.get(prefix) is not module \
            or interp.statistics and any(statistics.is_statistic(interp, x) for x in given[1]) \
            or any(x.scale != 1 for x in given[1]):
        # (A module sharing its path with another, the options of a choice: the layers a
        # replay finds by path would be the other's. A statistic given (a style's mean)
        # shares its tensor's node, but not what the block makes of it; so does a damped
        # branch, which an addition in the block marks.)
        return call()
    printed = fingerprint(module, interp.prints) if module.torch_layer is None else NO_PRINT
    if printed is NO_PRINT:  # (a torch layer's subclass: one layer, named by its own path)
        return call()
    pattern, tensors = given
    key = interp.in_state((printed, pattern, shared_within(module) if interp.shares else ()))
    found = memo.get(key)
    if found is None:
        return call()
    if found is not UNSEEN:
        placed = layers_of(found, prefix, interp.at_path, module, interp.paths)
        if placed is None or interp.depth + found.depth >= MAX_CALL_DEPTH \
                or not interp.affords(found.steps):
            return call()
        interp.charge(found.steps)
        for message in found.notes:
            interp.note(message)
        return replay(found, placed, interp.add_node_on, tensors)
    start, steps, noted = len(interp.graph), interp.steps, len(interp.noted)
    mutations, inits, deepest = interp.mutations, len(interp.inits), interp.deepest
    lists = lists_held(args.pos)
    interp.deepest = interp.depth
    result, written = interp.tracking_writes(call)
    used = interp.deepest - interp.depth + 1
    interp.deepest = max(deepest, interp.deepest)
    # (A forward that writes to its modules' own lists and dicts, a cache it fills on the
    # first call, reads differently the next time: it is read each time.)
    recorded = record(interp.graph, start, [t.node for t in tensors], prefix, result, module,
                      interp.at_path) \
        if interp.mutations == mutations and len(interp.inits) == inits \
        and unchanged(lists) and not statistics.returned(interp, result) \
        and not (written and (holds_any(module, written) or interp.writes_module_table(written))) \
        else None
    memo.table[key] = None if recorded is None else Fragment(
        recorded[0], recorded[1], interp.steps - steps, tuple(interp.noted[noted:]), used)
    return result


def weighs_none(interp: Interp, weight: Any) -> bool:
    """A loss weight of 1 for every class (`torch.ones(n)`): it weighs none of them."""
    return isinstance(weight, v.Tensor) and interp.graph[weight.node].name in (
        "torch.ones", "torch.ones_like")


def added_module(args: Args) -> tuple[Any, Any] | None:
    """(name, module) of `add_module(name, module)` or `register_module(...)`, given by
    position or by keyword; None when either is missing."""
    name = args.pos[0] if args.pos else args.kw.get("name", _MISSING)
    module = args.pos[1] if len(args.pos) > 1 else args.kw.get("module", _MISSING)
    return None if name is _MISSING or module is _MISSING else (name, module)


_MISSING = object()


def unknown_module_method(interp: Interp, args: Args, why: str) -> Any:
    """A method the reader does not know on a module or container. Handed a module (an
    `insert(0, Block())`), it may change the model's structure: the model is partly read."""
    if any(isinstance(x, v.MODULE_VALUES) for x in (*args.pos, *args.kw.values())):
        interp.note(f"{why}, and it is given a module")
    return interp.unknown_call(args, why)


def submodule_name(interp: Interp, name: Any, held: int) -> str:
    """The name `add_module(name, module)` registers. One that is not known still adds
    the module, in its place, under `?N` (the model's structure stays whole; its path
    says the name was not read), and the model is marked partly read."""
    if type(name) is str:
        return name
    interp.note("a submodule is added under a name that is not known")
    return f"?{held}"


def chain(interp: Interp, modules: list[Any], args: Args, f: Frame) -> Any:
    if not modules:
        return args.pos[0] if args.pos else UNKNOWN
    out = interp.apply(modules[0], args, f)
    for module in modules[1:]:
        out = interp.apply(module, Args([out]), f)
    return out


def record_init(interp: Interp, param: v.ParamRef, method: str, args: Args, f: Frame,
                loc: Loc | None) -> None:
    """Remember a weight initialisation: its method and its scale (the constant, the
    std of a normal, the bound of a uniform), when known."""
    value = init_scale(method, args)
    owner = param.owner
    if isinstance(owner, v.EachModule) and owner.some:
        return  # applied to some modules, which ones not known
    if isinstance(owner, v.LayerSpec):
        kinds: tuple[str, ...] = (owner.kind,)
    else:
        kinds = owner.kinds or ()
    if method == "zeros":
        method, value = "constant", 0.0
    elif method == "ones":
        method, value = "constant", 1.0
    layer_loc = layer_path = None
    if isinstance(owner, v.LayerSpec):
        # Where the layer is built, and which of the layers built there it is: a helper's
        # one line builds every conv of a head, and `self.pred[-1]` is the last of them.
        layer_loc = owner.loc
        if f.self_obj is not None:
            layer_path = v.path_to(f.self_obj, owner)
    interp.inits.append(ir.WeightInit(
        target=param.name, method=method, value=value, layer_kinds=kinds, loc=loc,
        scope=f.owner, layer_loc=layer_loc, layer_path=layer_path or ""))


# Hooks that run around a module's forward: one that returns a value replaces what the
# module is given (a pre-hook) or gives (a forward hook), a U-Net's skip concatenation
# written as a hook. A backward hook changes no forward pass.
FORWARD_HOOKS = frozenset({"register_forward_hook", "register_forward_pre_hook"})
HOOKED = "a forward hook may change what a module is given or gives"


def forward_hook(interp: Interp, args: Args) -> Any:
    """`module.register_forward_hook(hook)`: the graph read from forward alone is not the
    model's when the hook returns anything (a function with no `return` of a value changes
    nothing: one that only records activations, as does a lambda that only appends them to a
    list). Gives the handle, not known."""
    hook = args.pos[0] if args.pos else args.kw.get("hook", UNKNOWN)
    if not (type(hook) is v.FuncVal and hook.node[0] == "def"
            and not _returns_a_value(hook.node[3])):
        interp.note(HOOKED)
    return UNKNOWN


# Container methods that return None: a lambda hook that is one of these calls records.
_RECORDING = frozenset({"append", "extend", "update", "add"})


def _returns_a_value(body: tuple[Any, ...]) -> bool:
    return any(e and e[0] == "return" and len(e) == 3 and e[1] != ("const", None)
               and not (e[1][0] == "call" and e[1][1][0] == "attr"
                        and e[1][1][2] in _RECORDING)
               for e in walk(body))


def module_method(interp: Interp, obj: v.Instance, name: str, args: Args, f: Frame) -> Any:
    if name in ("modules", "children") and not args.pos:
        return [v.EachModule(of=obj)]
    if name == "named_modules" and not args.pos:
        # An init loop (`for name, m in self.named_modules():`): each module, its name unknown.
        return [(v.UNKNOWN, v.EachModule(of=obj))]
    if name == "apply" and args.pos:
        interp.call(args.pos[0], Args([v.EachModule(of=obj)]), f, None)
        return obj
    if name in ("add_module", "register_module") and (added := added_module(args)):
        obj.attrs[submodule_name(interp, added[0], len(obj.attrs))] = added[1]
        return None
    if name in ("append",) and args.pos:
        obj.attrs[str(len(interp.children(obj)))] = args.pos[0]
        return obj
    if name in ("extend",) and args.pos:
        for item in interp.iterate(args.pos[0]) or []:
            obj.attrs[str(len(interp.children(obj)))] = item
        return obj
    if name in ("named_parameters", "parameters") and not args.pos:
        # An init loop in the constructor (`for name, p in self.named_parameters():`).
        found = _parameters(interp, obj)
        return found if name == "named_parameters" else [p for _, p in found]
    if name in ("items", "values", "keys", "children", "named_children"):
        pairs = interp.children(obj)
        if name in ("values", "children"):
            return [c for _, c in pairs]
        if name == "keys":
            return [k for k, _ in pairs]
        return [tuple(p) for p in pairs]
    if name == "forward":
        return interp.apply(obj, args, f)
    if name == "register_buffer" and type(obj) is v.Instance and args.pos \
            and type(args.pos[0]) is str:
        interp.buffers.setdefault(id(obj.cls), set()).add(args.pos[0])
    if name in RETURNS_SELF:
        return obj
    if name in ("register_buffer", "register_parameter"):
        return None
    return unknown_module_method(interp, args, f"`.{name}()` is not known")


# Module methods that move or cast a module and hand it back (`net.type(torch.cuda.
# FloatTensor)`, `self.head.to(device)(x)` applies it); with the mode setters, every method
# that hands the module itself back.
CASTS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type",
                   "requires_grad_"})
RETURNS_SELF = CASTS | {"train", "eval"}


# Layer families that hold a weight (and, unless built with bias=False, a bias).
_WITH_PARAMETERS = frozenset({"conv", "linear", "batchnorm", "instancenorm", "groupnorm",
                              "layernorm", "embedding"})


def _parameters(interp: Interp, module: Any, prefix: str = "", depth: int = 0
                ) -> list[tuple[str, v.ParamRef]]:
    """(dotted name, parameter) of every layer inside `module`, in definition order."""
    out: list[tuple[str, v.ParamRef]] = []
    if isinstance(module, v.LayerSpec):
        if catalogue.family(module.kind) in _WITH_PARAMETERS:
            for pname in ("weight", "bias"):
                if pname == "weight" or module.args.get("bias", True) is not False:
                    out.append((f"{prefix}{pname}", v.ParamRef(module, pname)))
        return out
    if depth > 64:
        return out
    if isinstance(module, v.Instance):
        pairs: Any = interp.children(module)
    elif isinstance(module, v.SeqSpec):
        pairs = module.children
    elif isinstance(module, v.ListSpec):
        pairs = [(str(i), c) for i, c in enumerate(module.children)]
    elif isinstance(module, v.DictSpec):
        pairs = list(module.children.items())
    else:
        return out
    for key, child in pairs:
        out.extend(_parameters(interp, child, f"{prefix}{key}.", depth + 1))
    return out


def tensor_method(interp: Interp, t: v.Tensor, name: str, args: Args, f: Frame,
                   loc: Loc | None) -> Any:
    if name in catalogue.AXIS_MOVES:
        return _axis_move(interp, t, name, [*args.pos, *args.kw.values()], f, loc)
    if name in catalogue.RANDOM_FILLS:
        return v.NOISE  # `x.new_empty(shape).bernoulli_(keep)`: random numbers, not x
    kind = catalogue.TENSOR_METHOD_KIND.get(name) or catalogue.clamp_kind(
        name, args.pos, args.kw)
    if kind:
        return interp.add_node(kind, (t,), name=f".{name}()",
                             owner=f.owner, loc=loc, functional=True)
    if name in statistics.METHODS:
        return statistics.statistic(interp, t, statistics.METHODS[name])
    if name in statistics.INVERTING:
        return statistics.inverted(interp, t)
    if name in catalogue.COMBINE_METHODS:
        others = tensors_in(args)
        factor: Any = args.pos[0] if len(args.pos) == 1 and not args.kw else None
        multiplies = name[:3] == "mul"
        if name in _SCALING and type(factor) in (int, float) and (factor or multiplies):
            # `out.mul(0.1)`; in place (`mul_`), every name holding `out` holds the product
            product = scaled(interp, t, factor if multiplies else 1 / factor)
            if name.endswith("_"):
                t.scale = product.scale
                return t
            return product
        if others and name in _ARITHMETIC and statistics.is_statistic(interp, others[0]):
            # `x.sub(mean).div(std)`, as `(x - mean) / std`
            return _result_of(interp, t, name, interp.binop(_ARITHMETIC[name], t, others[0]))
        if not others or others[0].node == t.node:
            return t
        kind = catalogue.COMBINE_METHODS[name]
        return _result_of(interp, t, name, interp.add_node(
            kind, (t, others[0]), name=f".{name}()", loc=loc,
            args=scaled_branch(t, others[0]) if kind == ir.ADD else None))
    if name in ("masked_fill", "masked_fill_"):
        # Positions set to a value (padding zeroed): a product by a 0/1 mask, not the same
        # tensor (a conv's bias before it is no longer one constant a norm after it removes).
        return _result_of(interp, t, name, interp.add_node(
            ir.MUL, (t, *tensors_in(Args(args.pos[:1]))), name=f".{name}()", owner=f.owner,
            loc=loc, functional=True))
    if name in catalogue.PASSTHROUGH_METHODS:
        return t
    if name in ("chunk", "split", "unbind"):
        return t  # each part comes from the same tensor
    if name in ("size", "dim", "numel", "item", "tolist"):
        return UNKNOWN
    return t


_SCALING = frozenset({"mul", "mul_", "div", "div_"})
# Tensor methods that are an operator (`x.sub(m)` is `x - m`).
_ARITHMETIC = {"sub": "-", "sub_": "-", "div": "/", "div_": "/"}


def _result_of(interp: Interp, t: v.Tensor, name: str, result: Any) -> Any:
    """What a tensor method computing `result` gives back. In place (`out.add_(identity)`,
    `x.add_(noise)`, `masked_fill_`), every name holding the tensor holds the result now,
    and a block's forward that does it is not replayed from the memo."""
    if name.endswith("_") and isinstance(result, v.Tensor):
        t.node = result.node
        interp.mutations += 1
        return t
    return result


def _axis_move(interp: Interp, t: v.Tensor, name: str, dims: list[Any], f: Frame,
               loc: Loc | None) -> Any:
    """`x.permute(0, 2, 3, 1)`: a node when the channel axis may move, else `x` itself."""
    if not catalogue.moves_channel_axis(name, dims):
        return t
    return interp.add_node(ir.PERMUTE, (t,), name=f".{name}()", owner=f.owner, loc=loc,
                           functional=True)


@dataclass(eq=False)
class Found:
    """`classname.find("Conv")`: compared with -1 it narrows the module kinds."""

    module: v.EachModule
    needle: str


# torch.nn.init functions and in-place tensor methods, by what they do to the values.
INIT_FUNCTIONS = {
    "constant_": "constant", "zeros_": "zeros", "ones_": "ones", "normal_": "normal",
    "uniform_": "uniform", "trunc_normal_": "trunc_normal",
}
TENSOR_INIT_METHODS = {
    "fill_": "constant", "zero_": "zeros", "normal_": "normal", "uniform_": "uniform",
}


def init_scale(method: str, args: Args) -> float | None:
    def arg(index: int, name: str, default: Any) -> Any:
        if len(args.pos) > index:
            return args.pos[index]
        return args.kw.get(name, default)

    def number(x: Any) -> float | None:
        return float(x) if type(x) in (int, float) else None

    if method == "constant":
        return number(arg(0, "val", arg(0, "value", None)))
    if method in ("normal", "trunc_normal"):
        return number(arg(1, "std", 1.0))
    if method == "uniform":
        low, high = number(arg(0, "a", arg(0, "from", 0.0))), number(arg(1, "b", arg(1, "to", 1.0)))
        return None if low is None or high is None else max(abs(low), abs(high))
    return None


def kinds_named(name: str, exact: bool = False) -> tuple[str, ...]:
    """Layer kinds a class-name test selects: `Conv2d`, `_ConvNd`, or DCGAN's "Conv"."""
    if exact and name in catalogue.FAMILY_OF:
        return (name,)
    stripped = name.strip("_").replace("Nd", "")
    if stripped.startswith("BatchNorm") or stripped == "_BatchNorm":
        return tuple(k for k, fam in catalogue.FAMILY_OF.items() if fam == "batchnorm")
    return tuple(k for k in catalogue.FAMILY_OF if stripped and stripped in k) or (name,)


def class_kinds(cls: Any) -> tuple[str, ...]:
    """Layer kinds a class names in a test on each module (`isinstance(m, nn.Conv2d)`,
    `type(m) == nn.Linear`): a torch class's kinds, or a project class by its name."""
    if isinstance(cls, v.Ref):
        return kinds_named(cls.qualname.rsplit(".", 1)[-1], exact=True)
    if isinstance(cls, v.ClassVal):
        return (cls.name,)
    return ()


def layer_kind(qualname: str) -> str | None:
    if not qualname.startswith("torch.nn."):
        return catalogue.LIBRARY_LAYERS.get(qualname)
    last = qualname.rsplit(".", 1)[-1]
    last = catalogue.KIND_ALIASES.get(last, last)
    return last if last in catalogue.FAMILY_OF and last[:1].isupper() else None


PARAMETER_CONTAINERS = frozenset({"torch.nn.ParameterList", "torch.nn.ParameterDict",
                                  "torch.nn.modules.container.ParameterList",
                                  "torch.nn.modules.container.ParameterDict"})


def container_kind(qualname: str) -> str | None:
    if not qualname.startswith("torch.nn."):
        return None
    last = qualname.rsplit(".", 1)[-1]
    return last if last in catalogue.CONTAINERS else None


def sequential_children(args: Args) -> Iterable[tuple[str, Any]]:
    if len(args.pos) == 1 and type(args.pos[0]) is dict:  # nn.Sequential(OrderedDict(...))
        return [(str(k), x) for k, x in args.pos[0].items()]
    return [(str(i), x) for i, x in enumerate(args.pos)]


def bind_layer_args(kind: str, args: Args) -> dict[str, Any]:
    """A layer's constructor arguments by name; unknown values are kept as UNKNOWN."""
    signature = catalogue.SIGNATURES.get(kind, ())
    bound: dict[str, Any] = {}
    for pname, value in zip(signature, args.pos):
        bound[pname] = value
    bound.update(args.kw)
    if args.open_pos or args.open_kw:
        for pname in signature:
            bound.setdefault(pname, UNKNOWN)
    return {k: (x if v.is_const(x) else UNKNOWN) for k, x in bound.items()}


def scaled(interp: Interp, t: v.Tensor, factor: float) -> v.Tensor:
    """`t * factor`: `t` itself, or where the product scales `t` down by a constant that can
    damp a residual branch, a tensor on the same node that says so. (A statistic keeps its
    identity: it is known by it.)"""
    scale = t.scale * factor
    if 0 < scale <= catalogue.MAX_BRANCH_SCALE and not interp.statistics.get(id(t)):
        return v.Tensor(t.node, scale)
    return t if t.scale == 1 else v.Tensor(t.node)


_SCALED_ARGS: dict[float, dict[str, object]] = {}


def scaled_branch(*tensors: v.Tensor) -> dict[str, object] | None:
    """The arguments of an addition of `tensors` when one of them is a damped branch: one
    table per factor (a node's table is part of what makes two additions the same node)."""
    factors = [t.scale for t in tensors if t.scale != 1]
    if not factors:
        return None
    factor = min(factors)
    return _SCALED_ARGS.setdefault(factor, {catalogue.SCALED_BRANCH: factor})
