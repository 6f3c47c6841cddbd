"""`trainer.fit(model, ...)`: Lightning runs the loop; the reader calls the module's hooks
the way it would, so that its loaders, optimizers, validation and steps are recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, Frame, TooComplex
from cnnlint.extract.training import library
from cnnlint.extract.training.objects import TrainObj
from cnnlint.extract.training.recorder import weights_of
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp


def fit(interp: TrainingInterp, trainer: TrainObj, args: Args, f: Frame, loc: Loc | None) -> None:
    """`trainer.fit(model, ...)`: Lightning runs the loop; read what it would call."""
    rec = interp.recorder
    assert rec is not None
    model = args.pos[0] if args.pos else args.kw.get("model")
    if not isinstance(model, v.Instance):
        # A model the reader could not follow (`hydra.utils.instantiate(cfg.model)`): the
        # project's networks it may be are trained by Lightning, unseen.
        interp.blocked_by("Trainer.fit", loc, f, True)
        interp.lost_track([model], rec.choices, rec.path,
                          "`Trainer.fit` is given a model that could not be followed")
        return
    rec.lightning = True
    interp.track_model(model, model.cls.name, loc)
    rec.trained.append(model)
    loaders_before = set(rec.train_loader_ids)
    # `fit(model, train, val)`, or by keyword; Lightning before 1.4 spelled the training one
    # `train_dataloader=` (singular). A missing training loader leaves its place empty, so
    # the validation loader is never taken for it.
    train, val = _fit_loader(args, 1, "train"), _fit_loader(args, 2, "val")
    datamodule = args.kw.get("datamodule")
    if datamodule is None and _datamodule(train):
        # `fit(model, dm)`: Lightning takes a data module given in the loaders' place as
        # the data module.
        datamodule, train = train, None
    loaders = [train] if val is None else [train, val]
    modules = datamodule.options if isinstance(datamodule, v.Choice) else [datamodule]
    for option in (m for m in modules if isinstance(m, v.Instance)):
        _prepare(interp, option)
        for hook, kind in (("train_dataloader", "train"), ("val_dataloader", "eval")):
            found = call_hook(interp, option, hook)
            if isinstance(found, TrainObj):
                found.fields["role"] = kind
                if kind == "eval":
                    loaders.append(found)
                else:
                    rec.train_loader_ids.add(id(found))
    for index, loader in enumerate(loaders):
        if isinstance(loader, TrainObj) and loader.kind == "loader":
            if index == 0 and "role" not in loader.fields:
                rec.train_loader_ids.add(id(loader))
    _prepare(interp, model)
    for hook in ("train_dataloader", "val_dataloader"):
        if model.cls.lookup(hook) is not None:
            found = call_hook(interp, model, hook)
            if isinstance(found, TrainObj) and hook == "train_dataloader":
                rec.train_loader_ids.add(id(found))
    # A datamodule given may hold validation data unless each one it may be is a project
    # class without `val_dataloader` (one picked by an option, or not followed, may).
    has_val_data = val is not None or datamodule is not None and any(
        not isinstance(m, v.Instance) or m.cls.lookup("val_dataloader") is not None
        for m in modules) or model.cls.lookup("val_dataloader") is not None
    if model.cls.lookup("validation_step") is not None and has_val_data:
        rec.event(ir.FORWARD, loc, what="validation_step", flags=frozenset({"grad-off"}),
                  mode=False, model=model.cls.name)
    # Its optimizers and schedulers are recorded as they are built.
    before, schedulers_before = len(rec.constructions), len(rec.scheduler_builds)
    returned = call_hook(interp, model, "configure_optimizers")
    if returned is None and len(rec.constructions) == before:
        # `return None`: Lightning runs the loop with no optimizer (a frozen backbone's
        # features gathered into a memory bank): nothing trains, on no training data.
        rec.trained.remove(model)
        rec.train_loader_ids.intersection_update(loaders_before)
    for scheduler, _ in rec.scheduler_builds[schedulers_before:]:
        library.mark_used(scheduler)  # and the schedulers it returns
    for construction in rec.constructions[before:]:
        construction.stepped = True  # Lightning steps what configure_optimizers returns
        if weights_of(construction.params):
            rec.trained.extend(weights_of(construction.params))
    rec.optimizers_apart = max(rec.optimizers_apart,
                               _optimized_apart(interp, model, rec.constructions[before:]))
    # The batch a step gets: drawn from the training loader when it is known, so that what
    # the step does to it (noise added per batch) is seen as done to that loader's data.
    train_loader = next((x for x in (train, *loaders) if isinstance(x, TrainObj)
                         and x.kind == "loader" and id(x) in rec.train_loader_ids), None)
    batch = interp.batch_of(train_loader) if train_loader is not None else \
        interp.add_node(ir.INPUT, (), name="batch")
    for hook in ("training_step", "validation_step"):
        if model.cls.lookup(hook) is not None:
            call_hook(interp, model, hook, Args([batch, 0]))


def _optimized_apart(interp: TrainingInterp, model: v.Instance, built: list[Any]) -> int:
    """How many optimizers over weights apart Lightning steps one after the other, each
    after a backward pass of its own: `training_step(batch, batch_idx, optimizer_idx)` is
    called once per optimizer `configure_optimizers` returns (a GAN's generator and
    discriminator); 0 when it takes no `optimizer_idx` or the weights overlap."""
    step = model.cls.lookup("training_step")
    if not isinstance(step, v.FuncVal) or all(p[0] != "optimizer_idx" for p in step.node[2]):
        return 0
    rec = interp.recorder
    assert rec is not None
    groups = [frozenset(rec.token(w) for w in weights_of(c.params)) for c in built]
    groups = [g for g in groups if g]
    apart = any(a.isdisjoint(b) for i, a in enumerate(groups) for b in groups[i + 1:])
    return len(groups) if apart else 0


def _prepare(interp: TrainingInterp, obj: v.Instance) -> None:
    """What Lightning runs before asking a data module (or the model) for its loaders:
    `prepare_data()`, then `setup(stage="fit")`, where the datasets are often made."""
    if obj.cls.lookup("prepare_data") is not None:
        call_hook(interp, obj, "prepare_data")
    if obj.cls.lookup("setup") is not None:
        call_hook(interp, obj, "setup", Args([], {"stage": "fit"}))


def call_hook(interp: TrainingInterp, obj: v.Instance, name: str, args: Args | None = None) -> Any:
    method = interp.getattr(obj, name)
    if not isinstance(method, v.FuncVal):
        return UNKNOWN
    try:
        return interp.call_function(method, args or Args())
    except (TooComplex, RecursionError):
        return UNKNOWN


def _datamodule(value: Any) -> bool:
    """A project data module (one of several, for a choice): a class defining
    `train_dataloader`, or one derived from Lightning's `LightningDataModule`."""
    options = value.options if isinstance(value, v.Choice) else (value,)
    return bool(options) and all(
        isinstance(x, v.Instance) and (x.cls.lookup("train_dataloader") is not None or any(
            base.endswith("LightningDataModule") for base in x.cls.library_bases()))
        for x in options)


def _fit_loader(args: Args, position: int, name: str) -> Any:
    """`fit`'s training (1) or validation (2) loaders: by position, or by keyword in either
    spelling (`train_dataloaders=`, or `train_dataloader=` before Lightning 1.4)."""
    if len(args.pos) > position:
        return args.pos[position]
    return args.kw.get(f"{name}_dataloaders", args.kw.get(f"{name}_dataloader"))
