"""Training facts: what a script does to train a model, read as statically as the model.

Each file of the run gets a *script pass*: its module body runs (with `__name__` set to
"__main__", so `main()` is called) through the same abstract interpreter, extended here with
what training code means: DataLoaders, optimizers, schedulers, losses, samplers and
transforms become recorded objects; `argparse` defaults and config values resolve (and
remember where they came from); `model.train()`/`eval()`, `torch.no_grad()`,
`optimizer.step()`, `zero_grad()` and `loss.backward()` become events tied to the loops they
run in. An epoch loop (`for epoch in range(E)`) is recognised by the training that happens
in it and runs twice symbolically, not E times: the second pass shows what state the first
one leaves behind (a model left in eval mode). The model's forward is inlined into the
script's graph, so a softmax at the end of `forward` in model.py meets the
CrossEntropyLoss in train.py.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from cnnlint import catalogue, ir
from cnnlint.extract import values as v
from cnnlint.extract.interp import (
    Args, FileScope, Frame, Interp, TooComplex, describe, tensors_in,
)
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import ErrorEntry, Loc

# Optimizers: positional parameter names, and torch's default learning rate.
_OPTIMIZERS: dict[str, tuple[tuple[str, ...], float]] = {
    "SGD": (("params", "lr", "momentum", "dampening", "weight_decay", "nesterov"), 1e-3),
    "Adam": (("params", "lr", "betas", "eps", "weight_decay", "amsgrad"), 1e-3),
    "AdamW": (("params", "lr", "betas", "eps", "weight_decay", "amsgrad"), 1e-3),
    "NAdam": (("params", "lr", "betas", "eps", "weight_decay"), 2e-3),
    "RAdam": (("params", "lr", "betas", "eps", "weight_decay"), 1e-3),
    "Adamax": (("params", "lr", "betas", "eps", "weight_decay"), 2e-3),
    "RMSprop": (("params", "lr", "alpha", "eps", "weight_decay", "momentum", "centered"), 1e-2),
    "Adagrad": (("params", "lr", "lr_decay", "weight_decay"), 1e-2),
    "Adadelta": (("params", "lr", "rho", "eps", "weight_decay"), 1.0),
}
_LOADER_PARAMS = ("dataset", "batch_size", "shuffle", "sampler", "batch_sampler")
_EVAL_NAME = re.compile(r"val|valid|test|eval|dev|holdout", re.IGNORECASE)
_TRAIN_NAME = re.compile(r"train", re.IGNORECASE)
_METRIC_NAME = re.compile(r"best|val|acc|loss|metric|score|dice|auc|f1", re.IGNORECASE)
_AUGMENTATIONS = re.compile(
    r"^(Random|RandAugment|AutoAugment|TrivialAugment|AugMix|ColorJitter|ElasticTransform|"
    r"HorizontalFlip|VerticalFlip|Flip|ShiftScaleRotate|Rotate|Affine|CoarseDropout|Cutout|"
    r"GaussNoise|GaussianBlur|Mixup|CutMix|RandomErasing|Transpose|RandomResizedCrop)")
_LIGHTNING = ("pytorch_lightning", "lightning")
class _Absent:
    pass


_ABSENT: Any = _Absent()  # an argument the call does not pass
_ABSENT_DEFAULT: Any = _Absent()  # `setting()` was given no default

_EVAL_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.set_grad_enabled"})


@dataclass(eq=False)
class TrainObj:
    """A training object the script builds: a loader, an optimizer, a parser, ..."""

    kind: str  # loader | optimizer | scheduler | sampler | transform | dataset | trainer |
    #            callback | parser | namespace | grad_context
    name: str  # its class name: "DataLoader", "SGD", "Compose"
    loc: Loc | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Loop:
    id: int
    kind: str  # "range" | "loader" | "other"
    loc: Loc | None
    symbol: str
    count: int | None = None
    origin: str = ""
    loader: TrainObj | None = None
    training: bool = False  # a step/backward/fit happened inside
    epoch: bool = False


@dataclass
class _Collector:
    """Everything one script pass saw."""

    path: str
    loaders: list[TrainObj] = field(default_factory=list)
    optimizers: list[ir.Optimizer] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)
    losses: list[ir.LossUse] = field(default_factory=list)
    resampling: list[str] = field(default_factory=list)
    focal: bool = False
    models: dict[int, str] = field(default_factory=dict)  # id(instance) -> name
    model_names: list[str] = field(default_factory=list)
    model_locs: dict[str, Loc] = field(default_factory=dict)
    epoch_loops: list[_Loop] = field(default_factory=list)
    train_loader_ids: set[int] = field(default_factory=set)
    first_step: tuple[Loc, str] | None = None
    manual_lr: bool = False
    validation: bool = False
    early_stopping: bool = False
    best_checkpoint: bool = False
    lightning: bool = False
    trainer_epochs: ir.Setting | None = None
    trainer_loc: Loc | None = None
    eval_mode_problems: list[tuple[Loc, str, str, list[str]]] = field(default_factory=list)
    # (loop ids, loc, accumulating) of optimizer steps; loop ids holding a gradient reset.
    steps: list[tuple[tuple[int, ...], Loc | None, bool]] = field(default_factory=list)
    resets: set[int] = field(default_factory=set)
    trained: bool = False

    @property
    def active(self) -> bool:
        return self.trained or bool(self.optimizers) or self.lightning


class TrainingInterp(Interp):
    """The interpreter with training semantics. Outside a script pass it behaves exactly
    like the model reader (the collector is None)."""

    def __init__(self, scopes: Any) -> None:
        super().__init__(scopes)
        self.collector: _Collector | None = None
        self.loops: list[_Loop] = []
        self.grad_off = 0  # inside no_grad / inference_mode
        self.accumulating = 0  # inside `if step % k == 0:`
        self.conditions: list[tuple[Any, ...]] = []  # tests of the ifs we are inside
        self.executed: set[int] = set()  # id() of function bodies run in some pass
        self.modes: dict[int, Any] = {}  # id(module) -> True (train) / False (eval)
        # Origins of the arguments of the call being made, for the callee's parameters.
        self.passing: tuple[list[str], dict[str, str]] | None = None
        self._loop_ids = 0

    # --- helpers -------------------------------------------------------------------------

    def origin(self, expr: tuple[Any, ...] | None, f: Frame) -> str:
        """Where an argument's value came from, for messages."""
        if expr is None:
            return "default"
        tag = expr[0]
        if tag == "const":
            return "literal"
        if tag == "name":
            if expr[1] in f.origins:
                return f.origins[expr[1]]
            if expr[1] in f.scope.globals and f.locals is not f.scope.globals:
                return f"module constant `{expr[1]}`"
            return f"`{expr[1]}`"
        if tag in ("attr", "sub") and _plain_path(expr[1]):
            base = self.eval(expr[1], f)
            if isinstance(base, TrainObj) and base.kind == "namespace":
                if base.name == "argparse" and tag == "attr":
                    return f"argparse default of `--{expr[2].replace('_', '-')}`"
                return f"`{_text(expr)}` ({base.name})"
            if isinstance(base, v.ModuleVal):
                return f"`{_text(expr)}` in {base.scope.path}"
            if isinstance(base, v.Instance) and self.is_module_class(base.cls):
                return f"`{_text(expr)}`"
            if isinstance(base, (dict, v.Instance, v.ClassVal)):
                return f"config `{_text(expr)}`"
        return "expression"

    def _arg(self, args: Args, index: int, name: str,
             f: Frame | None = None) -> tuple[Any, str]:
        """An argument by position or keyword, with its origin ("default" when absent)."""
        pos_exprs, kw_exprs = self._call_exprs()
        if name in args.kw:
            expr = kw_exprs.get(name)
            return args.kw[name], self.origin(expr, f) if f is not None and expr else "keyword"
        if len(args.pos) > index:
            expr = pos_exprs[index] if index < len(pos_exprs) else None
            return args.pos[index], self.origin(expr, f) if f is not None and expr else "argument"
        return _ABSENT, "default"

    def _call_exprs(self) -> tuple[list[Any], dict[str, Any]]:
        if self.current_call is None:
            return [], {}
        e = self.current_call[0]
        pos = [a for a in e[2] if a[0] != "*"] if not any(a[0] == "*" for a in e[2]) else []
        return pos, {k: x for k, x in e[3] if k is not None}

    def setting(self, args: Args, index: int, name: str, f: Frame, loc: Loc | None,
                default: Any = _ABSENT_DEFAULT) -> ir.Setting | None:
        value, origin = self._arg(args, index, name, f=f)
        if value is _ABSENT:
            if default is _ABSENT_DEFAULT:
                return None
            return ir.Setting(default, "torch default", loc)
        return ir.Setting(value if v.is_const(value) else None, origin, loc)

    def _loop_ids_now(self) -> tuple[int, ...]:
        return tuple(loop.id for loop in self.loops)

    def _mark_training(self) -> None:
        c = self.collector
        if c is None:
            return
        c.trained = True
        for loop in self.loops:
            loop.training = True
        loader_loops = [loop for loop in self.loops if loop.kind == "loader"]
        if loader_loops and loader_loops[-1].loader is not None:
            c.train_loader_ids.add(id(loader_loops[-1].loader))

    def _track_model(self, instance: Any, name: str, loc: Loc | None) -> None:
        c = self.collector
        if c is None or not isinstance(instance, (v.Instance, v.SeqSpec)):
            return
        if isinstance(instance, v.Instance) and not self.is_module_class(instance.cls):
            return
        c.models.setdefault(id(instance), name)
        if name not in c.model_names:
            c.model_names.append(name)
            if loc is not None:
                c.model_locs[name] = loc

    @staticmethod
    def _in_module_code(f: Frame) -> bool:
        """True inside a module's own methods (blocks built in __init__ are not models)."""
        obj = f.self_obj
        return isinstance(obj, v.Instance) and obj.cls.lookup("forward") is not None \
            and not obj.cls.lookup("training_step")

    # --- statements ----------------------------------------------------------------------

    def _assign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        value = self.eval(stmt[2], f)
        for target in stmt[1]:
            self.assign(target, value, f)
            if target[0] == "name" and self.collector is not None:
                origin = self.origin(stmt[2], f)
                if origin not in ("literal", "expression"):
                    f.origins[target[1]] = origin
                else:
                    f.origins.pop(target[1], None)
                if isinstance(value, TrainObj) and value.kind in ("loader", "dataset"):
                    value.fields.setdefault("var", target[1])

    def assign(self, target: tuple[Any, ...], value: Any, f: Frame) -> None:
        if target[0] == "sub" and target[2] == ("const", "lr") and self.collector is not None:
            self.collector.manual_lr = True  # param_group["lr"] = ...
        super().assign(target, value, f)

    def _if(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        if self.collector is None:
            return super()._if(stmt, f)
        modulo = _has_modulo(stmt[1])
        self.conditions.append(stmt[1])
        self.accumulating += modulo
        try:
            return super()._if(stmt, f)
        finally:
            self.accumulating -= modulo
            self.conditions.pop()

    def _with(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        off = 0
        for expr, _target in stmt[1]:
            value = self.eval(expr, f)
            if isinstance(value, TrainObj) and value.kind == "grad_context" \
                    and value.fields.get("enabled") is False:
                off += 1
        self.grad_off += off
        try:
            return self.exec_block(stmt[2], f)
        finally:
            self.grad_off -= off

    # --- loops ---------------------------------------------------------------------------

    def loop_started(self, stmt: tuple[Any, ...], value: Any, items: list[Any] | None,
                     f: Frame) -> Any:
        if self.collector is None:
            return None
        self._loop_ids += 1
        iter_expr = stmt[2]
        kind = "other"
        loader = value if isinstance(value, TrainObj) and value.kind == "loader" else None
        if loader is None and isinstance(value, list) and len(value) == 1 \
                and isinstance(value[0], tuple) and iter_expr[0] == "call" \
                and iter_expr[1] == ("name", "enumerate") and iter_expr[2]:
            inner = self.eval(iter_expr[2][0], f) if _plain_path(iter_expr[2][0]) else None
            loader = inner if isinstance(inner, TrainObj) and inner.kind == "loader" else None
        if loader is not None:
            kind = "loader"
        elif iter_expr[0] == "call" and iter_expr[1] == ("name", "range"):
            kind = "range"
        loop = _Loop(self._loop_ids, kind, f.scope.loc(stmt[5]), f.owner, loader=loader)
        if kind == "range" and items is not None:
            loop.count = len(items)
            stop = iter_expr[2][1] if len(iter_expr[2]) > 1 else (
                iter_expr[2][0] if iter_expr[2] else None)
            loop.origin = self.origin(stop, f) if stop is not None else ""
        self.loops.append(loop)
        return loop

    def loop_continues(self, loop: Any, index: int) -> bool:
        if loop is None or not loop.training:
            return True
        if loop.kind == "range" and not loop.epoch:
            loop.epoch = True
            assert self.collector is not None
            self.collector.epoch_loops.append(loop)
        # An epoch loop runs twice: the second pass sees the state the first leaves behind.
        return index < 1

    def loop_item(self, loop: Any, index: int, item: Any) -> Any:
        # The second pass of an epoch loop stands for every later epoch: `if epoch == 30:`
        # and `if epoch % 5 == 0:` must run both ways there.
        if loop is not None and loop.epoch and index >= 1:
            return UNKNOWN
        return item

    def loop_finished(self, loop: Any) -> None:
        if loop is not None and self.loops and self.loops[-1] is loop:
            self.loops.pop()
            if loop.training and self.loops:
                self.loops[-1].training = True

    def unknown_item(self) -> Any:
        # In training code a loop over something unknown is nearly always over batches.
        if self.collector is None:
            return UNKNOWN
        return self.add_node(ir.INPUT, (), name="batch")

    def iterate(self, value: Any) -> list[Any] | None:
        if isinstance(value, TrainObj) and value.kind == "loader":
            batch = self.add_node(ir.INPUT, (), name=str(value.fields.get("var", "batch")))
            return [batch]
        return super().iterate(value)

    def _for(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        if self.collector is not None and self.collector.early_stopping is False \
                and _breaks(stmt[3]):
            # A `break` in a loop that trains is the classic hand-written early stop; it is
            # confirmed below once the loop is known to train.
            status = super()._for(stmt, f)
            if any(loop.epoch and loop.loc == f.scope.loc(stmt[5])
                   for loop in self.collector.epoch_loops):
                self.collector.early_stopping = True
            return status
        return super()._for(stmt, f)

    # --- calls ---------------------------------------------------------------------------

    def call(self, func: Any, args: Args, f: Frame, loc: Loc | None,
             func_expr: tuple[Any, ...] | None = None) -> Any:
        c = self.collector
        if c is not None:
            name = func.name if isinstance(func, (v.FuncVal, v.ClassVal)) else (
                func.qualname.rsplit(".", 1)[-1] if isinstance(func, v.Ref) else "")
            lowered = name.lower()
            if "focal" in lowered:
                c.focal = True
            if "earlystop" in lowered.replace("_", "") or "patience" in lowered:
                c.early_stopping = True
            if func is UNKNOWN and func_expr is not None and func_expr[0] == "attr":
                self._unknown_receiver(func_expr[2], loc)
            if isinstance(func, v.FuncVal) and self.current_call is not None:
                pos, kw = self._call_exprs()
                self.passing = ([self.origin(e, f) for e in pos],
                                {k: self.origin(e, f) for k, e in kw.items()})
        result = super().call(func, args, f, loc, func_expr)
        if c is not None and isinstance(func, v.FuncVal) \
                and isinstance(result, (v.Instance, v.SeqSpec)) and not self._in_module_code(f):
            self._track_model(result, func.name, loc)
        return result

    def _unknown_receiver(self, method: str, loc: Loc | None) -> None:
        """`optimizer.step()` on an optimizer we could not resolve still tells a loop trains."""
        c = self.collector
        assert c is not None
        if method in ("step", "backward"):
            self._mark_training()
            if method == "step":
                c.steps.append((self._loop_ids_now(), loc, self.accumulating > 0))
        elif method == "zero_grad":
            c.resets.update(self._loop_ids_now()[-1:])

    def bind(self, params: tuple[Any, ...], args: Args, frame: Frame) -> None:
        super().bind(params, args, frame)
        if self.collector is None:
            return
        passing, self.passing = self.passing, None
        passed = len(args.pos)
        offset = passed - len(passing[0]) if passing else 0  # a bound `self` comes first
        for index, (pname, default, kind) in enumerate(params):
            if kind not in ("pos", "kw"):
                continue
            origin = None
            if passing and pname in passing[1]:
                origin = passing[1][pname]
            elif passing and kind == "pos" and 0 <= index - offset < len(passing[0]):
                origin = passing[0][index - offset]
            elif default is not None and pname not in args.kw and index >= passed \
                    and not (args.open_pos or args.open_kw):
                origin = f"default of parameter `{pname}`"
            if origin and origin not in ("literal", "expression", "argument", "keyword"):
                frame.origins[pname] = origin

    def call_function(self, fn: v.FuncVal, args: Args) -> Any:
        self.executed.add(id(fn.node))
        off = 0
        if self.collector is not None:
            for decorator in fn.node[4]:
                if _text(decorator).split("(")[0] in ("torch.no_grad", "torch.inference_mode",
                                                      "no_grad", "inference_mode"):
                    off += 1
        self.grad_off += off
        try:
            return super().call_function(fn, args)
        finally:
            self.grad_off -= off

    def instantiate(self, cls: v.ClassVal, args: Args, f: Frame, loc: Loc | None) -> Any:
        inst = super().instantiate(cls, args, f, loc)
        if self.collector is not None and isinstance(inst, v.Instance):
            if "transform" in args.kw:
                inst.attrs.setdefault("__transform__", args.kw["transform"])
            if cls.lookup("__init__") is None and not self.is_module_class(cls):
                inst.attrs.update(args.kw)  # a dataclass-like config: Config(lr=0.1)
            if not self._in_module_code(f):
                self._track_model(inst, cls.name, loc)
        return inst

    def call_ref(self, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        head, _, last = qualname.rpartition(".")
        if qualname in ("argparse.ArgumentParser",):
            return TrainObj("parser", "ArgumentParser", loc, {"defaults": {}})
        if qualname in ("types.SimpleNamespace", "argparse.Namespace"):
            return TrainObj("namespace", last, loc, {"values": dict(args.kw)})
        if qualname in _EVAL_CONTEXTS:
            enabled = False if qualname != "torch.set_grad_enabled" else (
                args.pos[0] if args.pos else UNKNOWN)
            return TrainObj("grad_context", last, loc, {"enabled": enabled})
        if qualname.startswith("torch.utils.data") and last == "DataLoader":
            return self._loader(args, f, loc)
        if head == "torch.optim" and last in _OPTIMIZERS:
            return self._optimizer(last, args, f, loc)
        if head.startswith("torch.optim.lr_scheduler") or "schedule" in last.lower():
            if self.collector is not None:
                self.collector.schedulers.append(last)
            return TrainObj("scheduler", last, loc)
        if "Sampler" in last and any(w in last for w in ("Weighted", "Balanced", "Imbalanced")):
            if self.collector is not None:
                self.collector.resampling.append(last)
            return TrainObj("sampler", last, loc)
        if qualname.startswith(("torchvision.transforms", "albumentations")) \
                and last[:1].isupper():
            return self._transform(last, args, loc)
        if qualname.startswith("torchvision.datasets."):
            transform = args.kw.get("transform", UNKNOWN)
            return TrainObj("dataset", last, loc, {"transform": transform, "image": True})
        if head.startswith(_LIGHTNING) and last == "Trainer":
            return self._trainer(args, f, loc)
        if head.startswith(_LIGHTNING) and last in ("EarlyStopping", "ModelCheckpoint"):
            if self.collector is not None:
                monitor = args.kw.get("monitor")
                if last == "EarlyStopping":
                    self.collector.early_stopping = True
                elif monitor is not None:
                    self.collector.best_checkpoint = True
            return TrainObj("callback", last, loc)
        if qualname in ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                        "torch.nn.functional.binary_cross_entropy_with_logits"):
            return self._functional_loss(qualname, args, f, loc)
        if qualname == "torch.save" and self.collector is not None:
            if any(_mentions_metric(test) for test in self.conditions):
                self.collector.best_checkpoint = True
            return None
        return super().call_ref(qualname, args, f, loc)

    def _loader(self, args: Args, f: Frame, loc: Loc | None) -> TrainObj:
        dataset = args.pos[0] if args.pos else args.kw.get("dataset", UNKNOWN)
        batch = self.setting(args, 1, "batch_size", f, loc, default=1)
        shuffle = self._arg(args, 2, "shuffle")[0]
        sampler = self._arg(args, 3, "sampler")[0]
        loader = TrainObj("loader", "DataLoader", loc, {
            "dataset": dataset, "batch_size": batch,
            "shuffle": None if shuffle is _ABSENT else shuffle,
            "sampler": sampler.name if isinstance(sampler, TrainObj) else "",
            "symbol": f.owner,
        })
        if self.collector is not None:
            self.collector.loaders.append(loader)
        return loader

    def _optimizer(self, kind: str, args: Args, f: Frame, loc: Loc | None) -> TrainObj:
        names, default_lr = _OPTIMIZERS[kind]
        params = args.pos[0] if args.pos else args.kw.get("params")
        groups = [g for g in params if type(g) is dict] if type(params) is list else []

        def pick(name: str, default: Any) -> ir.Setting | None:
            index = names.index(name) if name in names else 99
            found = self.setting(args, index, name, f, loc)
            if found is not None:
                return found
            for group in groups:
                if name in group:
                    value = group[name]
                    return ir.Setting(value if v.is_const(value) else None, "a param group", loc)
            return ir.Setting(default, "torch default", loc) if default is not None else None

        optimizer = ir.Optimizer(
            loc=loc, kind=kind, lr=pick("lr", default_lr),
            momentum=pick("momentum", 0.0) if "momentum" in names else None,
            weight_decay=pick("weight_decay", 1e-2 if kind == "AdamW" else 0.0),
            symbol=f.owner)
        if self.collector is not None:
            self.collector.optimizers.append(optimizer)
        return TrainObj("optimizer", kind, loc, {"ir": optimizer})

    def _transform(self, name: str, args: Args, loc: Loc | None) -> TrainObj:
        items: list[str] | None = [name]
        if name == "Compose" or name == "OneOf" or name == "RandomApply":
            first = args.pos[0] if args.pos else args.kw.get("transforms", UNKNOWN)
            parts = self.iterate(first)
            items = []
            for part in parts or [UNKNOWN]:
                if isinstance(part, TrainObj) and part.kind == "transform":
                    if part.fields["items"] is None:
                        items = None
                        break
                    items.extend(part.fields["items"])
                else:
                    items = None  # a transform we cannot name: augmentation unknown
                    break
            if name != "Compose" and items is not None:
                items = [name, *items]
        return TrainObj("transform", name, loc, {"items": items})

    def _trainer(self, args: Args, f: Frame, loc: Loc | None) -> TrainObj:
        epochs = self.setting(args, 99, "max_epochs", f, loc)
        if epochs is None and "max_steps" not in args.kw:
            epochs = ir.Setting(1000, "Lightning's default `max_epochs`", loc)
        trainer = TrainObj("trainer", "Trainer", loc, {"epochs": epochs})
        if self.collector is not None:
            self.collector.trainer_epochs = epochs
            self.collector.trainer_loc = loc
        return trainer

    def _functional_loss(self, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        kind = _FUNCTIONAL_LOSSES[qualname.rsplit(".", 1)[-1]]
        weighted = any(args.kw.get(k) is not None for k in ("weight", "pos_weight")) or (
            len(args.pos) > 2 and args.pos[2] is not None)
        inputs = tensors_in(Args(args.pos[:2]))
        self._record_loss(kind, weighted, inputs, f, loc)
        return self.add_node(kind, inputs, name=qualname, loc=loc, functional=True) \
            if inputs else UNKNOWN

    def _record_loss(self, kind: str, weighted: bool, inputs: list[v.Tensor], f: Frame,
                     loc: Loc | None) -> None:
        if self.collector is None:
            return
        use = ir.LossUse(loc=loc, kind=kind, weighted=weighted, symbol=f.owner)
        if inputs:
            fed = self.graph[inputs[0].node]
            if fed.family == "softmax":
                use.fed_by, use.fed_by_loc = fed.kind, fed.loc
        self.collector.losses.append(use)

    def apply(self, module: Any, args: Args, f: Frame, loc: Loc | None = None) -> Any:
        c = self.collector
        if c is not None and isinstance(module, v.LayerSpec) and module.kind in _LOSSES:
            inputs = tensors_in(args)
            self._record_loss(module.kind, _weighted(module), inputs, f, loc)
        if c is not None and isinstance(module, v.MODULE_VALUES) and not (
                isinstance(module, v.LayerSpec) and module.kind in _LOSSES) \
                and not self._in_module_code(f):
            self._forward_event(module, loc)
        return super().apply(module, args, f, loc)

    def _forward_event(self, model: Any, loc: Loc | None) -> None:
        """A model call from the script: judge train/eval mode against what the pass does."""
        c = self.collector
        assert c is not None
        in_train = self.modes.get(id(model), True)
        evaluating = self.grad_off > 0 or any(
            loop.loader is not None and _role(loop.loader) == "eval" for loop in self.loops)
        if evaluating and any(loop.epoch or loop.kind == "range" for loop in self.loops):
            c.validation = True
        if loc is None:
            return
        name = c.models.get(id(model), "the model")
        families = sorted(self.layer_families(model) & {"batchnorm", "dropout"})
        if evaluating and in_train is True:
            c.eval_mode_problems.append(
                (loc, f"{name} runs an evaluation pass in train mode", name, families))
        elif not evaluating and in_train is False and any(loop.epoch for loop in self.loops):
            c.eval_mode_problems.append(
                (loc, f"{name} is trained after `.eval()` with no `.train()` back", name,
                 families))

    def layer_families(self, module: Any, seen: set[int] | None = None) -> set[str]:
        """The layer families a module holds, read from its construction (no forward)."""
        seen = seen if seen is not None else set()
        if id(module) in seen:
            return set()
        seen.add(id(module))
        if isinstance(module, v.LayerSpec):
            return {catalogue.family(module.kind)}
        children: list[Any] = []
        if isinstance(module, v.SeqSpec):
            children = [c for _, c in module.children]
        elif isinstance(module, v.ListSpec):
            children = list(module.children)
        elif isinstance(module, v.DictSpec):
            children = list(module.children.values())
        elif isinstance(module, v.Choice):
            children = list(module.options)
        elif isinstance(module, v.Instance):
            children = [c for _, c in self.children(module)]
        out: set[str] = set()
        for child in children:
            out |= self.layer_families(child, seen)
        return out

    def call_method(self, obj: Any, name: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        c = self.collector
        if isinstance(obj, TrainObj):
            return self._train_obj_method(obj, name, args, f, loc)
        if c is not None and isinstance(obj, v.Tensor) and name == "backward":
            self._mark_training()
            return None
        if c is not None and isinstance(obj, v.MODULE_VALUES) and name in ("train", "eval"):
            mode = name == "train" and (not args.pos or args.pos[0] is not False)
            self.modes[id(obj)] = mode if (not args.pos or v.is_const(args.pos[0])) else UNKNOWN
            return obj
        if c is not None and isinstance(obj, v.MODULE_VALUES) and name == "zero_grad":
            c.resets.update(self._loop_ids_now()[-1:])
            return None
        if c is not None and isinstance(obj, v.Instance) and self.is_module_class(obj.cls):
            if name in ("parameters", "named_parameters"):
                return UNKNOWN
        return super().call_method(obj, name, args, f, loc)

    def _train_obj_method(self, obj: TrainObj, name: str, args: Args, f: Frame,
                          loc: Loc | None) -> Any:
        c = self.collector
        if obj.kind == "parser":
            if name == "add_argument":
                self._add_argument(obj, args)
                return None
            if name in ("add_argument_group", "add_mutually_exclusive_group"):
                return obj
            if name == "set_defaults":
                obj.fields["defaults"].update(args.kw)
                return None
            if name in ("parse_args", "parse_known_args"):
                ns = TrainObj("namespace", "argparse", obj.loc,
                              {"values": dict(obj.fields["defaults"])})
                return ns if name == "parse_args" else (ns, UNKNOWN)
        if obj.kind == "optimizer" and c is not None:
            if name == "step":
                self._mark_training()
                c.steps.append((self._loop_ids_now(), loc, self.accumulating > 0))
                if c.first_step is None and loc is not None:
                    c.first_step = (loc, f.owner)
                return None
            if name == "zero_grad":
                c.resets.update(self._loop_ids_now()[-1:])
                return None
        if obj.kind == "trainer" and name == "fit" and c is not None:
            self._fit(obj, args, f, loc)
            return None
        return UNKNOWN

    def _add_argument(self, parser: TrainObj, args: Args) -> None:
        flags = [a for a in args.pos if type(a) is str]
        dest = args.kw.get("dest")
        if not isinstance(dest, str):
            longs = [a for a in flags if a.startswith("--")]
            chosen = longs[0] if longs else (flags[0] if flags else "")
            dest = chosen.lstrip("-").replace("-", "_")
        if not dest:
            return
        default = args.kw.get("default", None)
        action = args.kw.get("action")
        if "default" not in args.kw and action in ("store_true", "store_false"):
            default = action == "store_false"
        kind = args.kw.get("type")
        if type(default) is str and isinstance(kind, v.Builtin) and kind.name in ("int",
                                                                                   "float"):
            try:
                default = int(default) if kind.name == "int" else float(default)
            except ValueError:
                pass
        parser.fields["defaults"][dest] = default if v.is_const(default) else UNKNOWN

    def getattr(self, obj: Any, name: str) -> Any:
        if isinstance(obj, TrainObj):
            if obj.kind == "namespace":
                return obj.fields["values"].get(name, UNKNOWN)
            if obj.kind == "optimizer" and name == "param_groups":
                return UNKNOWN
            return v.BoundMethod(obj, name)
        return super().getattr(obj, name)

    def _fit(self, trainer: TrainObj, args: Args, f: Frame, loc: Loc | None) -> None:
        """`trainer.fit(model, ...)`: Lightning runs the loop; read what it would call."""
        c = self.collector
        assert c is not None
        c.lightning = True
        c.trained = True
        model = args.pos[0] if args.pos else args.kw.get("model")
        if not isinstance(model, v.Instance):
            return
        self._track_model(model, model.cls.name, loc)
        loaders = list(args.pos[1:]) + [args.kw[k] for k in ("train_dataloaders",
                                                              "val_dataloaders")
                                        if k in args.kw]
        datamodule = args.kw.get("datamodule")
        if isinstance(datamodule, v.Instance):
            for hook, role in (("train_dataloader", "train"), ("val_dataloader", "eval")):
                found = self._call_hook(datamodule, hook)
                if isinstance(found, TrainObj):
                    found.fields["role"] = role
                    if role == "eval":
                        loaders.append(found)
                    else:
                        c.train_loader_ids.add(id(found))
        for index, loader in enumerate(loaders):
            if isinstance(loader, TrainObj) and loader.kind == "loader":
                if index == 0 and "role" not in loader.fields:
                    c.train_loader_ids.add(id(loader))
        for hook in ("train_dataloader", "val_dataloader"):
            if model.cls.lookup(hook) is not None:
                found = self._call_hook(model, hook)
                if isinstance(found, TrainObj) and hook == "train_dataloader":
                    c.train_loader_ids.add(id(found))
        has_val_data = len(loaders) > 1 or "val_dataloaders" in args.kw or (
            isinstance(datamodule, v.Instance) and datamodule.cls.lookup("val_dataloader")
        ) or model.cls.lookup("val_dataloader") is not None
        if model.cls.lookup("validation_step") is not None and has_val_data:
            c.validation = True
        # Its optimizers and schedulers are recorded as they are built; the value is not needed.
        self._call_hook(model, "configure_optimizers")
        batch = self.add_node(ir.INPUT, (), name="batch")
        for hook in ("training_step", "validation_step"):
            if model.cls.lookup(hook) is not None:
                self._call_hook(model, hook, Args([batch, 0]))

    def _call_hook(self, obj: v.Instance, name: str, args: Args | None = None) -> Any:
        method = self.getattr(obj, name)
        if not isinstance(method, v.FuncVal):
            return UNKNOWN
        try:
            return self.call_function(method, args or Args())
        except (TooComplex, RecursionError):
            return UNKNOWN


_LOSSES = frozenset({"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss"})
_FUNCTIONAL_LOSSES = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss",
                      "binary_cross_entropy_with_logits": "BCEWithLogitsLoss"}


def _weighted(spec: v.LayerSpec) -> bool:
    return any(spec.args.get(k) is not None for k in ("weight", "pos_weight"))


def _text(expr: tuple[Any, ...]) -> str:
    if expr[0] == "sub":
        key = expr[2]
        inner = repr(key[1]) if key[0] == "const" else "..."
        return f"{_text(expr[1])}[{inner}]"
    return describe(expr)


def _plain_path(expr: tuple[Any, ...]) -> bool:
    """A name, attribute chain or constant subscript: safe to evaluate twice."""
    if expr[0] == "name":
        return True
    if expr[0] == "attr":
        return _plain_path(expr[1])
    if expr[0] == "sub":
        return expr[2][0] == "const" and _plain_path(expr[1])
    return False


def _walk(expr: Any) -> Any:
    if isinstance(expr, tuple):
        yield expr
        for part in expr:
            yield from _walk(part)


@functools.lru_cache(maxsize=4096)
def _has_modulo(expr: tuple[Any, ...]) -> bool:
    return any(e and e[0] == "binop" and e[1] == "%" for e in _walk(expr))


@functools.lru_cache(maxsize=4096)
def _mentions_metric(expr: tuple[Any, ...]) -> bool:
    return any(e and e[0] in ("name", "attr") and isinstance(e[-1], str)
               and _METRIC_NAME.search(e[-1]) for e in _walk(expr))


def _breaks(body: tuple[Any, ...]) -> bool:
    """A `break` that belongs to this loop (not to a nested one)."""
    for stmt in body:
        if stmt[0] == "break":
            return True
        if stmt[0] == "if" and (_breaks(stmt[2]) or _breaks(stmt[3])):
            return True
        if stmt[0] in ("with",) and _breaks(stmt[2]):
            return True
        if stmt[0] == "try" and (_breaks(stmt[1]) or any(_breaks(h) for h in stmt[2])):
            return True
    return False


def is_augmentation(transform: str) -> bool:
    """True for a transform class that changes images at random."""
    return bool(_AUGMENTATIONS.match(transform))


def _role(loader: TrainObj) -> str:
    names = [str(loader.fields.get("var", ""))]
    dataset = loader.fields.get("dataset")
    if isinstance(dataset, TrainObj):
        names.append(str(dataset.fields.get("var", "")))
    elif isinstance(dataset, v.Instance):
        names.append(dataset.cls.name)
    text = " ".join(names)
    if _EVAL_NAME.search(text):
        return "eval"
    if _TRAIN_NAME.search(text):
        return "train"
    return "unknown"


def _transforms_of(loader: TrainObj) -> tuple[list[str] | None, Loc | None, bool]:
    dataset = loader.fields.get("dataset")
    transform: Any = UNKNOWN
    image = False
    if isinstance(dataset, TrainObj) and dataset.kind == "dataset":
        transform, image = dataset.fields.get("transform", UNKNOWN), True
    elif isinstance(dataset, v.Instance):
        transform = dataset.attrs.get("__transform__", UNKNOWN)
    if isinstance(transform, TrainObj) and transform.kind == "transform":
        items = transform.fields.get("items")
        image = image or bool(items and any(
            i in ("ToTensor", "Resize", "CenterCrop", "Normalize", "PILToTensor", "ToImage")
            for i in items))
        return items, transform.loc, image
    return None, None, image


def extract_runs(interp: TrainingInterp,
                 errors: list[ErrorEntry] | None = None) -> list[ir.TrainingRun]:
    """One training run per file whose script pass trains something. A file the reader
    fails on becomes an `internal` error entry (when `errors` is given)."""
    runs: list[ir.TrainingRun] = []
    for path in sorted(interp.scopes):
        scope = interp.scopes[path]
        try:
            run = _script_pass(interp, scope)
        except Exception as exc:
            if errors is None:
                raise
            errors.append(ErrorEntry(path=path, kind="internal", message=(
                f"reading the training code failed: {type(exc).__name__}: {exc}")))
            continue
        if run is not None:
            runs.append(run)
    return runs


def _script_pass(interp: TrainingInterp, scope: FileScope) -> ir.TrainingRun | None:
    if not _mentions_training(scope.body):
        return None
    interp.reset()
    collector = interp.collector = _Collector(scope.path)
    frame = Frame(scope, owner="<module>")
    # The pass gets its own globals, which every function of the file sees while it runs:
    # module-level loaders and optimizers must be the ones this pass records.
    saved = scope.globals
    scope.globals = frame.locals = dict(saved)
    frame.locals["__name__"] = "__main__"
    try:
        for stmt in scope.body:
            if stmt[0] in ("def", "class") and stmt[1] in saved:
                continue  # already defined by the model reader's pass
            interp.exec_stmt(stmt, frame)
        # Training functions nothing in the run calls: read them with unknown arguments.
        for stmt in scope.body:
            if stmt[0] == "def" and id(stmt) not in interp.executed and _trains(stmt[3]):
                fn = frame.locals.get(stmt[1])
                if isinstance(fn, v.FuncVal):
                    interp.call_function(fn, Args(open_pos=True, open_kw=True))
    except (TooComplex, RecursionError):
        pass
    finally:
        scope.globals = saved
        interp.collector = None
        interp.loops = []
    if not collector.active:
        return None
    return _finish(collector, scope)


def _finish(c: _Collector, scope: FileScope) -> ir.TrainingRun:
    for loader in c.loaders:
        loader.fields.setdefault("role", _role(loader))
        if id(loader) in c.train_loader_ids:
            loader.fields["role"] = "train"
    if not any(loader.fields["role"] == "train" for loader in c.loaders):
        unknown = [loader for loader in c.loaders if loader.fields["role"] == "unknown"]
        if len(unknown) == 1:
            unknown[0].fields["role"] = "train"
    epoch = c.epoch_loops[0] if c.epoch_loops else None
    loc = (epoch.loc if epoch and epoch.loc else None) or c.trainer_loc or (
        c.first_step[0] if c.first_step else None) or Loc(scope.path, 1, 1, 1, 1)
    symbol = epoch.symbol if epoch else (c.first_step[1] if c.first_step else "<module>")
    epochs = c.trainer_epochs
    if epoch is not None and epoch.count is not None:
        epochs = ir.Setting(epoch.count, epoch.origin, epoch.loc)
    loaders = []
    for loader in c.loaders:
        items, transform_loc, image = _transforms_of(loader)
        dataset = loader.fields.get("dataset")
        name = str(loader.fields.get("var") or (
            dataset.fields.get("var", "") if isinstance(dataset, TrainObj) else ""))
        loaders.append(ir.Loader(
            loc=loader.loc, name=name, batch_size=loader.fields["batch_size"],
            shuffle=loader.fields.get("shuffle"), sampler=loader.fields.get("sampler", ""),
            role=loader.fields["role"], transforms=items, transform_loc=transform_loc,
            image_data=image, symbol=loader.fields.get("symbol", "")))
    steps_without_reset = []
    for loops, step_loc, accumulating in c.steps:
        inner = loops[-1] if loops else None
        if inner is not None and inner not in c.resets and not accumulating \
                and step_loc is not None:
            steps_without_reset.append(step_loc)
    return ir.TrainingRun(
        path=scope.path, symbol=symbol or "<module>", loc=loc, models=list(c.model_names),
        model_locs=dict(c.model_locs), epochs=epochs, loaders=loaders,
        optimizers=c.optimizers, schedulers=c.schedulers, manual_lr=c.manual_lr,
        losses=c.losses, resampling=c.resampling, focal=c.focal, validation=c.validation,
        early_stopping=c.early_stopping, best_checkpoint=c.best_checkpoint,
        lightning=c.lightning, eval_mode_problems=c.eval_mode_problems,
        steps_without_zero_grad=steps_without_reset)


_TRAINING_NAMES = frozenset({"optim", "DataLoader", "Trainer", "backward", "step", "SGD",
                             "Adam", "AdamW"})


def _mentions_training(body: tuple[Any, ...]) -> bool:
    """A cheap pre-filter: files that never touch an optimizer, a loader or a Trainer are
    model or utility files, and get no script pass. It visits every node of every file,
    so it walks with an explicit stack (a recursive generator costs 3x as much)."""
    stack: list[tuple[Any, ...]] = [body]
    pop, push = stack.pop, stack.append
    while stack:
        e = pop()
        if e:
            tag = e[0]
            if tag == "attr" or tag == "name":
                last = e[-1]
                if type(last) is str and last in _TRAINING_NAMES:
                    return True
            elif tag == "from" and type(e[1]) is str and (
                    "optim" in e[1] or "lightning" in e[1] or e[1].endswith("data")):
                return True
        for part in e:
            if type(part) is tuple:
                push(part)
    return False


def _trains(body: tuple[Any, ...]) -> bool:
    return any(e and e[0] == "attr" and e[2] in ("backward", "step") for e in _walk(body))
