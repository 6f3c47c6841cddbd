"""What library calls mean in training code: DataLoaders, optimizers, schedulers, samplers,
transforms, datasets, Lightning's Trainer and callbacks, losses, checkpoints, gradient
scalers, wrappers that hand the model back, and library models. Anything else is inert
(logging, numpy, torch's own functions) or unresolved (see objects.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable

from cnnlint import catalogue, ir
from cnnlint.extract import configs, torchnn
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, Frame, identifiers, tensors_in
from cnnlint.extract.training.config import ABSENT
from cnnlint.extract.training.objects import (
    EVAL_CONTEXTS, FUNCTIONAL_LOSSES, LIGHTNING, OPTIMIZERS, WRAPPERS, TrainObj, handed_data_only,
    inert, inert_part, metric_words, model_constructor, plain_path, root_of,
)
from cnnlint.extract.training.recorder import Construction, weights_of
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp

_GRAD_SCALERS = ("torch.cuda.amp.GradScaler", "torch.amp.GradScaler",
                 "torch.cuda.amp.grad_scaler.GradScaler",
                 # timm's: called with the loss and the optimizer, they backpropagate and step.
                 "timm.utils.NativeScaler", "timm.utils.cuda.NativeScaler",
                 "timm.utils.ApexScaler", "timm.utils.cuda.ApexScaler")
_PROGRESS = ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.std.tqdm",
             "tqdm.rich.tqdm", "tqdm.autonotebook.tqdm", "builtins.iter",
             # tqdm's older notebook names, still in Kaggle notebooks
             "tqdm.tqdm_notebook", "tqdm.notebook.tqdm_notebook")
_PROGRESS_RANGES = ("tqdm.trange", "tqdm.auto.trange", "tqdm.notebook.trange",
                    "tqdm.std.trange", "tqdm.tnrange", "tqdm.notebook.tnrange",
                    "tqdm.autonotebook.trange")
# Running averages of a network's weights (SWA, EMA): evaluated as the network is; their
# `update_parameters(net)` (`update(net)` for timm's) copies weights and trains nothing.
AVERAGED_COPIES = frozenset({
    "torch.optim.swa_utils.AveragedModel", "timm.utils.ModelEma", "timm.utils.ModelEmaV2",
    "timm.utils.ModelEmaV3", "timm.utils.model_ema.ModelEma", "timm.utils.model_ema.ModelEmaV2",
    "timm.utils.model_ema.ModelEmaV3",
})
# Process launchers that call a function of the script in each process, rank first.
SPAWNS = frozenset({"torch.multiprocessing.spawn", "torch.multiprocessing.start_processes",
                    "torch.multiprocessing.spawn.spawn"})
# Tensors drawn at random from a shape: inside a loop, data that is new on every pass.
RANDOM_DATA = frozenset({"torch.randn", "torch.rand", "torch.randint", "torch.normal"})
# Random tensors shaped like another (`torch.randn_like(images)`): noise, not that tensor.
RANDOM_LIKE = frozenset({"torch.randn_like", "torch.rand_like", "torch.randint_like",
                         "torch.normal"})
# Python's and numpy's picks of examples at random.
_RANDOM_PICKS = frozenset({"random.choice", "random.choices", "random.randint", "random.randrange",
                           "random.sample", "numpy.random.choice", "numpy.random.randint"})
# A tensor's in-place random fills: what they hand back is noise.
RANDOM_FILLS = frozenset({"uniform_", "normal_", "bernoulli_", "cauchy_", "exponential_",
                          "geometric_", "log_normal_", "random_"})
NOISE = RANDOM_DATA | RANDOM_LIKE | {f"torch.Tensor.{name}" for name in RANDOM_FILLS}
# torch.nn.init's random fills (also without the trailing underscore, as older code wrote).
_INIT_DRAWS = frozenset({"torch.nn.init.normal", "torch.nn.init.uniform",
                         "torch.nn.init.trunc_normal"})
_FROM_ARRAY = frozenset({"torch.from_numpy", "torch.tensor", "torch.as_tensor",
                         "torch.Tensor", "torch.FloatTensor"})
_COPIES = ("shutil.copyfile", "shutil.copy", "shutil.copy2", "shutil.move", "os.rename",
           "os.replace")


def make_scheduler(interp: TrainingInterp, name: str, loc: Loc | None,
                   kind: str = "", flat: str = "") -> TrainObj:
    """A learning-rate scheduler built (torch's, a library's, or a project's subclass of
    torch's, named by its class): a schedule event. `kind` is what the run records of it,
    when not its name (a project's class named like torch's, a rising ExponentialLR);
    `flat`, the arguments that make it keep the rate as it is (`milestones=[]`)."""
    rec = interp.recorder
    assert rec is not None
    rec.schedulers.append(kind or name)
    scheduler = TrainObj("scheduler", name, loc, {"flat": bool(flat)})
    rec.scheduler_builds.append((scheduler, len(rec.events)))
    rec.event(ir.SCHEDULE, loc, what=f"{name}({flat})" if flat else name,
              flags=frozenset({ir.FLAT}) if flat else frozenset())
    return scheduler


# Where torch's step schedulers take the arguments that can make them change nothing.
_FACTOR_AT = {"StepLR": 2, "MultiStepLR": 2, "ExponentialLR": 1}


def _flat_schedule(name: str, args: Args) -> str:
    """The known arguments with which one of torch's step schedulers keeps the rate as it
    is (a factor of 1, `MultiStepLR` with no milestones), as source text; "" otherwise."""
    if name not in _FACTOR_AT:
        return ""
    at = _FACTOR_AT[name]
    gamma = args.kw.get("gamma", args.pos[at] if len(args.pos) > at else 0.1)
    if type(gamma) in (int, float) and gamma == 1:
        return f"gamma={gamma!r}"
    milestones = args.kw.get("milestones", args.pos[1] if len(args.pos) > 1 else None)
    if name == "MultiStepLR" and type(milestones) in (list, tuple) and not milestones:
        return f"milestones={milestones!r}"
    return ""


def mark_used(scheduler: TrainObj) -> None:
    """A scheduler stepped, read or handed on: it is not idle, nor is any it may be."""
    scheduler.fields["used"] = True
    for option in scheduler.fields.get("options", ()):
        option.fields["used"] = True


def touch_schedulers(values: Iterable[Any], depth: int = 0) -> None:
    """Mark the schedulers among `values` (also inside lists, tuples and dicts) as used: code
    the reader does not follow may step them."""
    for value in values:
        if type(value) is TrainObj and value.kind == "scheduler":
            mark_used(value)
        elif depth < 3 and type(value) in (list, tuple):
            touch_schedulers(value, depth + 1)
        elif depth < 3 and type(value) is dict:
            touch_schedulers(value.values(), depth + 1)


def is_scheduler_class(cls: v.ClassVal) -> bool:
    """A project class derived from one of torch's learning-rate schedulers."""
    return any(base.startswith("torch.optim.lr_scheduler.")
               for base in cls.library_bases())


def public_optimizer(qualname: str) -> str:
    """`torch.optim.sgd.SGD` (imported from the module that defines it) as its public name,
    `torch.optim.SGD`; any other name as it is."""
    head, _, last = qualname.rpartition(".")
    if last in OPTIMIZERS and head.startswith("torch.optim.") and head.count(".") == 2 \
            and head[len("torch.optim."):].replace("_", "") == last.lower():
        return f"torch.optim.{last}"
    return qualname


def torch_optimizer_base(cls: v.ClassVal, direct: bool = False) -> str | None:
    """The torch optimizer a project class derives from (`Optimizer` for the base class,
    `SGD`, ...), through the project's classes unless `direct`; None for any other class."""
    bases = [b.qualname for b in cls.bases if isinstance(b, v.Ref)] if direct \
        else cls.library_bases()
    for qualname in bases:
        head, _, last = public_optimizer(qualname).rpartition(".")
        if head in ("torch.optim", "torch.optim.optimizer") \
                and (last == "Optimizer" or last in OPTIMIZERS):
            return last
    return None


def make_project_optimizer(interp: TrainingInterp, cls: v.ClassVal, args: Args, f: Frame,
                           loc: Loc | None, construct: Callable[[], Any]) -> TrainObj:
    """A project's optimizer class (a subclass of torch's `Optimizer`, or of `SGD`...): its
    constructor runs (`construct`, the plain instantiation), and the weights and settings
    it hands to torch's constructor are the optimizer's. Its own `step` is not read; a class
    that keeps torch's `step` is that optimizer, one that writes its own is judged only by
    what any optimizer must have."""
    handed: list[tuple[str, Args]] = []
    if isinstance(cls.lookup("__init__"), v.FuncVal):
        interp.optimizer_inits.append(handed)
        try:
            construct()
        finally:
            interp.optimizer_inits.pop()
    else:  # torch's constructor, given what the class was
        handed.append((torch_optimizer_base(cls) or "Optimizer", args))
    base, given = handed[0] if handed else ("Optimizer", Args([UNKNOWN], {}))
    own_step = isinstance(cls.lookup("step"), v.FuncVal)
    if base in OPTIMIZERS and not own_step:
        return make_optimizer(interp, base, given, f, loc)
    if base in OPTIMIZERS:
        names = OPTIMIZERS[base][0]
        bound = dict(zip(names, given.pos))
        bound.update(given.kw)
    else:
        # torch's `Optimizer(params, defaults)`: the settings are the defaults' entries.
        params = given.pos[0] if given.pos else given.kw.get("params", UNKNOWN)
        defaults = given.pos[1] if len(given.pos) > 1 else given.kw.get("defaults", UNKNOWN)
        bound = {**(defaults if type(defaults) is dict else {}), "params": params}
    settings = {k: x for k, x in bound.items() if k in ("lr", "weight_decay")}
    return make_optimizer(interp, cls.name, Args([bound.get("params", UNKNOWN)], settings), f,
                          loc, spec=(("params",), None))


def call_library(interp: TrainingInterp, qualname: str, args: Args, f: Frame,
                 loc: Loc | None) -> Any:
    rec = interp.recorder
    if rec is None:
        return torchnn.call_torch(interp, qualname, args, f, loc)
    head, _, last = public_optimizer(qualname).rpartition(".")
    found = configs.library_call(qualname, args, interp.file_bases)
    if found is UNKNOWN and configs.is_path_class(qualname):
        # `Path(where)` of a path not known: still a path, whose methods (`resolve()`,
        # `parent.mkdir()`) only touch the file system.
        return v.Opaque(f"{qualname}(...)", "pathlib")
    if found is not configs.ABSENT:
        return found
    config = interp.config_call(qualname, args, loc)
    if config is not ABSENT:
        return config
    if qualname == "itertools.chain" and any(isinstance(x, v.Params) for x in args.pos):
        # `Adam(chain(g.parameters(), d.parameters()))`: the weights of every model chained.
        return list(args.pos)
    if qualname in EVAL_CONTEXTS:
        enabled = False if qualname != "torch.set_grad_enabled" else (
            args.pos[0] if args.pos else UNKNOWN)
        return TrainObj("grad_context", last, loc, {"enabled": enabled})
    if qualname.startswith("torch.utils.data") and last == "DataLoader":
        return make_loader(interp, args, f, loc)
    if qualname == "builtins.vars" and len(args.pos) == 1 and isinstance(args.pos[0], TrainObj) \
            and args.pos[0].kind == "namespace":
        return dict(args.pos[0].fields["values"])  # `config = vars(parse_args())`
    if qualname == "builtins.filter" and len(args.pos) == 2 and isinstance(args.pos[1], v.Params):
        return args.pos[1]  # `filter(lambda p: p.requires_grad, model.parameters())`
    if qualname in ("builtins.iter", "builtins.next") and len(args.pos) == 1 \
            and isinstance(args.pos[0], TrainObj) and args.pos[0].kind == "loader":
        # `next(iter(val_loader))`: one batch of that loader. Drawn outside any loop from a
        # loader whose batch size is not a known number (`batch_size=len(train_set)`), it
        # may be the whole set, loaded once and cut into batches by the script's own code.
        size = args.pos[0].fields.get("batch_size")
        if last == "next" and not rec.loops and not (size is not None and size.known):
            args.pos[0].fields["drawn_once"] = True
        return args.pos[0] if last == "iter" else interp.batch_of(args.pos[0])
    if qualname in SPAWNS and (args.pos or "fn" in args.kw):
        # `mp.spawn(main_worker, nprocs=n, args=(n, args))`: each process runs
        # `main_worker(rank, n, args)`; the first one's run is read.
        given = args.kw.get("args", args.pos[1] if len(args.pos) > 1 else ())
        if type(given) is tuple:
            interp.call(args.pos[0] if args.pos else args.kw["fn"], Args([0, *given]), f, loc)
            return None
    if head == "torch.optim" and last in OPTIMIZERS:
        return make_optimizer(interp, last, args, f, loc)
    if head.startswith("timm.scheduler") and last in ("create_scheduler",
                                                      "create_scheduler_v2"):
        # timm's factories hand back the scheduler and the number of epochs it runs.
        return make_scheduler(interp, last, loc), UNKNOWN
    if head.startswith("torch.optim.lr_scheduler") or "schedule" in last.lower():
        gamma = args.kw.get("gamma", args.pos[1] if len(args.pos) > 1 else None)
        rising = last == "ExponentialLR" and not (isinstance(gamma, (int, float))
                                                  and gamma <= 1)
        # (An ExponentialLR whose factor may exceed 1 raises the rate: an LR range test.)
        if last in _CYCLING_MOMENTUM and args.kw.get("cycle_momentum", True) is not False:
            rec.cycles_momentum = True  # it writes a momentum into the optimizer's groups
        return make_scheduler(interp, last, loc, "ExponentialLR rising" if rising else "",
                              _flat_schedule(last, args))
    if qualname in ("timm.utils.get_state_dict", "timm.utils.model.get_state_dict"):
        return v.Opaque(f"{qualname}(...)", "timm")  # a copy of the weights, to save
    if "Sampler" in last and any(w in last for w in ("Weighted", "Balanced", "Imbalanced")):
        rec.resampling.append(last)
        return TrainObj("sampler", last, loc)
    if qualname.startswith(_TRANSFORM_LIBRARIES) and last[:1].isupper() \
            or qualname == "torch.nn.Sequential" and transform_sequence(args):
        return make_transform(interp, last, args, loc)
    if qualname in _SPLITS and (args.pos or "dataset" in args.kw):
        return _split(interp, qualname, args)
    if qualname.startswith("torchvision.datasets."):
        # `ImageFolder(root, transform)`, `CIFAR10(root, train, transform)`: given by place.
        at = _DATASET_TRANSFORM_AT.get(last, 99)
        # (Not given to a dataset whose arguments are all known: None, Python's default.)
        given_all = last in _DATASET_TRANSFORM_AT and not (args.open_pos or args.open_kw)
        transform = args.kw.get("transform", args.pos[at] if len(args.pos) > at
                                else None if given_all else UNKNOWN)
        split = args.kw.get("split", args.kw.get("train", args.pos[1] if at == 2 and len(
            args.pos) > 1 else ""))
        return TrainObj("dataset", last, loc, {"transform": transform, "image": True,
                                               "split": "train" if split is True else
                                               "test" if split is False else str(split)})
    if head.startswith(LIGHTNING) and last == "Trainer":
        return make_trainer(interp, args, f, loc)
    if head.startswith(LIGHTNING) and head.endswith(".Trainer") and args.pos \
            and isinstance(args.pos[0], TrainObj):
        given = args.pos[0]
        if last == "add_argparse_args" and given.kind == "parser":
            # It adds the Trainer's own flags (their defaults are the Trainer's): the
            # project's options keep theirs.
            return given
        if last == "from_argparse_args" and given.kind == "namespace":
            # `Trainer(**vars(args), **overrides)`, as Lightning builds it.
            trainer = make_trainer(interp, Args([], {**given.fields["values"], **args.kw}),
                                   f, loc)
            epochs = trainer.fields["epochs"]
            if "max_epochs" in given.fields["values"] and "max_epochs" not in args.kw \
                    and isinstance(epochs, ir.Setting):
                flag = given.fields.get("flags", {}).get("max_epochs", "--max_epochs")
                epochs = replace(epochs, origin=f"argparse default of `{flag}`")
                trainer.fields["epochs"] = rec.trainer_epochs = epochs
            return trainer
    if head.startswith(LIGHTNING) and last in ("EarlyStopping", "ModelCheckpoint"):
        monitor, better = args.kw.get("monitor"), args.kw.get("mode", "min")
        flags = frozenset() if "mode" in args.kw else frozenset({"default-mode"})
        if "mode" not in args.kw and isinstance(monitor, str) \
                and any(k in args.kw for k in _LIGHTNING_BEFORE_1_3):
            # Written for Lightning before 1.3 (`filepath=`, `period=`), whose default mode
            # "auto" maximised a metric named for an accuracy and minimised the rest.
            better = "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
            flags = frozenset()
        watched = {"metric": monitor, "better": better, "flags": flags} \
            if isinstance(monitor, str) and better in ("min", "max") else {}
        if last == "EarlyStopping":
            rec.event(ir.EARLY_STOP, loc, what=last, **watched)
        elif monitor is not None:
            rec.event(ir.BEST_CHECKPOINT, loc, what=last, **watched)
        return TrainObj("callback", last, loc)
    if qualname in ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                    "torch.nn.functional.binary_cross_entropy_with_logits"):
        return functional_loss(interp, qualname, args, f, loc)
    if qualname in _REGRESSION_FUNCTIONS and not_averaged(args.kw) and interp.grad_off == 0:
        rec.sums_a_loss = True  # `F.mse_loss(out, target, reduction="sum")`
    if qualname in _REGRESSION_FUNCTIONS or qualname in _RECONSTRUCTION_FUNCTIONS:
        note_rebuilding(interp)
    if qualname in ("copy.deepcopy", "copy.copy"):
        _copies_weights(interp, args, loc)
    if qualname == "torch.save" or qualname in _COPIES:
        checkpoint(interp, args, loc)
        return None
    if qualname in _GRAD_SCALERS:
        return TrainObj("scaler", last, loc)
    if qualname.startswith("torch.nn.utils.clip_grad"):
        rec.event(ir.CLIP, loc, what=last)
    if qualname in _TIMM_OPTIMIZER_FACTORIES:
        made = timm_optimizer(interp, args, f, loc)
        if made is not None:
            return made
    if qualname in AVERAGED_COPIES:
        return v.Opaque(f"{last}(...)", root_of(qualname), model=True, averages=True)
    if qualname in WRAPPERS:
        model = args.pos[0] if args.pos else args.kw.get("module", UNKNOWN)
        if isinstance(model, v.Opaque):
            model.model = True
        return model
    if qualname in _PROGRESS:
        return args.pos[0] if args.pos else UNKNOWN
    if qualname in _PROGRESS_RANGES:  # `trange(epochs)`: range(epochs) with a progress bar
        from cnnlint.extract.builtins import BUILTINS

        return BUILTINS["range"](interp, args)
    if qualname == "apex.amp.initialize":
        # Mixed precision patches the model and optimizer in place and hands them back.
        given = [*args.pos[:2], *(args.kw[k] for k in ("models", "optimizers") if k in args.kw)]
        return tuple(given) if len(given) == 2 else given[0] if given else UNKNOWN
    if qualname == "builtins.next" and args.pos:
        loader = args.pos[0]
        if isinstance(loader, TrainObj) and loader.kind == "loader":
            return interp.iterate(loader)[0]  # type: ignore[index]
    if "train" in last.lower() and not interp.in_module_code(f):
        # Control handed to a library's training (`basicsr.train.train_pipeline(root)`,
        # `mmdet.apis.train_detector(...)`): it may build, by name from its configuration,
        # any network registered with it.
        interp.library_builds.add((root_of(qualname), ""))
    if model_constructor(qualname):
        interp.library_builds.add((root_of(qualname), _literal_name(interp)))
        families = catalogue.library_families(qualname, args.kw, len(args.pos),
                                              args.open_pos or args.open_kw)
        model = v.Opaque(f"{qualname}(...)", root_of(qualname), model=True, families=families,
                         head=catalogue.library_head(qualname) or "",
                         head_families=(families or frozenset()) & frozenset({"dropout"})
                         if catalogue.head_holds_dropout(qualname) else frozenset())
        rec.set_mode(model, True)
        return model
    if qualname in _JOINS:
        joined = torchnn.call_torch(interp, qualname, args, f, loc)
        _joins_batches(interp, args, joined)
        return joined
    if qualname.rstrip("_") in _INIT_DRAWS and args.pos and type(args.pos[0]) is v.Tensor:
        # `init.normal(torch.FloatTensor(b, 1, 28, 28), 0, 0.1)` in training code: a data
        # tensor filled at random (a denoising autoencoder's noise), no weight initialised.
        return interp.add_node(ir.INPUT, (), name="torch.randn")
    if torchnn.knows(qualname):
        return torchnn.call_torch(interp, qualname, args, f, loc)
    tensors = tensors_in(args)
    if inert(qualname) or _plain_command(qualname, args):
        if qualname in _RANDOM_PICKS and rec.loops:
            # `random.choice(examples)` on each pass of a loop: it trains on a sample drawn
            # afresh each time (an iteration), not on the whole set (an epoch).
            rec.loops[-1].picks_examples = True
        if qualname in RANDOM_LIKE and tensors:
            return interp.add_node(ir.INPUT, (), name=qualname)  # fresh noise
        if tensors:
            return torchnn.call_torch(interp, qualname, args, f, loc)
        if qualname.startswith("torch.") and (not last[:1].isupper()
                                              or last.endswith("Tensor")):
            if qualname in RANDOM_DATA and rec.loops:
                rec.loops[-1].draws_data = True
            if qualname in _FROM_ARRAY and args.pos and _all_ones(args.pos[0]):
                # `torch.from_numpy(np.ones(n))`, `torch.tensor([1.0])`: a weight of 1 for
                # every class (or for the positives) weighs none of them.
                qualname = "torch.ones"
            return interp.add_node(ir.INPUT, (), name=qualname)  # randn, tensor, load: data
        # (What Lightning's inert helpers return, an argument parser, stays inert: its
        # package's other values may not.)
        return v.Opaque(f"{qualname}(...)",
                        qualname if inert_part(qualname) else root_of(qualname))
    # A library's function given a network (`d2l.evaluate_loss(net, test_iter, loss)`) may
    # do anything with it, evaluate it included, also when tensors come with it; one given
    # tensors alone is read as a tensor operation.
    if not tensors and handed_data_only(args):
        # Given only data (`Bar(loader)`, a progress bar): it cannot reach a
        # network, an optimizer or a schedule (nor the script's names), so it holds no
        # step a rule could miss.
        return v.Opaque(f"{qualname}(...)", root_of(qualname), detached=True)
    if not tensors or any(isinstance(x, (*v.MODULE_VALUES, v.Params))
                          for x in (*args.pos, *args.kw.values())):
        touches = interp.touches_models(args, False)
        interp.blocked_by(qualname, loc, f, touches)
        return v.Opaque(f"{qualname}(...)", detached=not touches)
    return torchnn.call_torch(interp, qualname, args, f, loc)


_JOINS = frozenset({"torch.cat", "torch.concat", "torch.concatenate"})
# Keywords of Lightning's callbacks that later releases removed: code written for a release
# before 1.3, when their `mode` defaulted to "auto".
_LIGHTNING_BEFORE_1_3 = ("filepath", "period", "prefix")
# torch's schedulers that also cycle the optimizer's momentum, unless told not to.
_CYCLING_MOMENTUM = frozenset({"CyclicLR", "OneCycleLR"})


def _joins_batches(interp: TrainingInterp, args: Args, joined: Any) -> None:
    """`torch.cat((real, fake), dim=0)`, a loader's batch joined with other tensors along
    the batch axis: a model called on it sees a batch larger than the loader's (a
    discriminator on real and generated images, the two views of a contrastive step)."""
    dim = args.pos[1] if len(args.pos) > 1 else args.kw.get("dim", args.kw.get("axis", 0))
    parts = args.pos[0] if args.pos else args.kw.get("tensors")
    if dim != 0 or type(joined) is not v.Tensor or not isinstance(parts, (list, tuple)):
        return
    tensors = [t for t in parts if type(t) is v.Tensor]
    if len(tensors) >= 2 and any(interp.loaders_behind(Args([t])) for t in tensors):
        interp.joined_batches.add(joined.node)


def _all_ones(value: Any) -> bool:
    """`np.ones(n)`, or a list of constants that are all 1 (`[1.0]`, `[1, 1, 1]`)."""
    if isinstance(value, v.Opaque):
        return value.origin.startswith("numpy.ones(")
    return type(value) in (list, tuple) and bool(value) and all(
        type(x) in (int, float) and x == 1 for x in value)


def checkpoint(interp: TrainingInterp, args: Args, loc: Loc | None) -> None:
    """`torch.save` or a file copy: a best checkpoint when it happens under a test of a
    metric (`if is_best:`, `if val_loss < best:`, or one that keeps the best value: `if v <
    lowest: lowest = v`) or writes a file named for the best."""
    rec = interp.recorder
    assert rec is not None
    names = [x for x in (*args.pos, *args.kw.values()) if type(x) is str]
    if interp.running_bests or any(metric_words(test) and not _periodic(test)
                                   for test in interp.conditions) or any(
            "best" in name.lower() for name in names):
        rec.event(ir.BEST_CHECKPOINT, loc, what="a checkpoint on a metric")
    elif rec.loops:
        file_expr = _argument_expr(interp, 1, "f")
        for name in sorted(set(identifiers(file_expr))) if file_expr is not None else ():
            rec.event(ir.SAVED_BY_NAME, loc, what=name)


def _periodic(test: tuple[Any, ...]) -> bool:
    """`i % valid_interval == 0`, `not epoch % save_every`: a save on a schedule, whatever
    its names say (a name with `valid` in it is no metric compared)."""
    if test[0] == "unary" and test[1] == "not":
        test = test[2]
    if test[0] == "compare" and len(test[2]) == 1 and test[2][0][0] in ("==", "!="):
        test = test[1]
    return test[0] == "binop" and test[1] == "%"


def _copies_weights(interp: TrainingInterp, args: Args, loc: Loc | None) -> None:
    """`best = copy.deepcopy(model.state_dict())` (or of the model) under a test of a
    metric keeps the best weights in memory: a best checkpoint, saved after the loop."""
    rec = interp.recorder
    assert rec is not None
    kept = args.pos[0] if args.pos else None
    weights = (isinstance(kept, TrainObj) and kept.kind == "weights") or isinstance(
        kept, v.MODULE_VALUES) or (isinstance(kept, v.Opaque) and kept.model)
    if weights and (interp.running_bests or any(metric_words(test)
                                                for test in interp.conditions)):
        rec.event(ir.BEST_CHECKPOINT, loc, what="a copy of the weights on a metric")


# Parts of a dataset: its items, through its own pipeline.
_SPLITS = frozenset(f"torch.utils.data.{where}{name}" for where in ("", "dataset.")
                    for name in ("random_split", "Subset"))


def _split(interp: TrainingInterp, qualname: str, args: Args) -> Any:
    """`random_split(data, [0.8, 0.2])`, `Subset(data, indices)`: parts of `data`, whose
    items go through its pipeline (each a dataset of its own, holding `data` as its
    `.dataset`: a transform set there is every part's)."""
    whole = args.pos[0] if args.pos else args.kw["dataset"]
    # (Each part is named by the variable it is assigned to, as `val_set`, not the whole's.)
    part = (lambda: TrainObj(whole.kind, whole.name, whole.loc, {
        **{k: x for k, x in whole.fields.items() if k not in ("var", "transform")},
        "whole": whole.fields.get("whole", whole)})) \
        if isinstance(whole, TrainObj) and whole.kind == "dataset" else \
        (lambda: whole) if isinstance(whole, v.Instance) else None
    if part is None:
        return UNKNOWN
    if isinstance(whole, TrainObj):
        whole.fields["parted"] = True  # (a pipeline set on it later is every part's)
    if qualname.endswith("Subset"):
        return part()
    lengths = args.pos[1] if len(args.pos) > 1 else args.kw.get("lengths", UNKNOWN)
    # (`[len(data) - n_val, n_val]`: two parts, whatever their sizes.)
    count = len(lengths) if type(lengths) in (list, tuple) else interp.count(lengths)
    return UNKNOWN if count is None else [part() for _ in range(count)]


def make_loader(interp: TrainingInterp, args: Args, f: Frame, loc: Loc | None) -> TrainObj:
    dataset = args.pos[0] if args.pos else args.kw.get("dataset", UNKNOWN)
    batch = interp.setting(args, 1, "batch_size", f, loc, default=1)
    shuffle = interp.arg(args, 2, "shuffle")[0]
    sampler = interp.arg(args, 3, "sampler")[0]
    if "batch_sampler" in args.kw:
        # The batch sampler decides the batches' size and what they hold (a project's may
        # balance the classes).
        batch, sampler = None, args.kw["batch_sampler"]
    loader = TrainObj("loader", "DataLoader", loc, {
        "dataset": dataset, "batch_size": batch,
        "shuffle": None if shuffle is ABSENT else shuffle,
        "sampler": sampler.name if isinstance(sampler, TrainObj) else (
            "" if sampler is ABSENT or sampler is None else "unknown"),
        "symbol": f.owner,
    })
    assert interp.recorder is not None
    call = interp.recorder.entry_call
    if call is not None and f.scope.path != call.path:
        loader.fields["called_at"] = call  # (a helper of another file builds it)
    interp.recorder.loaders.append(loader)
    return loader


# Where torchvision's datasets take `transform` by position (after the root, and the split
# or train flag of the classic benchmarks).
_DATASET_TRANSFORM_AT = {"ImageFolder": 1, **dict.fromkeys((
    "MNIST", "FashionMNIST", "KMNIST", "QMNIST", "CIFAR10", "CIFAR100", "SVHN"), 2)}


# timm's optimizer factories, given the model (and, for the first, the script's options).
_TIMM_OPTIMIZER_FACTORIES = frozenset(
    f"timm.optim.{module}{name}" for module in ("", "optim_factory.", "_optim_factory.")
    for name in ("create_optimizer", "create_optimizer_v2"))
# timm's optimizer names, for the torch optimizer each builds.
_TIMM_OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adam": "Adam",
                    "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam",
                    "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamax": "Adamax"}


def timm_optimizer(interp: TrainingInterp, args: Args, f: Frame,
                   loc: Loc | None) -> TrainObj | None:
    """`create_optimizer(args, model)` or `create_optimizer_v2(model, opt="adamw",
    weight_decay=0.05)`: the torch optimizer timm builds over the model's weights, with the
    weight decay it is given; its learning rate and momentum are left unknown (timm scales
    and fills them). None when the optimizer's name is not known."""
    options = args.pos[0] if args.pos and isinstance(args.pos[0], TrainObj) \
        and args.pos[0].kind == "namespace" else None
    if options is not None:
        model = args.pos[1] if len(args.pos) > 1 else args.kw.get("model", UNKNOWN)
        given = dict(options.fields["values"])
    else:
        model = args.pos[0] if args.pos else args.kw.get("model_or_params", UNKNOWN)
        given = {**dict(zip(("opt", "lr", "weight_decay", "momentum"), args.pos[1:])),
                 **args.kw}
    opt = given.get("opt", "sgd")
    kind = _TIMM_OPTIMIZERS.get(opt.lower().rsplit("_", 1)[-1]) if type(opt) is str else None
    if kind is None or not isinstance(model, (*v.MODULE_VALUES, v.Opaque)):
        return None
    decay = given.get("weight_decay", 0.0)
    params = interp.call_method(model, "parameters", Args(), f, loc)
    return make_optimizer(interp, kind, Args([params], {
        "lr": UNKNOWN, "momentum": UNKNOWN,
        "weight_decay": decay if type(decay) in (int, float) else UNKNOWN}), f, loc)


def make_optimizer(interp: TrainingInterp, kind: str, args: Args, f: Frame, loc: Loc | None,
                   spec: tuple[tuple[str, ...], float | None] | None = None) -> TrainObj:
    """An optimizer built: torch's `kind`, or a project's class with `spec` (its positional
    parameters, default learning rate), whose defaults for what it is not given are not
    known."""
    names, default_lr = spec or OPTIMIZERS[kind]
    params = args.pos[0] if args.pos else args.kw.get("params", UNKNOWN)
    groups = [g for g in params if type(g) is dict] if type(params) is list else []

    def pick(name: str, default: Any) -> ir.Setting | None:
        index = names.index(name) if name in names else 99
        setting = [g for g in groups if name in g]
        values = [g[name] for g in setting]
        every = bool(groups) and len(groups) == len(params) and len(setting) == len(groups)
        if not every:
            # The optimizer's own value, which the groups that do not set theirs use.
            own = interp.setting(args, index, name, f, loc) or (
                ir.Setting(default, "torch default", loc) if default is not None else None)
            if not setting or own is None:
                return own
            values.append(own.value)
        origin = "a param group" if len(values) == 1 else "the param groups"
        if all(type(x) in (int, float) for x in values):
            # A decay on any group regularises: the largest is the one that counts.
            if len(set(values)) == 1 or name == "weight_decay":
                return ir.Setting(max(values), origin, loc)
            return ir.Setting(None, origin, loc, spread=(min(values), max(values)))
        return ir.Setting(None, origin, loc)

    lr_value = interp.arg(args, 1, "lr")[0]
    if _reads_varied_option(interp, _argument_expr(interp, 1, "lr"), f):
        lr_value = UNKNOWN  # `lr=args.lr`, divided by 10 after each stage: not one rate
    optimizer = ir.Optimizer(
        loc=loc, kind=kind, lr=pick("lr", default_lr),
        momentum=pick("momentum", 0.0) if "momentum" in names else None,
        weight_decay=pick("weight_decay", None if spec else 1e-2 if kind == "AdamW" else 0.0),
        symbol=f.owner)
    rec = interp.recorder
    assert rec is not None
    if (optimizer.weight_decay is None or not optimizer.weight_decay.known) and loc is not None:
        note = (f"{loc.path}:{loc.line}: the weight decay of `{kind}` is not known: rules "
                "about regularising the models it trains stay silent")
        if note not in rec.notes:
            rec.notes.append(note)
    # Groups holding weights the reader lost: one whose tensors are not known, or every
    # group empty (torch refuses an optimizer with nothing to optimise: a helper filled them
    # in a way not followed).
    groups_of_unknown = type(params) in (list, tuple) and params and all(
        type(group) is dict for group in params) and (
        any(group.get("params", UNKNOWN) is UNKNOWN for group in params)
        or all(group.get("params") in ([], ()) for group in params))
    # Weights taken where they may flow into this call: by a call still running (the
    # optimizer's own, or one that called it, passing them on), or by one made since the
    # optimizer's own call began (a helper returning param groups); not by a call that
    # ended before (a weight count elsewhere).
    running, began = set(interp.calls), interp.calls[-1]
    taken = [m for m, call in interp.params_of if call in running or call > began]
    if not weights_of(params) and (type(params) not in (list, tuple) or groups_of_unknown) \
            and taken:
        # `filter(lambda p: p.requires_grad, model.parameters())`, a param-group helper
        # (also one returning groups whose tensors were sorted by a test not known): the
        # weights went through code whose result is not known, but they are weights (of
        # the one model whose parameters were taken, when there is one; a part of it taken
        # too, as when a script freezes `model.backbone.parameters()`, is still that model).
        models = list({id(m): m for m in taken}.values())
        inside = {id(part) for m in models for part in interp.submodules(m) if part is not m}
        models = [m for m in models if id(m) not in inside]
        params = v.Params(models[0] if len(models) == 1 else UNKNOWN)
    obj = TrainObj("optimizer", kind, loc, {"ir": optimizer})
    construction = Construction(optimizer, params, rec.loop_ids(),
                                lr_value if lr_value is not ABSENT else default_lr)
    rec.constructions.append(construction)
    rec.optimizer_objs[id(obj)] = construction
    return obj


def _argument_expr(interp: TrainingInterp, index: int, name: str) -> Any:
    """The expression written for an argument of the call being made, or None."""
    pos, kw = interp.call_exprs()
    return kw.get(name) or (pos[index] if len(pos) > index else None)


def _reads_varied_option(interp: TrainingInterp, expr: Any, f: Frame) -> bool:
    """Whether an expression reads a command-line option that a loop of the pass writes
    (see `TrainingInterp.assign`)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if type(e) is not tuple or not e:
            continue
        if e[0] == "attr" and type(e[1]) is tuple and plain_path(e[1]):
            base = interp.eval(e[1], f)
            if isinstance(base, TrainObj) and base.kind == "namespace" \
                    and e[2] in base.fields.get("varied", ()):
                return True
        stack.extend(x for x in e[1:] if type(x) is tuple)
    return False


def add_param_group(interp: TrainingInterp, optimizer: TrainObj, group: Any,
                    loc: Loc | None) -> None:
    """`optimizer.add_param_group({"params": ..., "weight_decay": 5e-4})`: the group's
    weights are trained too, and a decay it sets is the optimizer's decay on them."""
    rec = interp.recorder
    assert rec is not None
    construction = rec.optimizer_objs.get(id(optimizer))
    if construction is None:
        return
    if type(group) is not dict:
        construction.params = [construction.params, UNKNOWN]
        return
    construction.params = [construction.params, group.get("params", UNKNOWN)]
    if "weight_decay" not in group:
        return
    decay, current = group["weight_decay"], construction.optimizer.weight_decay
    if current is not None and current.known and current.value > 0:  # type: ignore[operator]
        return  # some weights already decay
    known = type(decay) in (int, float) and type(decay) is not bool
    construction.optimizer.weight_decay = ir.Setting(decay if known else None,
                                                     "a param group", loc)


def _plain_command(qualname: str, args: Args) -> bool:
    """A command run from training code whose text is known and runs no script
    (`os.system("mkdir -p runs")`): it cannot evaluate the model."""
    if not qualname.startswith(("subprocess.", "os.system", "os.popen")) or not args.pos:
        return False
    given = args.pos[0]
    words = [given] if type(given) is str else list(given) if type(given) in (list, tuple) \
        else None
    if not words or not all(type(w) is str for w in words):
        return False
    text = " ".join(words)
    return not any(marker in text for marker in ("python", ".py", ".sh", "bash"))


def given_optimizer(interp: TrainingInterp, name: str) -> TrainObj:
    """An optimizer passed to a function read without its caller: it holds some model's
    weights, but which optimizer it is and with what settings is not known."""
    rec = interp.recorder
    assert rec is not None
    obj = TrainObj("optimizer", f"`{name}`", None)
    rec.optimizer_objs[id(obj)] = Construction(
        ir.Optimizer(loc=None, kind="unknown", lr=None), v.Params(UNKNOWN), (), None,
        given=True)
    return obj


def make_transform(interp: TrainingInterp, name: str, args: Args, loc: Loc | None) -> TrainObj:
    # `Lambda(fn)` runs the project's own code, which may draw at random (a flip with
    # probability 0.5): what it does is not known.
    items: list[str] | None = None if name == "Lambda" else [name]
    if name in ("Compose", "OneOf", "RandomApply", *_SEQUENCES):
        if name in _SEQUENCES:  # the transforms given one by one (`Sequential(flip, crop)`)
            parts: list[Any] | None = list(args.pos)
        else:
            parts = interp.iterate(args.pos[0] if args.pos else args.kw.get("transforms",
                                                                            UNKNOWN))
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
        if name not in ("Compose", *_SEQUENCES) and items is not None:
            items = [name, *items]
    return TrainObj("transform", name, loc, {"items": items})


_TRANSFORM_LIBRARIES = ("torchvision.transforms", "albumentations", "kornia.augmentation")
# Containers that apply the transforms given to them in turn: kornia's, and an
# `nn.Sequential` of transforms (kornia's augmentations are modules).
_SEQUENCES = ("AugmentationSequential", "ImageSequential", "VideoSequential", "Sequential")


def transform_sequence(args: Args) -> bool:
    """Whether `nn.Sequential(...)` is given transforms only (and at least one): a library's,
    or the project's own deriving from one (`class RandomBlur(AugmentationBase2D)`, which
    may draw at random: what it does is not known)."""
    return bool(args.pos) and not args.open_pos and all(
        isinstance(part, TrainObj) and part.kind == "transform" or _project_transform(part)
        for part in args.pos)


def _project_transform(value: Any) -> bool:
    return isinstance(value, v.Instance) and any(
        base.startswith(_TRANSFORM_LIBRARIES) for base in value.cls.library_bases())


def make_trainer(interp: TrainingInterp, args: Args, f: Frame, loc: Loc | None) -> TrainObj:
    epochs = interp.setting(args, 99, "max_epochs", f, loc)
    if epochs is None and "max_steps" not in args.kw:
        epochs = ir.Setting(1000, "Lightning's default `max_epochs`", loc)
    fast = args.kw.get("fast_dev_run", False)
    if fast is not False and fast != 0:
        # `fast_dev_run=5`: a smoke test of a few batches, run once whatever `max_epochs`
        # says (and what it is, when the value is not known).
        epochs = ir.Setting(1, "`fast_dev_run`", loc) if type(fast) in (bool, int) else None
    rec = interp.recorder
    assert rec is not None
    rec.trainer_epochs = epochs
    rec.trainer_loc = loc
    return TrainObj("trainer", "Trainer", loc, {"epochs": epochs})


def functional_loss(interp: TrainingInterp, qualname: str, args: Args, f: Frame,
                    loc: Loc | None) -> Any:
    kind = FUNCTIONAL_LOSSES[qualname.rsplit(".", 1)[-1]]
    weight = args.kw.get("weight", args.pos[2] if len(args.pos) > 2 else None)
    # A weight drawn with the batch (`weight=pad`, a 0/1 mask per position) rescales
    # samples, not classes.
    per_sample = isinstance(weight, v.Tensor) and bool(interp.loaders_behind(Args([weight])))
    # A weight the reader cannot follow (from a call it does not know) may be a mask too,
    # and one a library base class set (`_WeightedLoss.__init__(weight)`) may be None.
    pos_weight = args.kw.get("pos_weight")
    # (`weight=torch.ones(n)`, also handed down through a function: every class weighs 1.)
    weighted = (pos_weight is not None and not torchnn.weighs_none(interp, pos_weight)) or (
        weight is not None and weight is not UNKNOWN
        and not isinstance(weight, (v.Opaque, v.BoundMethod)) and not per_sample
        and not torchnn.weighs_none(interp, weight))
    # Outside any loop the call is a check on made-up tensors (a notebook's demo of a masked
    # loss), not what training computes.
    weighted = weighted and bool(interp.recorder is not None and interp.recorder.loops)
    # The prediction and the target, by position or by name (`input=`, `target=`).
    given = [args.pos[i] if len(args.pos) > i else args.kw.get(name, ABSENT)
             for i, name in enumerate(("input", "target"))]
    inputs = tensors_in(Args([x for x in given if x is not ABSENT]))
    record_loss(interp, kind, weighted, inputs, f, loc, summed=not_averaged(args.kw),
                smoothed=smooths(args.kw))
    return interp.add_node(kind, inputs, name=qualname, loc=loc, functional=True) \
        if inputs else UNKNOWN


_REGRESSION_FUNCTIONS = frozenset(f"torch.nn.functional.{name}" for name in (
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"))
# Losses a model's output may be compared with its own input by (pixels in [0, 1]).
_RECONSTRUCTION_FUNCTIONS = frozenset({"torch.nn.functional.binary_cross_entropy",
                                       "torch.nn.functional.binary_cross_entropy_with_logits"})


def smooths(args: dict[str, Any]) -> bool:
    """Whether a loss's arguments give it label smoothing (one not known counts)."""
    return "label_smoothing" in args and args["label_smoothing"] not in (0, 0.0)


def not_averaged(args: dict[str, Any]) -> bool:
    """Whether a loss's known arguments make it other than a mean over its elements."""
    return args.get("reduction") in ("sum", "none") or args.get("size_average") is False \
        or args.get("reduce") is False


def record_loss(interp: TrainingInterp, kind: str, weighted: bool, inputs: list[v.Tensor], f: Frame,
                loc: Loc | None, made_at: Loc | None = None, summed: bool = False,
                smoothed: bool = False) -> None:
    rec = interp.recorder
    if rec is None:
        return
    use = ir.LossUse(loc=loc, kind=kind, weighted=weighted, symbol=f.owner, made_at=made_at,
                     summed=summed, smoothed=smoothed,
                     evaluating=interp.grad_off > 0 or bool(inputs) and
                     interp.computed_in_evaluation(inputs[0]))
    if inputs:
        fed = _last_ops(interp, inputs[0].node)
        if fed and all(n.family == "softmax" for n in fed) and len({n.kind for n in fed}) == 1:
            use.fed_by, use.fed_by_loc = fed[0].kind, fed[0].loc
    rec.losses.append(use)
    note_rebuilding(interp)


def note_rebuilding(interp: TrainingInterp) -> None:
    """`mse_loss(model(x), x)`, `bce(recon, x.view(-1, 784))`: a loss (the call being read)
    whose target is the variable a model of the pass was fed (an autoencoder or a VAE
    rebuilding its input). By name: a loader's images and labels are one batch to the
    reader."""
    rec = interp.recorder
    if rec is None or interp.current_call is None or interp.grad_off > 0:
        return
    call, frame = interp.current_call
    if call[0] != "call":
        return
    target = call[2][1] if len(call[2]) > 1 else next(
        (e for key, e in call[3] if key == "target"), None)
    name = tensor_name(interp, target, frame) if target is not None else None
    if name is not None and name in rec.fed:
        rec.rebuilds_input = True


def tensor_name(interp: TrainingInterp, expr: tuple[Any, ...], f: Frame) -> str | None:
    """The tensor variable an expression reads and reshapes, with the items it picks: `x` of
    `x`, `x.view(-1, 784)` and `x.to(device)`, `batch[0]` of `batch[0].cuda()`; None for
    anything else (`torch.zeros(64, 1)`, `F.one_hot(y)`)."""
    picked = ""
    while expr[0] in ("attr", "sub", "call"):
        if expr[0] == "call":
            if expr[1][0] != "attr":
                return None
            expr = expr[1]
        elif expr[0] == "sub":
            if expr[2][0] != "const":
                return None
            picked = f"[{expr[2][1]!r}]{picked}"
        expr = expr[1]
    if expr[0] != "name" or type(expr[1]) is not str:
        return None
    return expr[1] + picked if type(interp.lookup(expr[1], f)) is v.Tensor else None


def _last_ops(interp: TrainingInterp, node: int, depth: int = 0) -> list[ir.Node]:
    """The operations that may have made a value: through the merges of an `if` the reader
    could not decide (`net = Net().cuda()` or `net = Net()`: either network's output)."""
    made = interp.graph[node]
    if made.kind != ir.MERGE or depth > 8:
        return [made]
    return [op for source in made.inputs for op in _last_ops(interp, source, depth + 1)]


def _literal_name(interp: TrainingInterp) -> str:
    """The model name a library call is given as a literal (`create_model("resnet50")`), else
    "" (any name: `create_model(args.model)` builds whatever the command line asks for)."""
    call = interp.current_call[0] if interp.current_call else None
    if call is None or call[0] != "call":
        return ""
    given = call[2][0] if call[2] else next((e for k, e in call[3] if k == "model_name"), None)
    return given[1] if given is not None and given[0] == "const" and type(given[1]) is str \
        else ""
