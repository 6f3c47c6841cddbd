"""The training reader: the abstract interpreter, extended with what training code means.

DataLoaders, optimizers, schedulers, losses, samplers and transforms become `TrainObj`s;
`model.train()`/`eval()`, `torch.no_grad()`, `optimizer.step()`, `zero_grad()`,
`loss.backward()`, checkpoints and early stops become *events* of the pass (see
`recorder.py`), each tied to the loops it runs in. A call the reader cannot follow becomes an
`unresolved` event: it might validate, stop, reset gradients or change the learning rate, so
the rules that report something missing from its loop stay silent.

Models keep their identity through wrappers (`DataParallel(model).cuda()`, `model.module`,
`torch.compile`) and through library constructors (`timm.create_model` gives an opaque
model). An optimizer trains a model when it is given that model's parameters; one built over a
list of tensors (an image being optimised) trains nothing.

An epoch loop (`for epoch in range(E)`) is recognised by the training that happens in it and
runs twice symbolically, not E times: the second pass shows what state the first one leaves
behind (a model left in eval mode). The model's forward is inlined into the script's graph, so
a softmax at the end of `forward` in model.py meets the CrossEntropyLoss in train.py.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

from cnnlint import catalogue, ir
from cnnlint.extract import branches, torchnn
from cnnlint.extract import values as v
from cnnlint.extract.interp import Interp
from cnnlint.extract.frames import (
    MAX_CALL_DEPTH, NORMAL, Args, FileScope, Frame, TooComplex, identifiers, names_in,
    tensors_in,
)
from cnnlint.extract.imports import name_registry
from cnnlint.extract.memo import ConstructionMemo, ForwardMemo, free_names
from cnnlint.extract.training import library, lightning, opaque, options, registries
from cnnlint.extract.training.forwards import ForwardReading
from cnnlint.extract.training.loops import bound_range, text_of
from cnnlint.extract.training.objects import (
    LIGHTNING_METHODS, HELD_OUT_NAME, MODULE_METHODS, PLAIN_METHODS, TARGET_NAME, TrainObj,
    assigned_pairs, breaks,
    either_loader, has_modulo, inert, keeps_a_running_best, metric_words, plain_path, root_of,
    takes_no_input, text, walk, weights_of_model,
)
from cnnlint.extract.training.recorder import Recorder, holds_unknown, weights_of
from cnnlint.extract.variants import accepts
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))
_PATIENCE = re.compile(r"patience|early_?stop|no_?improve|bad_?epochs|stagnat", re.IGNORECASE)

def _builds_data(body: tuple[Any, ...]) -> bool:
    """Whether a module's top level assigns a DataLoader (a module of data objects)."""
    for stmt in body:
        if stmt[0] == "assign" and stmt[2][0] == "call":
            func = stmt[2][1]
            last = func[-1] if func[0] in ("name", "attr") else ""
            if last == "DataLoader":
                return True
    return False


# Option values that pick code by equality (a name, a rank); not flags (`_toggle` reads
# those) nor numbers compared by size.
_PICKING = (str, int)

# Objects whose attributes and entries the reader keeps: a scheduler stored in one is seen
# wherever it is read back.
_HOLDERS_READ_BACK = (v.Instance, v.ClassVal, dict, list, v.ConfigNode)


class TrainingInterp(ForwardReading):
    """The interpreter with training semantics. Outside a training pass (no recorder) it
    behaves exactly like the model reader."""

    def __init__(self, scopes: Any, modules: Any = None) -> None:
        super().__init__(scopes, modules)
        self.recorder: Recorder | None = None
        self.grad_off = 0  # inside no_grad / inference_mode
        self.accumulating = 0  # inside `if step % k == 0:`
        self.conditions: list[tuple[Any, ...]] = []  # tests of the ifs we are inside
        self.running_bests = 0  # of those, tests that keep a best value (`if v < lowest:`)
        self.assigning_at: Loc | None = None  # the assignment statement being run
        # An `if` on an option off by default whose default side leaves the block
        # (`if not args.val: ...; continue`): what follows it is the option's code.
        self.skipped_by_option: tuple[Any, ...] | None = None
        self.executed: set[int] = set()  # id() of function bodies some training pass ran
        self.batches: dict[int, TrainObj] = {}  # batch node id -> the loader it came from
        self.held_out: set[int] = set()  # tensors held in variables named for held-out data
        self.ungraded: dict[int, ir.Event] = {}  # output node -> its forward without gradients
        self.forward_outputs: dict[int, ir.Event] = {}  # output node -> the forward made it
        # Methods of a network other than its construction and forward that training code
        # called (`model.fit(loader)`), as (id of the network, method name): training code.
        self.training_methods: list[tuple[int, str]] = []
        # The random tensors (`torch.rand(...)` nodes) models were called on, and the random
        # masks dropout layers applied by training code made.
        self.noise_fed: set[int] = set()
        self.noise_made: set[int] = set()
        # Tensors training code computed through a library function the reader does not
        # know (`random_noise(batch.numpy())`): it may draw at random, as augmenting does.
        self.unknown_transforms: set[int] = set()
        self.models_running = 0  # how many model calls of training code are being read
        # Tensors that join several batches along the batch axis (see `library`).
        self.joined_batches: set[int] = set()
        # Models whose parameters() this pass took, with the call that took them.
        self.params_of: list[tuple[Any, int]] = []
        # While a project optimizer class is built: what its `super().__init__` handed to
        # torch's optimizer (the base's name and the arguments), innermost build last.
        self.optimizer_inits: list[list[tuple[str, Args]]] = []
        self.skipped_frameworks: list[str] = []  # files for another framework: no pass
        self.options_run: options.Restore = ([], [])  # modules of options a pass ran again
        # Project models a script hands to a call the reader cannot follow (a library
        # trainer: `Trainer(model, optimizer)`): that code may train them, with any settings.
        self.handed_off: set[str] = set()
        self.handed_off_whole: set[str] = set()  # those handed as they are, not as parts
        self.handed_off_parts: set[str] = set()  # the networks inside those
        self.library_builds: set[tuple[str, str]] = set()  # see ir.ProjectFacts
        # Scripts whose loop calls backward() and steps weights the reader could not follow
        # to a model (an optimizer of unknown params, or one from unread code), with the
        # project models their training code called (none: any model may train there).
        # (the file, the models it may train, what it was seen doing: see Recorder._lost_how)
        self.lost_training: list[tuple[str, tuple[str, ...], str]] = []
        # Training code the reader could not read to its end (too complex, or it failed):
        # what it trains is not known.
        self.unread_training: list[tuple[str, str]] = []  # (a file, why)
        # Scripts that built an optimizer over weights not followed and handed the run to
        # code not followed, with no step seen: what they train is not known.
        self.handed_training: list[str] = []
        # Notes on constructor calls given arguments the class does not take (they fail).
        self.failed_builds: list[str] = []
        # A pass reuses constructions only among its own: what it reads must not depend on
        # what other passes or the model reader read before.
        self.pass_constructions = ConstructionMemo()
        # id(class) -> (the class, the attributes its methods add to): see _counts_kept.
        self.kept_counts: dict[int, tuple[v.ClassVal, frozenset[str]]] = {}
        self._refine(False)

    # The methods the training semantics refine. Outside a pass (reading models) the plain
    # interpreter's versions are installed on the instance: the model reader pays nothing
    # for training support.
    _REFINED = ("_assign", "assign", "_if", "_with", "_for", "loop_started", "loop_continues",
                "loop_item", "loop_finished", "unknown_item", "iterate", "merge", "lookup",
                "getattr", "call", "call_function", "instantiate", "call_ref", "apply",
                "call_method", "bind", "_while")

    def _refine(self, training: bool) -> None:
        for name in self._REFINED:
            if training:
                self.__dict__.pop(name, None)
            else:
                setattr(self, name, getattr(Interp, name).__get__(self))
        self._exec = self.statement_table()

    def start_pass(self, path: str) -> Recorder:
        self._refine(True)
        self.reset()
        self.start_from(os.path.abspath(path))
        self.pass_constructions.clear()
        self.recorder = Recorder(path)
        self.tracking_origins = True
        self.grad_off = self.accumulating = 0
        self.params_of = []
        self.conditions = []
        self.running_bests = 0
        self.batches = {}
        self.held_out = set()
        self.ungraded = {}
        self.forward_outputs = {}
        self.noise_fed = set()
        self.noise_made = set()
        self.unknown_transforms = set()
        self.joined_batches = set()
        self.attr_origins = {}  # by object id: none may outlive the pass
        self.options_run = options.rerun(self, path)
        return self.recorder

    def file_bases(self) -> list[str]:
        # The running script's folder too (a script run from where it lives).
        bases = super().file_bases()
        if self.recorder is not None:
            bases.append(os.path.dirname(os.path.abspath(self.recorder.path)))
        return bases

    def end_pass(self) -> None:
        self.undo_writes()
        options.restore(self.options_run)
        self.options_run = ([], [])
        self.attr_origins = {}
        self.recorder = None
        self.tracking_origins = False
        self._refine(False)

    def construction_memo(self) -> ConstructionMemo | None:
        return self.pass_constructions if self.recorder is not None else self.constructions

    def forward_memo(self) -> ForwardMemo | None:
        return None if self.recorder is not None else self.forwards  # a pass records events

    def side_effects(self) -> Any:
        rec = self.recorder
        if rec is None:
            return len(self.graph)
        return (len(self.graph), len(rec.events), len(rec.models), len(rec.loaders),
                len(rec.constructions), len(rec.losses), len(rec.schedulers), len(rec.modes))

    # --- where we are ------------------------------------------------------------------------

    def blocked_by(self, what: str, loc: Loc | None, f: Frame, touches_models: bool) -> None:
        """A call from training code the reader cannot follow."""
        rec = self.recorder
        if rec is None or self.in_module_code(f):
            return
        rec.event(ir.UNRESOLVED, loc, what=what,
                  flags=frozenset({"touches-models"}) if touches_models else frozenset())

    def touches_models(self, args: Args, method: bool) -> bool:
        given = (*args.pos, *args.kw.values())
        self.hand_off(given)
        touches = method or args.open_pos or args.open_kw or any(
            isinstance(x, (*v.MODULE_VALUES, v.Opaque, v.Params)) for x in given)
        if touches:
            for x in given:  # (a call that may reach a network may hand it to them)
                v.attach(x)
        return touches

    def hand_off(self, values: Iterable[Any], whole: bool = True) -> list[str]:
        """Project models among `values` (one of several, for a Choice) may be trained by
        code the reader cannot follow: their keys. The networks inside them train with
        them (kept apart, not returned)."""
        models = [o for x in values for o in (x.options if isinstance(x, v.Choice) else (x,))]
        keys: list[str] = []
        for x in models:
            if isinstance(x, v.Instance) and self.is_module_class(x.cls):
                keys.extend(self._model_keys(x))
                self.handed_off_parts.update(key for part in self.submodules(x)[1:]
                                             if isinstance(part, v.Instance)
                                             and self.is_module_class(part.cls)
                                             for key in self._model_keys(part))
        self.handed_off.update(keys)
        if whole:
            self.handed_off_whole.update(keys)
        return keys

    def _model_keys(self, x: v.Instance) -> list[str]:
        """The functions that returned a network (`se_resnet20()`); its class too when each
        of them needs arguments (`build_model(cfg)`), as no model is read as such a build."""
        built = self.recorder.models.get(id(x)) if self.recorder is not None else None
        builders = built[3] if built else []
        keys = [key for key, _, _ in builders]
        if not any(needs_none for _, _, needs_none in builders):
            keys.append(ir.model_key(x.cls.scope.module, x.cls.name))
        return keys

    def _networks_named_in(self, fn: v.FuncVal) -> list[Any]:
        """The networks a function's code can reach by name (its closure's or its module's)."""
        found = []
        for name in free_names(fn.node):
            value = fn.closure.get(name) if fn.closure is not None and name in fn.closure \
                else fn.scope.globals.get(name)
            if isinstance(value, v.MODULE_VALUES):
                found.append(value)
        return found

    def lost_track(self, forwarded: list[Any], choices: Iterable[str], path: str,
                   how: str) -> None:
        """A pass stepped weights the reader could not follow to a model: the project
        models its training code called may be what it trains, and so may any entry of a
        registry it picked its model from by name (the command line may pick another than
        the default); when it called none (and no library model either), or one from a call
        it could not follow, any model may be.
        The networks inside those models train with them; a module with no weights (a loss
        class of the project) is not what it trains."""
        forwarded = [x for x in forwarded if not self._holds_no_weights(x)]
        keys = self.hand_off(forwarded) + sorted(choices)
        self.hand_off([part for x in forwarded
                       for option in (x.options if isinstance(x, v.Choice) else (x,))
                       if isinstance(option, v.Instance)
                       for part in self.submodules(option)[1:]], whole=False)
        self.handed_off.update(choices)
        # (A model from a library is what it trains; one from a call the reader could not
        # follow, `exp.get_model()` of an experiment loaded by file name, may be any.)
        if keys or not any(isinstance(x, v.Opaque) and x.library not in ("", "builtins")
                           for x in forwarded):
            self.lost_training.append((path, tuple(dict.fromkeys(keys)), how))

    def _holds_no_weights(self, module: Any) -> bool:
        """A project module whose construction holds no layer with weights and no tensor or
        unknown value (a label-smoothing loss): no optimizer can train it."""
        if not isinstance(module, v.Instance):
            return False
        for part in self.submodules(module):
            if isinstance(part, v.LayerSpec):
                if catalogue.is_weighted(part.kind):
                    return False
            elif not isinstance(part, v.Instance) or any(
                    isinstance(x, (v.Tensor, v.Opaque, v.Choice)) or x is UNKNOWN
                    for x in part.attrs.values()):
                return False
        return True

    # --- statements ----------------------------------------------------------------------

    def _assign(self, stmt: tuple[Any, ...], f: Frame) -> None:
        if self.recorder is None:
            return super()._assign(stmt, f)
        value = self.eval(stmt[2], f)
        ranged = bound_range(stmt[2])
        self.assigning_at = f.scope.loc(stmt[3])
        if _steps_an_environment(stmt) and self.recorder.loops:
            self.recorder.event(ir.ENV_STEP, self.assigning_at, what=text(stmt[2]))
        for target in stmt[1]:
            self.assign(target, value, f)
            self.remember_origin(target, stmt[2], value, f)
            if target[0] == "name" and isinstance(value, TrainObj) and value.kind == "weights" \
                    and self.recorder.loops and (self.running_bests or any(
                        metric_words(test) for test in self.conditions)):
                # `best = model.state_dict()` when a metric improves: no copy is kept.
                self.recorder.event(ir.ALIASED_BEST, self.assigning_at, what=target[1])
            if target[0] == "name" and (ranged is not None or f.ranges):
                if f.ranges is None:
                    f.ranges = {}
                if ranged is None:
                    f.ranges.pop(target[1], None)
                else:
                    f.ranges[target[1]] = ranged
            if target[0] == "name" and isinstance(value, (v.LayerSpec, v.SeqSpec)) \
                    and not self.in_module_code(f):
                loc = f.scope.loc(stmt[3])
                # A module-level Sequential is a model of its own, keyed by the variable it
                # was built into (`model = nets.head` trains `nets:head`).
                key = ""
                if type(value) is v.SeqSpec and f.locals is f.scope.globals:
                    home = self.sequential_home(value) \
                        if stmt[2][0] in ("name", "attr") else None
                    key = ir.model_key(home[0].module, home[1]) if home is not None \
                        else ir.model_key(f.scope.module, target[1])
                self.track_model(value, target[1], loc, key)
        if stmt[2][0] == "dict":
            name_registry(stmt, f)

    def bind(self, params: tuple[Any, ...], args: Args, frame: Frame) -> None:
        super().bind(params, args, frame)
        if self.recorder is not None:
            for pname, _default, _kind in params:  # `def fit(train_x, test_x, ...)`
                value = frame.locals.get(pname)
                if type(value) is v.Tensor and HELD_OUT_NAME.search(pname):
                    self.held_out.add(value.node)

    def assign(self, target: tuple[Any, ...], value: Any, f: Frame) -> None:
        rec = self.recorder
        if rec is not None:
            if target[0] == "name" and type(value) is v.Tensor \
                    and HELD_OUT_NAME.search(target[1]):
                self.held_out.add(value.node)  # `x_test = features[n:]`: held-out data
            if target[0] in ("attr", "sub") and plain_path(target[1]) \
                    and isinstance(value, (*v.MODULE_VALUES, v.Opaque, v.Params)):
                v.attach(self.eval(target[1], f))  # `helper.net = net`: it holds one now
            if target[0] == "sub" and target[2] == ("const", "lr"):
                rec.event(ir.SCHEDULE, f.scope.loc(None), what='param_group["lr"] = ...')
            elif target[0] == "attr" and target[2] == "grad" and value is None:
                rec.event(ir.ZERO_GRAD, None, what=".grad = None")
            elif target[0] == "attr" and plain_path(target[1]):
                holder = self.eval(target[1], f)
                if isinstance(holder, TrainObj) and holder.kind == "dataset" \
                        and target[2] == "transform":
                    # `val_set.dataset.transform = test_tf`: the pipeline of the dataset,
                    # and of every part of it (the training part too).
                    whole = holder.fields.get("whole", holder)
                    whole.fields["transform"] = value
                    whole.fields["transform_set_at"] = self.assigning_at
                    return
                if isinstance(holder, TrainObj) and holder.kind == "namespace":
                    if target[2] not in holder.fields.get("options", ()):
                        # `args.optimizer = SGD(...)`: read back by the code it is passed to;
                        # `args.lr = 1e-7` with no `--lr` option: set by the code.
                        holder.fields["values"][target[2]] = value
                        holder.fields.setdefault("written", set()).add(target[2])
                        return
                    # An option keeps its default (`args.start_epoch = checkpoint["epoch"]`
                    # only when resuming), but one written on each pass of a loop
                    # (`args.lr /= 10` after each stage) does not keep one value, and a
                    # number written where the defaults lead (`if args.epochs == -1:
                    # args.epochs = 200`, a default resolved in code) is its value.
                    if rec.loops:
                        holder.fields.setdefault("varied", set()).add(target[2])
                    elif not self.undecided and v.is_const(value) \
                            and type(value) in (int, float, str, bool):
                        holder.fields["values"][target[2]] = value
                        holder.fields.setdefault("written", set()).add(target[2])
                        return
            if target[0] in ("attr", "sub") and type(value) is TrainObj \
                    and value.kind == "scheduler" and not (
                        plain_path(target[1])
                        and type(self.eval(target[1], f)) in _HOLDERS_READ_BACK):
                # `trainer.scheduler = sched` on a library object: stepped where unseen.
                library.mark_used(value)
        super().assign(target, value, f)

    def _if(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        rec = self.recorder
        if rec is None:
            return super()._if(stmt, f)
        modulo = has_modulo(stmt[1])
        if _PATIENCE.search(text_of(stmt[1])):
            rec.event(ir.EARLY_STOP, f.scope.loc(stmt[4]), what="a patience test")
        self.conditions.append(stmt[1])
        best = keeps_a_running_best(stmt[1], stmt[2])
        if best and rec.loops:
            for counter in _counters_noted(stmt[1], stmt[2]):
                rec.event(ir.BEST_PASS_NOTED, f.scope.loc(stmt[4]), what=counter)
        self.running_bests += best
        self.accumulating += modulo
        try:
            mode = self._mode_tested(stmt[1], f)
            if mode is not None:  # `if model.training:` in a step shared with evaluation
                return self.exec_block(stmt[2] if mode else stmt[3], f)
            if self._toggle(stmt[1], f) or self._picks_by_option(stmt[1], f):
                test = self.truth(self.eval(stmt[1], f))
                if test is not None:
                    taken, other = (stmt[2], stmt[3]) if test else (stmt[3], stmt[2])
                    if _jumps(taken) and not _jumps(other):
                        self.skipped_by_option = stmt
                    if branches.error_exit(taken) and not branches.error_exit(other):
                        # `else: raise ValueError("unknown --dataset")`: the default stops
                        # the script, so every run that trains passes the option.
                        return self.exec_block(other, f)
                    return self._optional(other, taken, names_in(stmt), f)
            if rec.loops and self._tests_a_kept_count(stmt[1], f):
                return self.both_ways(lambda: self.exec_block(stmt[2], f),
                                      lambda: self.exec_block(stmt[3], f), f, names_in(stmt))
            return super()._if(stmt, f)
        finally:
            self.accumulating -= modulo
            self.running_bests -= best
            self.conditions.pop()

    def _mode_tested(self, test: tuple[Any, ...], f: Frame) -> bool | None:
        """The outcome of `if net.training:` (or `not net.training`) in training code, from
        the mode the pass set (`net.train()`, `net.eval()`); None for any other test, or a
        mode not known."""
        negated = test[0] == "unary" and test[1] == "not"
        read = test[2] if negated else test
        if read[0] != "attr" or read[2] != "training" or self.in_module_code(f):
            return None
        model = self.eval(read[1], f)
        mode = self.recorder.mode_of(model) if self.recorder is not None \
            and isinstance(model, (*v.MODULE_VALUES, v.Opaque)) else None
        return None if mode is None else mode != negated

    def _tests_a_kept_count(self, test: tuple[Any, ...], f: Frame) -> bool:
        """`if self.bad >= self.patience:` in a method a training loop calls each pass: the
        object counts across passes (`self.bad += 1`), so the value one read pass leaves
        is not the one every pass sees."""
        obj = f.self_obj
        if type(obj) is not v.Instance:
            return False
        counts = self._counts_kept(obj.cls)
        return bool(counts) and any(
            e[0] == "attr" and len(e) > 2 and e[1] == ("name", "self") and e[2] in counts
            for e in walk(test) if e)

    def _counts_kept(self, cls: v.ClassVal) -> frozenset[str]:
        """The attributes a class's methods add to (`self.bad += 1`), found once."""
        found = self.kept_counts.get(id(cls))
        if found is None or found[0] is not cls:
            names = frozenset(
                e[1][2] for member in cls.namespace.values() if isinstance(member, v.FuncVal)
                for e in walk(member.node[3]) if e and e[0] == "augassign"
                and e[1][0] == "attr" and e[1][1] == ("name", "self"))
            found = self.kept_counts[id(cls)] = (cls, names)
        return found[1]

    def exec_block(self, body: tuple[Any, ...], f: Frame) -> Any:
        if self.recorder is None:
            return super().exec_block(body, f)
        for at, stmt in enumerate(body):
            status = self.exec_stmt(stmt, f)
            if status is not NORMAL:
                if self.skipped_by_option is stmt and at + 1 < len(body):
                    # The rest of the block runs when the option is given: read as such.
                    self.skipped_by_option = None
                    rest = body[at + 1:]
                    self._optional(rest, (), names_in(("if", None, rest, ())), f)
                return status
        return NORMAL

    def _optional(self, body: tuple[Any, ...], default: tuple[Any, ...],
                  names: frozenset[str], f: Frame) -> Any:
        """Code behind an option that is off by default, then the default code. What the
        option's code does counts (a best checkpoint, an early stop, a validation pass);
        the values after it are the default's, except an object the option creates where
        the default leaves None (an EMA model, a checkpoint saver): code further on that
        tests for it is read too. Modes stay the default's."""
        rec = self.recorder
        assert rec is not None
        before = branches.snapshot(self, f, names)
        modes, loaders = dict(rec.modes), len(rec.loaders)
        self.exec_block(body, f)
        after = branches.snapshot(self, f, names)
        branches.restore(self, f, before, names)
        rec.modes = modes
        rec.loaders[loaders:] = [loader for loader in rec.loaders[loaders:]
                                 if id(loader) in rec.train_loader_ids]
        status = self.exec_block(default, f)
        branches.merge_into(self, f, after, names, combine=self._after_optional)
        return status

    def _after_optional(self, optional: Any, usual: Any) -> Any:
        if usual is None and optional is not None:
            return optional
        if optional is UNKNOWN and isinstance(usual, v.MODULE_VALUES):
            # The option's code builds something the reader could not follow (a project
            # call that fails with the default values of the other options): the model
            # trained may be that one.
            rec = self.recorder
            if rec is not None:
                note = (f"{rec.path}: a model built for another value of a command-line "
                        "option could not be read: rules about a network without a "
                        "training script stay silent")
                if note not in rec.notes:
                    rec.notes.append(note)
            known = usual.options if isinstance(usual, v.Choice) else (usual,)
            return v.Choice((*known, UNKNOWN))
        if optional is not usual and isinstance(optional, v.MODULE_VALUES) \
                and isinstance(usual, v.MODULE_VALUES):
            merged = self.merge(optional, usual)  # either model may be the one trained
            if isinstance(merged, v.Choice):  # (and the default options train `usual`)
                merged.default = usual.default if isinstance(usual, v.Choice) else usual
            return merged
        if optional is not usual and self._network_class(optional) \
                and self._network_class(usual):
            # `net = BetaVAE_B` for `--model B`, where the default picks another class: the
            # script builds whichever the option names.
            return v.Candidates((usual, optional), default=usual)
        return usual

    def _network_class(self, value: Any) -> bool:
        return type(value) is v.ClassVal and self.is_module_class(value)

    def _picks_by_option(self, test: tuple[Any, ...], f: Frame) -> bool:
        """`if args.net_type == "resnet":`, `if args.local_rank == 0:` (-1 by default, set
        by the distributed launcher): a command-line option picks the code; the default's
        choice is not the only one the script makes. Also through a copy of the option
        (`arch = args.arch`, `self.arch = args.arch`), a part of its name (`if "wrn" in
        name and "swish" in name:`) and tests joined by `and`/`or`."""
        if test[0] == "boolop":
            return self._picks_by_option(test[2], f) or self._picks_by_option(test[3], f)
        if test[0] != "compare" or len(test[2]) != 1 or test[2][0][0] not in (
                "==", "!=", "in", "not in"):
            return False
        read = test[1]
        if test[2][0][0] in ("in", "not in") and read[0] == "const" and type(read[1]) is str:
            read = test[2][0][1]  # `"swish" in args.arch`
        if read[0] == "name":  # a copy, or a parameter given the option: names only
            # (`generate(depth)` testing `depth == 10`: which network a number builds is
            # not followed back to the models the project defines for it)
            return f.origins.get(read[1], "").startswith("argparse default of") \
                and type(self.eval(read, f)) is str
        if read[0] != "attr" or not plain_path(read[1]):
            return False
        base = self.eval(read[1], f)
        if isinstance(base, v.Instance):
            return (id(base), read[2]) in self.attr_origins \
                and type(base.attrs.get(read[2])) in _PICKING
        return isinstance(base, TrainObj) and base.kind == "namespace" \
            and base.name == "argparse" and type(base.fields["values"].get(read[2])) in _PICKING

    def _toggle(self, test: tuple[Any, ...], f: Frame) -> bool:
        """A test of a command-line option left off by default (`if args.output_dir:`,
        `if args.early_stop:`): the code behind it is part of the script, so it is read;
        taking only the default would report what the script can do as missing."""
        stack: list[Any] = [test]
        while stack:
            e = stack.pop()
            if type(e) is not tuple or not e:
                continue
            if e[0] == "attr" and plain_path(e[1]):
                base = self.eval(e[1], f)
                if isinstance(base, TrainObj) and base.kind == "namespace" \
                        and base.name == "argparse":
                    if _off(base.fields["values"].get(e[2], UNKNOWN)):
                        return True
                continue
            if e[0] == "name" and f.origins.get(e[1], "").startswith("argparse default of"):
                # The option handed to a function (`train(..., evaluation=args.val)`).
                if _off(f.locals.get(e[1], UNKNOWN)):
                    return True
                continue
            if e[0] in ("unary", "boolop", "compare"):
                stack.extend(x for x in e[1:] if type(x) is tuple)
        return False

    def _with(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        if self.recorder is None:
            return super()._with(stmt, f)
        off = 0
        for expr, target in stmt[1]:
            value = self.eval(expr, f)
            if isinstance(value, TrainObj) and value.kind == "grad_context" \
                    and value.fields.get("enabled") is False:
                off += 1
            if target is not None:
                self.assign(target, value if isinstance(value, (v.Tensor, v.Opaque, v.FilePath))
                            else UNKNOWN, f)
        self.grad_off += off
        try:
            return self.exec_block(stmt[2], f)
        finally:
            self.grad_off -= off

    def _for(self, stmt: tuple[Any, ...], f: Frame) -> Any:
        rec = self.recorder
        if rec is None or not breaks(stmt[3]):
            return super()._for(stmt, f)
        # A `break` out of a loop that trains is the classic hand-written early stop.
        before = rec.next_loop
        status = super()._for(stmt, f)
        state = rec.finished.get(before + 1)
        if state is not None and state.training and state.kind == "range":
            rec.events.append(ir.Event(kind=ir.EARLY_STOP, loc=state.loc,
                                       loops=(*rec.loop_ids(), state.id), what="break"))
        return status

    # --- loops (see loops.py) ------------------------------------------------------

    def batch_of(self, loader: TrainObj) -> v.Tensor:
        """A batch drawn from `loader` (a graph input that remembers where it came from)."""
        batch = self.add_node(ir.INPUT, (), name=str(loader.fields.get("var", "batch")))
        self.batches[batch.node] = loader
        return batch

    def _unpack(self, targets: tuple[Any, ...], value: Any, f: Frame) -> None:
        if self.recorder is not None and isinstance(value, v.Opaque) and value.library \
                and not any(t[0] == "*" for t in targets):
            # `fig, axes = plt.subplots(...)`: parts of a library's value are its values.
            for i, target in enumerate(targets):
                self.assign(target, _part_of(value, f"[{i}]"), f)
            return
        super()._unpack(targets, value, f)

    def iterate(self, value: Any) -> list[Any] | None:
        if self.recorder is not None:
            if isinstance(value, TrainObj) and value.kind == "loader":
                return [self.batch_of(value)]
            if isinstance(value, v.Params):
                return [(UNKNOWN, value)] if value.named else [value]
        return super().iterate(value)

    def count(self, value: Any) -> int | None:
        # A loader or a parameter list iterates as one item standing for all: its length
        # (`len(train_loader)`, batches per epoch) is not known.
        if self.recorder is not None and (
                (isinstance(value, TrainObj) and value.kind == "loader")
                or isinstance(value, v.Params)):
            return None
        return super().count(value)

    def merge(self, a: Any, b: Any, name: str = "") -> Any:
        """Training values after an undecided `if`: a sampler or None (or `""`, False) is
        the sampler (what is done to it is done when it exists), a tensor or a number the
        tensor; two library
        values of one package are one."""
        if a is b:
            return a
        if self.recorder is not None:
            first, second = _datasets(a), _datasets(b)
            if first and second:
                # `if args.dataset == "cifar10": ... elif ...`: one of several datasets.
                datasets = _each_once(first + second)
                return TrainObj("dataset", " or ".join(d.name for d in datasets), a.loc,
                                {"options": datasets, "transform": UNKNOWN,
                                 "split": a.fields.get("split", "")})
            if _loader(a) and _loader(b):
                assert self.recorder is not None
                return either_loader(a, b, self.merge, self.recorder.loaders)
            if _scheduler(a) and _scheduler(b):
                # A scheduler rebuilt under a condition (`if epoch == warmup:`): either
                # one is stepped.
                options = _each_once([*_options(a), *_options(b)])
                return TrainObj("scheduler", " or ".join(o.name for o in options), a.loc,
                                {"options": options})
            if _optimizer(a) and _optimizer(b):
                # `if args.optim == "adam": ... elif ...`: the loop steps one of them, each
                # built as written (so each is judged), over the same weights.
                options = _each_once([*_options(a), *_options(b)])
                return TrainObj("optimizer", " or ".join(o.name for o in options), a.loc,
                                {"options": options})
            for x, y in ((a, b), (b, a)):
                # (A placeholder: `None`, or an empty string or False a function starts
                # with before an `if` chain picks the optimizer.)
                if (y is None or y is False or type(y) is str and not y) and (
                        isinstance(x, (v.Opaque, TrainObj)) or (
                        isinstance(x, v.Instance) and not self.is_module_class(x.cls))):
                    return x
                if type(x) is v.Tensor and type(y) in (int, float):
                    # A loss term a number stands for until a warm-up ends (`consistency =
                    # 0.0` below step 1000): what is computed from it is computed from the
                    # tensor (a teacher's targets feed the step).
                    return x
            if isinstance(a, v.Ref) and isinstance(b, v.Ref) and a.qualname != b.qualname \
                    and root_of(a.qualname) == root_of(b.qualname) and inert(a.qualname) \
                    and inert(b.qualname):
                # `Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor`
                return v.Opaque(f"{a.qualname} or {b.qualname}", a.qualname)
            if isinstance(a, v.Opaque) and isinstance(b, v.Opaque) and a.library == b.library:
                origin = a.origin if a.origin == b.origin else f"{a.origin} or {b.origin}"
                return v.Opaque(origin if len(origin) < 120 else a.origin, a.library,
                                model=a.model or b.model)
        return super().merge(a, b, name)

    def _sub_expr(self, e: tuple[Any, ...], f: Frame) -> Any:
        value = super()._sub_expr(e, f)
        rec = self.recorder
        if rec is not None and rec.loops and type(value) is v.Tensor \
                and _names_held_out(e[2]):
            # `pred[test_idx]` of a forward over a whole image or graph whose held-out
            # pixels or nodes the loss leaves out (transductive training): that forward
            # scores the held-out part too.
            for event in self.forwards_behind(value):
                event.flags = event.flags | {"scores-held-out"}
        return value

    def subscript(self, obj: Any, key: Any) -> Any:
        """`MODELS[args.arch]` with the key not known: every entry, when they are a few
        classes or functions (a registry of models); otherwise not known. A registry read
        by a name (`models.__dict__[args.arch]`, a dict of built models) may give any of its
        entries, whatever the default name: the run records them all as choices."""
        rec = self.recorder
        if rec is not None and isinstance(obj, v.Opaque) and obj.library:
            return _part_of(obj, "[...]")  # `axes[0][i]` of `plt.subplots(...)`
        if rec is None or type(obj) is not dict:
            return super().subscript(obj, key)
        found = registries.pick(self, rec, obj, key)
        return found if found is not None else super().subscript(obj, key)

    # --- names and attributes ------------------------------------------------------------

    def module_attr(self, module: v.ModuleVal, name: str) -> Any:
        """In a training pass, a name a data module builds at its top level (`train_loader =
        DataLoader(...)` in data_loader.py) is read again with the pass recording: the
        loader, its dataset and transforms become the pass's, as Python's import would make
        them."""
        rec = self.recorder
        scope = module.scope
        if rec is not None and scope is not None and _builds_data(scope.body):
            names = rec.replayed.get(scope.path)
            if names is None:
                names = rec.replayed[scope.path] = self._replay(scope)
            if name in names:
                return names[name]
        return super().module_attr(module, name)

    def _replay(self, scope: FileScope) -> dict[str, Any]:
        """The module's top-level assignments run again over a copy of its names."""
        frame = Frame(scope, owner="<module>")
        frame.locals = dict(self.load(scope))
        for stmt in scope.body:
            if stmt[0] in ("assign", "augassign"):
                try:
                    self.exec_stmt(stmt, frame)
                except (TooComplex, RecursionError):
                    break
        return frame.locals

    def lookup(self, name: str, f: Frame) -> Any:
        found = super().lookup(name, f)
        if found is UNKNOWN and self.recorder is not None and name in _BUILTIN_NAMES:
            return v.Ref(f"builtins.{name}")  # open(), iter(), next(), filter(), ...
        return found

    def getattr(self, obj: Any, name: str) -> Any:
        if isinstance(obj, v.Params) and self.recorder is not None:
            # A model's parameter tensors (`for p in D.parameters(): p.data.clamp_(-c, c)`),
            # and their gradients (scaled in place: clipped by hand).
            if name == "grad":
                return v.GradOf(obj)
            return obj if name == "data" else v.BoundMethod(obj, name)
        if isinstance(obj, TrainObj):
            if obj.kind == "namespace":
                return obj.fields["values"].get(name, UNKNOWN)
            if obj.kind == "optimizer" and name == "param_groups":
                return UNKNOWN
            if obj.kind == "loader" and name in ("dataset", "batch_size"):
                return obj.fields.get(name, UNKNOWN)  # `val_loader.dataset.class_names`
            if obj.kind == "dataset" and name == "dataset" and "whole" in obj.fields:
                return obj.fields["whole"]  # a split's part: the dataset it is part of
            if obj.kind == "dataset" and name == "transform":
                return obj.fields.get("whole", obj).fields.get("transform", UNKNOWN)
            if obj.kind == "scheduler":
                library.mark_used(obj)  # `scheduler.step` handed on: it may be called
            return v.BoundMethod(obj, name)
        if isinstance(obj, v.Opaque):
            if name == "module" and obj.model:
                return obj
            found = obj.attrs.get(name)
            if found is None:
                found = obj.attrs[name] = v.Opaque(f"{obj.origin}.{name}", obj.library,
                                                   parent=obj, attr=name,
                                                   detached=obj.detached)
            return found
        if isinstance(obj, v.Choice) and self.recorder is not None:
            return obj if name == "module" else v.BoundMethod(obj, name)  # a registry's model
        if name == "module" and isinstance(obj, v.Instance) and self.recorder is not None \
                and "module" not in obj.attrs and self.is_module_class(obj.cls):
            return obj  # DataParallel(model).module is the model
        found = super().getattr(obj, name)
        if self.recorder is not None and isinstance(obj, v.Instance) \
                and isinstance(found, v.MODULE_VALUES) and self.is_module_class(obj.cls):
            # `PlainNet().body` handed to a detector: the network it was taken from trains
            # (that part of it) with the detector.
            self.recorder.taken_from.setdefault(id(found), obj)
        return found

    # --- calls ---------------------------------------------------------------------------

    def call(self, func: Any, args: Args, f: Frame, loc: Loc | None,
             func_expr: tuple[Any, ...] | None = None) -> Any:
        rec = self.recorder
        if rec is None:
            return super().call(func, args, f, loc, func_expr)
        name = func.name if isinstance(func, (v.FuncVal, v.ClassVal)) else (
            func.qualname.rsplit(".", 1)[-1] if isinstance(func, v.Ref) else "")
        lowered = name.lower()
        if "focal" in lowered:
            rec.focal = True
        if "earlystop" in lowered.replace("_", "") or "patience" in lowered:
            rec.event(ir.EARLY_STOP, loc, what=name)
        if type(func) in (v.Ref, v.Opaque) or func is UNKNOWN:
            # A scheduler handed to code the reader does not follow may be stepped there.
            library.touch_schedulers((*args.pos, *args.kw.values()))
        if type(func) in (v.Ref, v.Opaque) and not self.in_module_code(f):
            # A project function handed to a library (`Engine(update_step)`, a trainer's
            # callback) runs where the reader does not follow: the networks it names may be
            # trained there, with every network inside them.
            for given in (*args.pos, *args.kw.values()):
                if type(given) is v.FuncVal and given.bound is None:
                    self.hand_off([part for net in self._networks_named_in(given)
                                   for part in self.submodules(net)])
        if isinstance(func, TrainObj) and func.kind == "transform" and rec.loops:
            # A pipeline the loop applies to its batches itself (`aug(x)` for each image).
            items = func.fields.get("items")
            rec.applied_transforms.append(list(items) if type(items) is list else None)
            if items is not None and len(args.pos) == 1 and type(args.pos[0]) is v.Tensor:
                # The batch, transformed by known steps: a tensor of its own (two random
                # views of one batch are two tensors).
                return self.add_node("Identity", args.pos, name=func.name, loc=loc,
                                     functional=True)
        if isinstance(func, TrainObj) and func.kind == "scaler":
            # `loss_scaler(loss, optimizer, clip_grad=..., parameters=...)` (timm's scalers):
            # a backward pass of the loss, then a step of the optimizer.
            loss = args.pos[0] if args.pos else args.kw.get("loss")
            optimizer = args.pos[1] if len(args.pos) > 1 else args.kw.get("optimizer")
            if isinstance(loss, v.Tensor):
                self.call_method(loss, "backward", Args(), f, loc)
            if optimizer is not None:
                self.call_method(optimizer, "step", Args(), f, loc)
            return None
        if func is UNKNOWN:
            return opaque.call_unknown(self, args, f, loc, func_expr)
        if isinstance(func, v.Opaque):
            return opaque.call_opaque(self, func, args, f, loc, func_expr)
        if isinstance(func, v.Candidates):
            return opaque.call_each(self, func, args, f, loc, func_expr)
        if isinstance(func, v.FuncVal) and func.name == "forward" \
                and isinstance(func.bound, v.Instance) and not self.in_module_code(f):
            return self.apply(func.bound, args, f, loc)  # `model.forward(x)` is `model(x)`
        if isinstance(func, v.FuncVal):
            self.prepare_call(f)
        in_module = self.in_module_code(f)
        if in_module and type(func) is v.Ref:
            # A library wrapper given networks the module's code built holds them.
            rec.wrapped.update(id(x) for x in (*args.pos, *args.kw.values())
                               if type(x) is v.Instance)
        # `model.fit(loader)`, `self.train_epoch(loader)` of a network that trains itself:
        # the method is training code.
        trains_itself = not in_module and isinstance(func, v.FuncVal) \
            and type(func.bound) is v.Instance and func.name not in ("__init__", "forward") \
            and self.is_module_class(func.bound.cls)
        if trains_itself:
            self.training_methods.append((id(func.bound), func.name))
        # The call in the script's own code that leads into another file's loop: the
        # innermost one (`trainer.fit(...)` inside `main()`, not the `main()` that runs it).
        from_script = loc is not None and f.scope.path == rec.path
        if from_script:
            outer, rec.entry_call = rec.entry_call, loc
        try:
            result = super().call(func, args, f, loc, func_expr)
        finally:
            if trains_itself:
                self.training_methods.pop()
            if from_script:
                rec.entry_call = outer
        if in_module and type(result) is v.Instance and type(func) in (v.FuncVal, v.ClassVal) \
                and result is not f.self_obj and self.is_module_class(result.cls):
            rec.built_in.setdefault(id(f.self_obj), []).append(result)
        elif not in_module and type(func) is v.ClassVal and type(result) is v.Instance \
                and self.is_module_class(result.cls):
            rec.built_outside.append(result)
        # (`{"backbone": ResNet(...), "dim": 512}`: the one network in it)
        made = v.network_in(result) if type(result) is dict else result
        if isinstance(func, v.FuncVal) and isinstance(made, (*v.MODULE_VALUES, v.Opaque)):
            if not in_module:
                # A function handed the model that hands it back (`model = train_model(
                # model, ...)`, `init_weights(model)`) did not build it: it stays built
                # where it was.
                if not any(x is made for x in (*args.pos, *args.kw.values())):
                    self.built_by(made, func, loc)
            elif isinstance(made, (v.Instance, v.SeqSpec)):
                # A factory building a part of a model (also a Sequential of another
                # network's pieces: `nn.Sequential(full.stem, full.layers)`).
                rec.part_builders.setdefault(id(made), ir.model_key(func.scope.module,
                                                                    func.name))
        return result

    def built_by(self, model: Any, fn: v.FuncVal, loc: Loc | None) -> None:
        """A project function returned a model: remember it as one of the model's builders."""
        rec = self.recorder
        assert rec is not None
        key = ir.model_key(fn.scope.module, fn.name)
        found = rec.models.get(id(model))
        # A factory needs no argument (`resnet20()`): messages name the model after it. A
        # function with a loop does more than build (`main()` trains the model it returns):
        # the model keeps its class's name.
        factory = not any(default is None and kind in ("pos", "kw")
                          for _, default, kind in fn.node[2]) \
            and not any(e and e[0] in ("for", "while") for e in walk(fn.node[3]))
        builder = (key, fn.scope.loc(fn.node[5]), factory)
        if found is None or not found[3] and not isinstance(model, v.Instance):
            # A network a builder made into a local name (`net = nn.Sequential(...)`;
            # `return net`) is known by the builder: two builders' `net` are two networks.
            # (An instance of a class keeps the class's name.)
            rec.models[id(model)] = (model, fn.name, loc, [builder])
            if id(model) not in rec.modes:
                rec.set_mode(model, True)
        elif all(b[0] != key for b in found[3]):
            found[3].append(builder)
            rec.models[id(model)] = (model, found[1], loc, found[3])  # built where called

    def track_model(self, model: Any, name: str, loc: Loc | None, key: str = "") -> None:
        """A model built by training code: it starts in train mode. `key`: the model the
        project's reading knows it as, when it has one of its own."""
        rec = self.recorder
        if rec is not None and id(model) not in rec.models:
            rec.models[id(model)] = (model, name, loc, [(key, loc, True)] if key else [])
            rec.built(model, name, loc)
            rec.set_mode(model, True)

    def call_function(self, fn: v.FuncVal, args: Args) -> Any:
        rec = self.recorder
        if rec is None:
            return super().call_function(fn, args)
        self.executed.add(id(fn.node))
        if self.depth >= MAX_CALL_DEPTH and not self.active.get(id(fn.node)):
            # (A function calling itself on tensors, `decode(t[i:i + 1])`, is cut here too:
            # its outer calls read the same body, so the cut call does nothing unseen.)
            rec.event(ir.UNRESOLVED, None, what=f"{fn.name}(...)",
                      flags=frozenset({"touches-models"}))
        off = 0
        for decorator in fn.node[4]:
            if text(decorator).split("(")[0] in ("torch.no_grad", "torch.inference_mode",
                                                 "no_grad", "inference_mode"):
                off += 1
        self.grad_off += off
        try:
            return super().call_function(fn, args)
        finally:
            self.grad_off -= off

    def instantiate(self, cls: v.ClassVal, args: Args, f: Frame, loc: Loc | None) -> Any:
        if self.recorder is not None and library.is_scheduler_class(cls):
            # The project's own schedule: what its `get_lr` computes is not read, only that
            # the learning rate follows it (built, stepped) and not the optimizer's value.
            return library.make_scheduler(self, cls.name, loc, f"{cls.name} of the project")
        if self.recorder is not None and library.torch_optimizer_base(cls) is not None:
            return library.make_project_optimizer(
                self, cls, args, f, loc, lambda: super(TrainingInterp, self).instantiate(
                    cls, args, f, loc))
        rec = self.recorder
        if rec is not None and self.is_module_class(cls) and not self.in_module_code(f) \
                and not args.spread and not accepts(cls, args):
            # `Net(vocab_dim=300)` for `Net(n_out)`, a stale call: Python raises TypeError,
            # so no network is built (and none is said to train).
            where = f"{loc.path}:{loc.line}: " if loc is not None else ""
            note = (f"{where}`{cls.name}(...)` is given arguments its constructor does not "
                    "take: the call fails, so no network is built there")
            if note not in self.failed_builds:
                self.failed_builds.append(note)
            return UNKNOWN
        inst = super().instantiate(cls, args, f, loc)
        if rec is not None and isinstance(inst, v.Instance):
            if "transform" in args.kw:
                # A second pipeline the dataset applies to its images too (a joint flip of
                # image and mask): what `transform` lacks it may do, so neither is judged.
                # One for the labels alone (`target_transform`, `label_transform`) is not.
                paired = any(isinstance(x, TrainObj) and x.kind == "transform"
                             for k, x in args.kw.items()
                             if k != "transform" and not TARGET_NAME.search(k))
                inst.attrs.setdefault("__transform__", UNKNOWN if paired else args.kw["transform"])
            module = self.is_module_class(cls)
            if cls.lookup("__init__") is None and not module:
                inst.attrs.update(args.kw)  # a dataclass-like config: Config(lr=0.1)
            if module and not self.in_module_code(f):
                self.track_model(inst, cls.name, loc)
        return inst

    def call_ref(self, qualname: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        if qualname == "importlib.import_module":
            return super().call_ref(qualname, args, f, loc)
        return library.call_library(self, qualname, args, f, loc)

    def call_method(self, obj: Any, name: str, args: Args, f: Frame, loc: Loc | None) -> Any:
        rec = self.recorder
        if rec is None:
            return super().call_method(obj, name, args, f, loc)
        if isinstance(obj, TrainObj):
            return self._train_obj_method(obj, name, args, f, loc)
        if isinstance(obj, v.SuperVal) and name == "__init__" and self.optimizer_inits:
            base = library.torch_optimizer_base(obj.cls, direct=True)
            if base is not None:
                self.optimizer_inits[-1].append((base, args))
                return None
        if isinstance(obj, v.Opaque):
            return opaque.opaque_method(self, obj, name, args, f, loc)
        if isinstance(obj, v.Params):
            if obj.named and name in ("items", "values") and not args.pos:
                # `dict(model.named_parameters()).items()`: the (name, weight) pairs.
                return [(UNKNOWN, obj)] if name == "items" else [obj]
            # Tensor operations on the weights (clipping, copying, norms): they neither
            # train, validate, stop nor schedule. Scaling them by a factor not known to be
            # 1 or more is weight decay by hand.
            factor = args.pos[0] if args.pos else UNKNOWN
            if name == "mul_" and not (type(factor) in (int, float) and factor >= 1) \
                    and not self.in_module_code(f):
                rec.shrunk.append(obj.model)
            return obj if name.endswith("_") else UNKNOWN
        if isinstance(obj, v.EachModule) and name == "eval" and obj.of is not None \
                and obj.kinds and all(catalogue.family(k) == "batchnorm" for k in obj.kinds):
            # `for m in self.modules(): if isinstance(m, nn.BatchNorm2d): m.eval()`: the
            # model's BatchNorm statistics are frozen until its next `.train()`.
            rec.frozen_norms.add(id(obj.of))
            return None
        if isinstance(obj, v.GradOf) and isinstance(obj.param, v.Params):
            # A model's gradients changed in place (`p.grad.data.mul_(theta / norm)`): a
            # clip by hand, when it scales or bounds them.
            if name in ("mul_", "div_", "clamp_", "clip_") and not self.in_module_code(f):
                rec.event(ir.CLIP, loc, what=f"gradients {name}")
            return obj if name.endswith("_") else UNKNOWN
        if isinstance(obj, v.Tensor) and name == "backward":
            self._feeds_step(obj)
            rec.mark_training(step=False)
            # A loss computed from random tensors alone, some of them never fed to a model
            # (`torch.rand` labels for `torch.rand` images): a memory or speed check.
            noise = self.noise_behind(Args([obj]), limit=4096)
            rec.event(ir.BACKWARD, loc, flags=frozenset(
                {"noise-targets"} if noise and not noise <= self.noise_fed else ()))
            return None
        if isinstance(obj, v.Tensor) and name in library.RANDOM_FILLS \
                and not self.in_module_code(f):
            # `torch.zeros_like(x).uniform_(-eps, eps)`: the value handed on is fresh noise
            # (a random start for an adversarial step), not `x`; drawn on each pass of a
            # loop (`torch.empty(n).random_(classes)` as targets), data drawn afresh.
            if rec.loops:
                rec.loops[-1].draws_data = True
            return self.add_node(ir.INPUT, (), name=f"torch.Tensor.{name}")
        if type(obj) is v.Choice and not self.in_module_code(f):
            done = opaque.each_option_method(self, obj, name, args, f, loc)
            if done is not None:
                return done
        if isinstance(obj, v.MODULE_VALUES):
            if name in ("train", "eval"):
                self.set_mode(obj, name, args, loc)
                return obj
            if name == "forward" and not self.in_module_code(f):
                return self.apply(obj, args, f, loc)  # `model.forward(x)` is `model(x)`
            if name == "_get_name" and not args.pos and not args.kw:
                # torch's own: the class's name (how a loop names a loss in its log).
                return obj.cls.name if isinstance(obj, v.Instance) else \
                    obj.kind if isinstance(obj, v.LayerSpec) else UNKNOWN
            if name == "zero_grad":
                rec.event(ir.ZERO_GRAD, loc, what="model.zero_grad()")
                return None
            # Whose weights the training code took; a model's own methods (an init loop
            # over `self.modules()` in a block's constructor) take none for an optimizer.
            taken = not self.in_module_code(f)
            if name in ("parameters", "named_parameters"):
                if taken:
                    self.params_of.append((obj, self.calls[-1]))
                return v.Params(obj, named=name == "named_parameters")
            if name in ("modules", "named_modules") and taken:
                # a param-group helper sorting layers' weights
                self.params_of.append((obj, self.calls[-1]))
            if name in MODULE_METHODS and name not in ("apply", "modules", "children",
                                                       "named_children"):
                if name in torchnn.CASTS:
                    return obj
                if name == "state_dict":
                    return weights_of_model(obj, loc)
                return UNKNOWN if name != "load_state_dict" else None
            if isinstance(obj, v.Instance) and obj.cls.lookup(name) is None \
                    and name not in obj.attrs and name not in MODULE_METHODS \
                    and name not in LIGHTNING_METHODS and not self.in_module_code(f) \
                    and not (name in PLAIN_METHODS and not self.is_module_class(obj.cls)):
                # (A plain method of an object that is no network, `set_description` of a
                # loader class read through `tqdm`, trains nothing: as on a library's.)
                self.blocked_by(f"{obj.cls.name}.{name}", loc, f, True)
        elif isinstance(obj, v.Instance) and obj.cls.lookup(name) is None \
                and name not in obj.attrs:
            # A project object whose method is not in the project (a library base class).
            self.blocked_by(f"{obj.cls.name}.{name}", loc, f, True)
        return super().call_method(obj, name, args, f, loc)

    def _train_obj_method(self, obj: TrainObj, name: str, args: Args, f: Frame,
                          loc: Loc | None) -> Any:
        rec = self.recorder
        assert rec is not None
        if obj.kind == "parser":
            return self.parser_method(obj, name, args)
        if obj.kind == "optimizer":
            if name == "step":
                self._step(obj, loc, f)
                return None
            if name == "zero_grad":
                rec.event(ir.ZERO_GRAD, loc, what=f"{obj.name}.zero_grad()")
                return None
            if name == "add_param_group" and args.pos:
                library.add_param_group(self, obj, args.pos[0], loc)
                return None
            return UNKNOWN
        if obj.kind == "scaler":
            if name == "step" and args.pos and isinstance(args.pos[0], TrainObj) \
                    and args.pos[0].kind == "optimizer":
                self._step(args.pos[0], loc, f)
                return None
            if name == "step" and args.pos and not isinstance(args.pos[0], TrainObj):
                # An optimizer from a call the reader could not follow (`exp.get_optimizer()`
                # of an experiment loaded by file name): it may step any model's weights.
                self.blocked_by(f"{obj.name}.step", loc, f, True)
                return None
            tensors = tensors_in(args)
            return tensors[0] if tensors and name == "scale" else None
        if obj.kind == "loader" and not args.pos and not args.kw:
            # `it = iter(loader)` is the loader; `it.next()` (the old spelling of
            # `next(it)`) and `it.__next__()` draw one batch of it.
            if name in ("next", "__next__"):
                return self.batch_of(obj)
            if name == "__iter__":
                return obj
        if obj.kind == "weights" and name in ("values", "items"):
            # `model.state_dict().values()`: each of the model's weight tensors.
            weights = v.Params(obj.fields["model"])
            return [weights] if name == "values" else [(UNKNOWN, weights)]
        if obj.kind == "scheduler":
            library.mark_used(obj)
            if not obj.fields.get("flat"):  # (stepping one built to keep the rate keeps it)
                rec.event(ir.SCHEDULE, loc, what=f"{obj.name}.{name}()")
            return None
        if obj.kind == "trainer" and name == "fit":
            lightning.fit(self, obj, args, f, loc)
            return None
        if obj.kind == "loader":
            obj.fields["remade"] = True  # `loader.rebatch(64)`: a loader not known comes back
        return UNKNOWN

    def _step(self, optimizer: TrainObj, loc: Loc | None, f: Frame) -> None:
        rec = self.recorder
        assert rec is not None
        weights: list[Any] = []
        lost = False  # an optimizer over weights the reader lost track of
        for option in _options(optimizer):  # one of several, when an `if` picked it
            construction = rec.optimizer_objs.get(id(option))
            if construction is None or holds_unknown(construction.params):
                lost = True
            if construction is not None:
                construction.stepped = True
                weights.extend(w for w in weights_of(construction.params)
                               if w not in weights and not takes_no_input(w))
        flags = set()
        if UNKNOWN in weights:
            lost = rec.steps_unknown_model = True  # `parameters()` of a model not followed
        if weights:
            flags.add("trains")
            rec.trained.extend(w for w in weights if w is not UNKNOWN)
        elif lost:
            flags.add("unknown-weights")
        if lost:
            rec.lost_steps += 1
        roots = list({id(r): r for r in (rec.root(self, w) for w in weights
                                          if w is not UNKNOWN)}.values())
        for root in roots:
            rec.steps_of[id(root)] = rec.steps_of.get(id(root), 0) + 1
        if roots and all(self._norms_frozen(root) for root in roots):
            flags.add("norms-frozen")  # (also when no forward of them is seen: a trainer's)
        if self.accumulating > 0:
            flags.add("accumulating")
        rec.mark_training()
        rec.stepped_by[len(rec.events)] = tuple(
            c for c in (rec.optimizer_objs.get(id(o)) for o in _options(optimizer)) if c)
        known = "trains" in flags and UNKNOWN not in weights
        rec.event(ir.STEP, loc, what=optimizer.name, flags=frozenset(flags),
                  model=rec.model_names(self, weights),
                  updates=tuple(sorted({rec.token(w) for w in weights})) if known else (),
                  roots=tuple(sorted({rec.token(rec.root(self, w)) for w in weights}))
                  if known else ())
        if rec.first_step is None and loc is not None:
            rec.first_step = (loc, f.owner)

    # --- what a model holds ------------------------------------------------------------------

def _names_held_out(index: Any) -> bool:
    """An index named for held-out data: `test_idx`, `idx_val`, `data.test_mask`."""
    if type(index) is tuple and index and index[0] == "attr":
        return type(index[2]) is str and bool(HELD_OUT_NAME.search(index[2]))
    return type(index) is tuple and len(index) == 2 and index[0] == "name" \
        and bool(HELD_OUT_NAME.search(index[1]))


def _part_of(value: v.Opaque, suffix: str) -> v.Opaque:
    """An item of a library's value: the same library's (what calls on it do is known
    as well as what calls on the value do)."""
    return v.Opaque(f"{value.origin}{suffix}", value.library)


def _each_once(options: list[Any]) -> list[Any]:
    """The options of two merged choices, each object once: a choice merged with itself (in
    a loop read twice, nested `if`s) must not double."""
    return list({id(x): x for x in options}.values())


def _datasets(value: Any) -> list[TrainObj]:
    """The library datasets a value may be: itself, or the options of a merged one."""
    if not isinstance(value, TrainObj) or value.kind != "dataset":
        return []
    return list(value.fields.get("options") or [value])


def _loader(value: Any) -> bool:
    return isinstance(value, TrainObj) and value.kind == "loader"


def _optimizer(value: Any) -> bool:
    return isinstance(value, TrainObj) and value.kind == "optimizer"


def _scheduler(value: Any) -> bool:
    return isinstance(value, TrainObj) and value.kind == "scheduler"


def _options(optimizer: TrainObj) -> list[TrainObj]:
    """The optimizers (or schedulers) an undecided `if` left (itself, for one built
    unconditionally)."""
    return list(optimizer.fields.get("options", [optimizer]))


def _jumps(body: tuple[Any, ...]) -> bool:
    """A block whose last statement leaves it (`continue`, `break`, `return`)."""
    return bool(body) and body[-1][0] in ("continue", "break", "return")


def _off(value: Any) -> bool:
    """An option's default that leaves it off: None, False, empty or zero."""
    return value is None or value is False or value == "" or value == 0


def _counters_noted(test: tuple[Any, ...], body: tuple[Any, ...]) -> list[str]:
    """The names a running best's branch copies as they are, besides the value tested
    (`best_iter = total_iters`, `best_acc, best_epoch = acc, epoch`): what says which pass
    was best."""
    tested = set(identifiers(test))
    return [new[1] for kept, new in assigned_pairs(body) if kept[0] == "name"
            and new[0] == "name" and new[1] not in tested and kept != new]


def _steps_an_environment(stmt: tuple[Any, ...]) -> bool:
    """`obs, reward, done = env.step(action)` (or gym's four, gymnasium's five): a step
    taking an action and handing back what followed. An optimizer's or a scheduler's step
    hands back nothing to unpack. Environments run in worker processes hand it back by
    other calls (`state, reward, done, info = zip(*[c.recv() for c in conns])`): named so."""
    call = stmt[2]
    unpacked = [t[1] for t in stmt[1] if t[0] in ("tuple", "list") and len(t[1]) >= 3]
    if not unpacked or call[0] != "call":
        return False
    if call[1][0] == "attr" and call[1][2] == "step" and call[2]:
        return True
    names = [t[1].lower() for t in unpacked[0] if t[0] == "name"]
    return any(n.startswith(("reward", "rew")) for n in names) \
        and any(n.startswith(("done", "terminated")) for n in names)
