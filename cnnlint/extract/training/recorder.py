"""What one training pass saw: the loops it ran, the events inside them, the objects it built.

The reader (`reader.py`) feeds a `Recorder` while it interprets a script; `finish` turns the
record into an `ir.TrainingRun`. Nothing here judges: which loop is an epoch loop, which
optimizer trains a model and which model that is are facts; whether something is *missing*
is for the rules to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from cnnlint import ir
from cnnlint.extract import torchnn
from cnnlint.extract import values as v
from cnnlint.extract.training.objects import (TrainObj, pipeline_object, pipelines_of, role,
                                              transforms_of)
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp


@dataclass
class LoopState:
    """A loop while it runs."""

    id: int
    kind: str  # "range" | "loader" | "other"
    loc: Loc | None
    symbol: str
    count: int | None = None
    origin: str = ""
    loader: TrainObj | None = None
    together: tuple[TrainObj, ...] = ()  # loaders zipped with `loader` (two domains' data)
    training: bool = False  # a step or a backward happened inside: it runs twice, not N times
    repeated: bool = False  # its second pass has started
    label: str = ""  # the names in its target and iterable: "epoch range args epochs"
    # A tensor drawn at random on each pass (`torch.randn(16, 4)`): the data is new each
    # time, so one step per pass is an iteration on a synthetic stream, not an epoch.
    draws_data: bool = False
    # Over a few constants (`for phase in ("train", "val")`): each pass is its own, run with
    # its own value, rather than a first pass and one standing for all later ones.
    phases: bool = False
    # It picks an example at random on each pass (`random.choice(pairs)`): it trains on one
    # sample at a time, not on the whole set.
    picks_examples: bool = False
    # Its body ends with a `break` that every pass reaches: it runs once.
    single_pass: bool = False
    # It runs over a value the reader could not follow (a loader from an import it could
    # not resolve): what data it reads is not known.
    unknown_data: bool = False
    first_event: int = 0  # the index of the first event recorded inside it
    kept_at: tuple[int, ...] = ()  # what the pass had built when it started (`loops._kept`)
    in_module: bool = False  # a loop of a module's own code (building or running its layers)
    pass_index: int = 0  # which pass of it runs (see `ir.Event.passes`)
    # The call in the entry point's own code that led to it (see `ir.Loop.called_at`).
    called_at: Loc | None = None


@dataclass
class Construction:
    """An optimizer as built: its record, what it was given, and in which loops."""

    optimizer: ir.Optimizer
    params: Any  # the value passed as `params`
    loops: tuple[int, ...]
    lr: Any  # the lr value, to tell a rebuilt optimizer's schedule
    given: bool = False  # a parameter of a function read without its caller: not built here
    stepped: bool = False  # its step() ran: an optimizer built but never stepped trains nothing


@dataclass
class Recorder:
    path: str
    loops: list[LoopState] = field(default_factory=list)  # the running loops, outermost first
    finished: dict[int, LoopState] = field(default_factory=dict)
    events: list[ir.Event] = field(default_factory=list)
    loaders: list[TrainObj] = field(default_factory=list)
    constructions: list[Construction] = field(default_factory=list)
    optimizer_objs: dict[int, Construction] = field(default_factory=dict)  # id(TrainObj)
    schedulers: list[str] = field(default_factory=list)
    # Each scheduler built, with the index of the event that records it: one that nothing
    # used by the end of the pass is idle (see `ir.IDLE_SCHEDULER`).
    scheduler_builds: list[tuple[TrainObj, int]] = field(default_factory=list)
    losses: list[ir.LossUse] = field(default_factory=list)
    resampling: list[str] = field(default_factory=list)
    choices: set[str] = field(default_factory=set)
    # (the network a run picked from a registry of networks built already, their keys):
    # they become choices when the one picked trains (see `registries.pick`).
    pending_choices: list[tuple[Any, frozenset[str]]] = field(default_factory=list)
    replayed: dict[str, dict[str, Any]] = field(default_factory=dict)  # data modules re-read
    focal: bool = False
    sums_a_loss: bool = False  # see ir.TrainingRun.sums_a_loss
    rebuilds_input: bool = False  # see ir.TrainingRun.rebuilds_input
    fed: set[str] = field(default_factory=set)  # the variables training code fed its models
    cycles_momentum: bool = False  # see ir.TrainingRun.cycles_momentum
    applied_transforms: list[list[str] | None] = field(default_factory=list)
    lightning: bool = False
    optimizers_apart: int = 0  # see ir.TrainingRun.optimizers_apart
    trainer_epochs: ir.Setting | None = None
    trainer_loc: Loc | None = None
    # id(model) -> (model, name, where built, (key, where defined, needs no argument) of the
    # functions that returned it, innermost first)
    models: dict[int, tuple[Any, str, Loc | None, list[tuple[str, Loc | None, bool]]]] = field(
        default_factory=dict)
    trained: list[Any] = field(default_factory=list)  # model values an optimizer holds
    forwarded: list[Any] = field(default_factory=list)  # model values training code calls
    part_builders: dict[int, str] = field(default_factory=dict)  # id(block) -> its factory
    # id(module) -> the project networks its own code built (a backbone made in
    # `__init__`), and the ids of those it handed to library code (a feature-extractor
    # wrapper): see `_held_networks`.
    built_in: dict[int, list[Any]] = field(default_factory=dict)
    wrapped: set[int] = field(default_factory=set)
    # Project networks training code (not a module's own code) built: one whose layers a
    # model took trains with it (see `_describe`).
    built_outside: list[Any] = field(default_factory=list)
    shrunk: list[Any] = field(default_factory=list)  # models whose weights code scales down
    steps_unknown_model: bool = False  # a step updates the weights of a model not followed
    # Some forward ran on data not followed in a loop that trained nothing (it may evaluate).
    maybe_evaluating: bool = False
    train_loader_ids: set[int] = field(default_factory=set)
    first_step: tuple[Loc, str] | None = None
    # The call the entry point's own code is making now, whatever it calls in turn.
    entry_call: Loc | None = None
    # id(model) -> (model, train mode, the number of unresolved calls when it was set)
    modes: dict[int, tuple[Any, Any, int]] = field(default_factory=dict)
    # Models whose BatchNorm layers the script put in eval mode (`freeze_bn()`) since their
    # last `.train()`: they train with frozen statistics.
    frozen_norms: set[int] = field(default_factory=set)
    # id(model) -> the steps that had updated it when code last called its `.train()`
    train_called: dict[int, int] = field(default_factory=dict)
    steps_of: dict[int, int] = field(default_factory=dict)  # id(model) -> steps updating it
    # A part read off a network (`PlainNet().body`, by id) -> that network.
    taken_from: dict[int, Any] = field(default_factory=dict)
    # Modules (by id) whose forward calls a part the reader could not resolve.
    unknown_inside: set[int] = field(default_factory=set)
    # A step event (by its index) -> the optimizers it stepped.
    stepped_by: dict[int, tuple[Construction, ...]] = field(default_factory=dict)
    # id(model) -> the number events know it by (see `ir.Event.updates`), and the numbers
    # of the models training code built, by where and inside which loops.
    tokens: dict[int, int] = field(default_factory=dict)
    built_at: dict[tuple[Any, ...], int] = field(default_factory=dict)
    numbered: int = 0  # how many numbers were given
    # A model's number -> the loops running when training code built it.
    built_in_loops: dict[int, tuple[int, ...]] = field(default_factory=dict)
    lost_steps: int = 0  # steps of weights not followed to a model: they may update any
    unresolved_count: int = 0
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    next_loop: int = 0

    # --- recording -------------------------------------------------------------------------

    def loop_ids(self) -> tuple[int, ...]:
        return tuple(loop.id for loop in self.loops)

    def token(self, model: Any) -> int:
        """The number of a model in this run's events: two models of one name (a GAN's
        critic and generator, both `make_mlp(...)`) are two numbers."""
        if id(model) not in self.tokens:
            self.tokens[id(model)] = self._number()
        return self.tokens[id(model)]

    def built(self, model: Any, name: str, loc: Loc | None) -> None:
        """Training code built `model`. One built by the same code on each pass of a loop
        (`for member in range(5): net = Net()`) is one model to the events, rebuilt."""
        loops = self.loop_ids()
        key = (name, loc, loops) if loops else (id(model),)
        if key not in self.built_at:
            self.built_at[key] = self._number()
        number = self.tokens.setdefault(id(model), self.built_at[key])
        self.built_in_loops[number] = loops

    def _number(self) -> int:
        self.numbered += 1
        return self.numbered

    def event(self, kind: str, loc: Loc | None, what: str = "",
              flags: frozenset[str] = frozenset(), **extra: Any) -> None:
        self.events.append(ir.Event(kind=kind, loc=loc, loops=self.loop_ids(), what=what,
                                    flags=flags, passes=tuple(x.pass_index for x in self.loops),
                                    **extra))
        if kind == ir.UNRESOLVED and "touches-models" in flags:
            self.unresolved_count += 1  # a model's mode is not known past this call

    def mark_training(self, step: bool = True) -> None:
        """A step or a backward: every running loop trains. A step also makes the innermost
        loader loop's loader a training loader; a backward alone does not (an attack or a
        saliency map takes gradients of the inputs over held-out data and steps nothing)."""
        for loop in self.loops:
            loop.training = True
        if not step:
            return
        loader_loops = [loop for loop in self.loops if loop.kind == "loader"]
        if loader_loops and loader_loops[-1].loader is not None:
            self.train_loader_ids.update(
                id(x) for x in (loader_loops[-1].loader, *loader_loops[-1].together))

    def set_mode(self, model: Any, mode: Any) -> None:
        self.modes[id(model)] = (model, mode, self.unresolved_count)

    def steps_updating(self, model: Any) -> int:
        return self.steps_of.get(id(model), 0) + self.lost_steps

    def mode_of(self, model: Any) -> bool | None:
        """The model's train mode, when known: True (train) from construction on, until an
        `eval()`; unknown after a call the reader could not follow that may reach it."""
        found = self.modes.get(id(model))
        if found is None:
            return None
        _, mode, seen = found
        if seen != self.unresolved_count or mode not in (True, False):
            return None
        return bool(mode)

    # --- the run ---------------------------------------------------------------------------

    def finish(self, interp: TrainingInterp, entry_loc: Loc, entry_symbol: str
               ) -> ir.TrainingRun | None:
        """The run, or None when nothing in the pass trains a model."""
        # Optimizers stepped only where no gradient is computed train nothing.
        idle = self._steps_without_gradients()
        stepped = {id(c) for owners in self.stepped_by.values() for c in owners}
        stepping = {id(c) for i, owners in self.stepped_by.items() if i not in idle
                    for c in owners}
        trains_model = [c for c in self.constructions
                        if _holds_weights(c.params) and c.stepped and not c.given
                        and (id(c) in stepping or id(c) not in stepped)]
        self._settle_choices(interp)
        for i in idle:
            self.events[i] = replace(self.events[i], flags=self.events[i].flags - {"trains"})
        training_steps = [e for e in self.events if e.kind == ir.STEP and "trains" in e.flags]
        if training_steps and not self.lightning and not any(
                e.kind in (ir.BACKWARD, ir.FORWARD) or _touches_models(e) for e in self.events):
            # Steps with no gradient computed anywhere and no model run (a scheduler's
            # curve plotted by stepping a dummy optimizer): nothing is trained.
            training_steps = []
        if not training_steps and not self.lightning:
            if self._steps_unfollowed_weights():
                interp.lost_track(self.forwarded, self.choices, self.path, self._lost_how())
            elif self._hands_off_unfollowed_optimizer():
                interp.handed_training.append(self.path)
            return None
        loops = self._loops(training_steps)
        epoch = next((loop for loop in loops if loop.kind == "epoch"), None)
        events = list(self.events)
        for scheduler, index in self.scheduler_builds:
            if not scheduler.fields.get("used"):
                events[index] = replace(events[index], kind=ir.IDLE_SCHEDULER)
        if epoch is None and self.lightning and self.trainer_epochs is not None:
            # Lightning's own loop: everything the module and its callbacks do is in it.
            epoch = ir.Loop(id=-1, kind="epoch", loc=self.trainer_loc, symbol=entry_symbol,
                            count=self.trainer_epochs)
            loops.append(epoch)
            events = [replace(e, loops=(-1, *e.loops)) for e in events]
        loc = (epoch.loc if epoch and epoch.loc else None) or self.trainer_loc or (
            self.first_step[0] if self.first_step else None) or entry_loc
        symbol = epoch.symbol if epoch else (
            self.first_step[1] if self.first_step else entry_symbol)
        events += self._rebuilt_schedules()
        described: dict[int, ir.TrainedModel] = {}
        models = self._trained_models(interp, described)
        if self.steps_unknown_model and not any(m.unresolved for m in models):
            # Any network of the project may be the one whose weights those steps update.
            models.append(ir.TrainedModel(keys=(), name="a model not followed", loc=None,
                                          unresolved=True))
            self.notes.append(f"{self.path}: a training step updates the weights of a model "
                              "the reader could not follow: rules about a network without "
                              "a training script stay silent")
        # Models whose weights two or more optimizers share out (a wrapper's generator and
        # critic, each with its own): each of those optimizers trains only its part.
        holders: dict[int, set[int]] = {}
        for construction in trains_model:
            for weights in weights_of(construction.params):
                holders.setdefault(id(self.root(interp, weights)), set()).add(id(construction))
        split = {root for root, held in holders.items() if len(held) > 1}
        for construction in trains_model:
            construction.optimizer.trains = self._held_by(interp, construction, described,
                                                          split)
        # Each optimizer's steps update only its part (`net.gen`, `net.disc`): the steps
        # name that part, so a generator and critic kept in one module are seen apart.
        parts = {id(c): self._part_names(interp, c, split) for c in trains_model}
        for index, owners in self.stepped_by.items():
            names = [parts.get(id(c)) for c in owners]
            if names and all(names) and index < len(events):
                events[index] = replace(events[index], model=", ".join(
                    sorted({n for found in names for n in found or ()})))
        # Weights scaled down in place (`p.mul_(1 - wd)`): weight decay by hand, for the
        # trained models only (an averaged copy's `ema.mul_(0.999)` decays nothing).
        roots = {id(self.root(interp, w)) for w in self.shrunk}
        hand_decay = [m for key, m in described.items() if key in roots]
        return ir.TrainingRun(
            path=self.path, symbol=symbol or "<module>", loc=loc,
            models=models, loops=loops, events=events,
            loaders=self._loaders(), optimizers=[c.optimizer for c in trains_model],
            schedulers=list(self.schedulers), losses=list(self.losses),
            resampling=list(self.resampling), focal=self.focal, sums_a_loss=self.sums_a_loss,
            rebuilds_input=self.rebuilds_input,
            cycles_momentum=self.cycles_momentum,
            applied_transforms=list(self.applied_transforms), lightning=self.lightning,
            optimizers_apart=self.optimizers_apart,
            choices=tuple(sorted(self.choices)), hand_decay=hand_decay,
            complete=self.complete, notes=self._notes(loops, events))

    def _settle_choices(self, interp: TrainingInterp) -> None:
        """A registry's networks are the run's choices when the one it picked trains (or a
        network holding it: a LightningModule's `self.model`), or when the run steps weights
        it lost track of (they may be the picked one's)."""
        if not self.pending_choices:
            return
        roots = {id(r): r for r in (self.root(interp, w) for w in self.trained)}
        trained = {id(part) for r in roots.values() for part in (r, *interp.submodules(r))}
        lost = self._steps_unfollowed_weights()
        for picked, keys in self.pending_choices:
            options = picked.options if isinstance(picked, v.Choice) else (picked,)
            if lost or any(id(x) in trained for x in (picked, *options)):
                self.choices.update(keys)

    def _steps_unfollowed_weights(self) -> bool:
        """A backward pass, then a step of weights the reader lost track of (an optimizer
        over a helper's param groups, or one from code it could not read that was handed a
        model): some model may train here."""
        return any(e.kind == ir.BACKWARD for e in self.events) and any(
            e.kind == ir.STEP and "unknown-weights" in e.flags or _touches_models(e)
            for e in self.events)

    def _lost_how(self) -> str:
        """What the pass was seen doing with weights it could not follow, as the note says it:
        stepping them (in a loop or not), or only calling code that may step them."""
        steps = [e for e in self.events if e.kind == ir.STEP and "unknown-weights" in e.flags]
        if not steps:
            return ("after backward(), a call that could not be followed may step a model's "
                    "weights")
        where = "a loop" if any(e.loops for e in steps) else "its code"
        return f"{where} calls backward() and steps weights that could not be followed to a model"

    def _hands_off_unfollowed_optimizer(self) -> bool:
        """No step seen, but an optimizer built here over weights the reader could not
        follow to a model (`Adam(model.parameters())` of a model built through a registry
        it could not read), and a call it could not follow handed the run's values (a
        trainer picked by an option): that code may train any model."""
        return any(not c.given and _of_unknown(c.params) for c in self.constructions) \
            and any(_touches_models(e) for e in self.events)

    def _steps_without_gradients(self) -> set[int]:
        """The steps (by event index) taken inside loops none of which computes a gradient or
        runs a model, nor calls code that may (a scheduler's curve plotted by stepping a
        dummy optimizer, beside a real training loop): they change no weight. (A loop over
        optimizers stepping each is inside the loop that runs backward.)"""
        active = {loop for e in self.events
                  if e.kind in (ir.BACKWARD, ir.FORWARD) or _touches_models(e)
                  for loop in e.loops}
        return {i for i, e in enumerate(self.events)
                if e.kind == ir.STEP and "trains" in e.flags and e.loops
                and active.isdisjoint(e.loops)}

    def _loops(self, steps: list[ir.Event]) -> list[ir.Loop]:
        """Loop kinds from where the training steps happened: a range loop around a loop
        that steps is an epoch loop; a range loop that steps directly counts iterations."""
        # A loop that runs once (`for x, y in loader: ...; break`) adds no passes: the step
        # belongs to the loop around it, whose passes then count single steps.
        collapsed, paths = set(), []
        for e in steps:
            loops = e.loops
            while len(loops) > 1 and loops[-1] in self.finished \
                    and self.finished[loops[-1]].single_pass:
                loops = loops[:-1]
                collapsed.add(loops[-1])
            paths.append(loops)
        # The range loop nearest around a stepping loop is the epoch loop; one further out
        # (`for seed in range(25): run()`) repeats whole runs, and counts no epochs. So
        # does a loop whose every pass builds the models it trains (an ensemble's members).
        runs = self._repeating_runs(steps)
        ranges = {i for i, state in self.finished.items()
                  if state.kind == "range" and i not in runs}
        around = set()
        for loops in paths:
            around.update([i for i in loops[:-1] if i in ranges][-1:])
        direct = {loops[-1] for loops in paths if loops}
        # A loop stepping directly inside a range loop (`for epoch ...: for step in
        # range(100):`): its passes are the iterations of the loop around it.
        inner = {loops[-1] for loops in paths if any(i in ranges for i in loops[:-1])}
        out = []
        for ident in sorted(self.finished):
            state = self.finished[ident]
            if ident in runs:
                kind = "other"
            elif state.kind == "range" and ident in collapsed and ident not in around:
                kind = "iteration"  # one batch per pass, whatever the loop is named
            elif state.kind == "range" and (ident in around or (
                    ident in direct and not state.picks_examples and (
                        _names_epochs(state.label)
                        or not self.loaders and ident not in inner
                        and not state.draws_data))):
                # Around a batch loop, one step per pass named for epochs, or one step per
                # pass with no loader in the run, no range loop around and no data drawn
                # afresh: full-batch training, each pass sees all the data it has. A pass
                # that picks an example (at random, or by its index: `pairs[it - 1]`) is an
                # iteration, whatever its name.
                kind = "epoch"
            elif state.kind == "range" and ident in direct:
                kind = "iteration"
            elif state.kind == "loader":
                kind = "batch"
            else:
                kind = "other"
            count = ir.Setting(state.count, state.origin, state.loc) \
                if state.count is not None else None
            out.append(ir.Loop(id=ident, kind=kind, loc=state.loc, symbol=state.symbol,
                               count=count, called_at=state.called_at,
                               fresh_models=ident in runs))
        return out

    def _repeating_runs(self, steps: list[ir.Event]) -> set[int]:
        """The loops each of whose passes builds afresh every model it trains (`for member in
        range(5): net = Net(); opt = SGD(net.parameters()); for t in range(1000): ...`): each
        pass is a whole training run, not an epoch."""
        found = set()
        for ident in {i for e in steps for i in e.loops}:
            if all(e.updates and all(ident in self.built_in_loops.get(m, ()) for m in e.updates)
                   for e in steps if ident in e.loops):
                found.add(ident)
        return found

    def _rebuilt_schedules(self) -> list[ir.Event]:
        """An optimizer built again on each pass of a loop, with a learning rate that is not
        the same known number each time, is a hand-written schedule."""
        by_loc: dict[Any, list[Construction]] = {}
        for c in self.constructions:
            if c.loops and not c.given:
                by_loc.setdefault(c.optimizer.loc, []).append(c)
        out = []
        for loc, built in by_loc.items():
            rates = [c.lr for c in built]
            constant = len(built) > 1 and all(
                type(r) in (int, float) and r == rates[0] for r in rates)
            # Over a network built afresh on each pass (a sweep of learning rates, each
            # training a new model from the start), each optimizer trains one run at its
            # one rate: no schedule.
            trained = [frozenset(id(m) for m in weights_of(c.params)) for c in built]
            fresh = len(built) > 1 and all(trained) and all(
                a.isdisjoint(b) for i, a in enumerate(trained) for b in trained[i + 1:])
            if not constant and not fresh:
                out.append(ir.Event(kind=ir.SCHEDULE, loc=loc, loops=built[0].loops,
                                    what=f"`{built[0].optimizer.kind}` rebuilt in a loop"))
        return out

    def _held_networks(self, interp: TrainingInterp, inside: list[Any]) -> list[Any]:
        """Networks a model holds outside its module tree (with everything in them): one
        its code built and handed to a library wrapper (`IntermediateLayerGetter(trunk)`),
        or whose layers it took (`nn.Sequential(resnet.conv1, resnet.layer1)`). Their
        weights train with the model's."""
        ids = {id(m) for m in inside}
        held: list[Any] = []
        for module in inside:
            for built in self.built_in.get(id(module), ()):
                if id(built) in ids:
                    continue
                if id(built) in self.wrapped or any(
                        id(child) in ids for child in interp.submodules(built)[1:]):
                    for part in interp.submodules(built):
                        if id(part) not in ids:
                            ids.add(id(part))
                            held.append(part)
        return held

    def _steps_on_unknown_data(self) -> bool:
        return any(self.finished[i].unknown_data for e in self.events
                   if e.kind == ir.STEP and "trains" in e.flags
                   for i in e.loops if i in self.finished)

    def _loaders(self) -> list[ir.Loader]:
        for loader in self.loaders:
            loader.fields.setdefault("role", role(loader))
            # A loader built on either side of an `if` stands for both (`parts`).
            if any(id(x) in self.train_loader_ids for x in loader.fields.get("parts", ())):
                self.train_loader_ids.add(id(loader))
            if id(loader) in self.train_loader_ids:
                loader.fields["role"] = "train"
        # A loader remade by a method the reader could not read (`loader.rebatch(64)`) is
        # not, as far as it knows, what a loop over data it could not follow draws from.
        remade = [loader for loader in self.loaders if loader.fields.get("remade")
                  and id(loader) not in self.train_loader_ids] \
            if self._steps_on_unknown_data() else []
        for loader in remade:
            if loader.fields["role"] == "train":
                loader.fields["role"] = "unknown"
        # Steps outside any loop draw no batches from a loader they are not seen to use (a
        # tutorial's one-step demo next to an input-pipeline demo): no loader trains. Once
        # loaders are seen feeding the steps, they are the training ones: another with a
        # training split (read once for the pixel mean and std) trains nothing.
        if not any(e.loops for e in self.events if e.kind == ir.STEP) or self.train_loader_ids:
            for loader in self.loaders:
                if id(loader) not in self.train_loader_ids and loader.fields["role"] == "train":
                    loader.fields["role"] = "unknown"
        elif any(loader.fields.get("drawn_once") for loader in self.loaders):
            # No loader is seen feeding the steps, and one was drawn once before any loop
            # (`next(iter(loader))`: the whole set loaded on the device): the script's own
            # code, which may crop, flip and cut it into batches, feeds them. Its pipeline is
            # not the training one.
            for loader in self.loaders:
                if loader.fields.get("drawn_once") and loader.fields["role"] == "train":
                    loader.fields["role"] = "unknown"
        # With no loader seen feeding the steps, a single loader of unknown role is taken to
        # be the training one.
        elif not any(loader.fields["role"] == "train" for loader in self.loaders):
            unknown = [loader for loader in self.loaders if loader.fields["role"] == "unknown"
                       and not any(loader is x for x in remade)]
            if len(unknown) == 1:
                unknown[0].fields["role"] = "train"
        out = []
        pipelines = [pipeline_object(loader) for loader in self.loaders]
        for loader, pipeline in zip(self.loaders, pipelines):
            items, transform_loc, image = transforms_of(loader)
            dataset = loader.fields.get("dataset")
            name = _loader_name(loader)
            set_at, shared = None, False
            if isinstance(dataset, TrainObj):
                whole = dataset.fields.get("whole", dataset)
                set_at = whole.fields.get("transform_set_at")
                shared = set_at is not None and bool(whole.fields.get("parted"))
            out.append(ir.Loader(
                loc=loader.loc, name=name, batch_size=loader.fields["batch_size"],
                shuffle=loader.fields.get("shuffle"), sampler=loader.fields.get("sampler", ""),
                role=loader.fields["role"], transforms=items, transform_loc=transform_loc,
                transform_set_at=set_at, transform_shared=shared,
                image_data=image, symbol=loader.fields.get("symbol", ""),
                pipelines=tuple(pipelines_of(loader)), called_at=loader.fields.get("called_at"),
                joint_pipelines=isinstance(dataset, v.Instance),
                pipeline_shared_with=_evaluated_through(
                    pipeline, dataset, zip(self.loaders, pipelines))))
        return out

    def _trained_models(self, interp: TrainingInterp, described: dict[int, ir.TrainedModel]
                        ) -> list[ir.TrainedModel]:
        """The models whose weights an optimizer holds, mapped from a submodule (`model.fc`)
        to the model it belongs to; `described` gets each by the id of its value."""
        out: list[ir.TrainedModel] = []
        for value in self.trained:
            model = self.root(interp, value)
            if id(model) in described:
                continue
            described[id(model)] = self._describe(interp, model, self._held_parts(interp, model))
            described[id(model)].token = self.tokens.get(id(model), 0)
            out.append(described[id(model)])
        return out

    def _held_parts(self, interp: TrainingInterp, model: Any) -> set[int] | None:
        """The modules (by id) inside `model` whose weights the optimizers hold, when they
        hold parts of it only (`Adam(model.dec.parameters())` beside an encoder loaded
        frozen); None when one holds the model whole."""
        values = [value for value in self.trained if self.root(interp, value) is model]
        if not values or any(value is model for value in values):
            return None
        return {id(m) for value in values for m in interp.submodules(value)}

    def model_names(self, interp: TrainingInterp, weights: list[Any]) -> str:
        """The models whose weights these are, by name (`netD`, `netG`), for a step event."""
        names = set()
        for value in weights:
            root = self.root(interp, value)
            tracked = self.models.get(id(root))
            if tracked is not None:
                names.add(tracked[1])
            elif isinstance(root, v.Opaque) and root.model:
                # A library network, named as its forwards are: a part of one
                # (`net.classifier`'s weights) by the network.
                while isinstance(root.parent, v.Opaque) and root.parent.model:
                    root = root.parent
                names.add(root.origin)
        return ", ".join(sorted(names))

    def root(self, interp: TrainingInterp, value: Any) -> Any:
        """The model `value` is (a part of): itself when the training code built or called
        it, else the model holding it. A part a builder made and never called on its own
        (`Segmenter(Body(), Head())`, trained through param groups of `model.body` and
        `model.head`) is the model holding it."""
        tracked = id(value) in self.models
        if tracked and any(m is value for m in self.forwarded):
            return value
        holders = [model for model, *_rest in self.models.values()
                   if model is not value and value in interp.submodules(model)]
        if tracked and not holders:
            return value
        called = [m for m in holders if any(m is x for x in self.forwarded)]
        return (called or holders or [value])[0]

    def _part_names(self, interp: TrainingInterp, construction: Construction,
                    split: set[int]) -> tuple[str, ...] | None:
        """`net.gen` for an optimizer over a part of a model whose weights optimizers share
        out (by the part's attribute name); None when it holds anything else."""
        names = []
        for weights in weights_of(construction.params):
            root = self.root(interp, weights)
            tracked = self.models.get(id(root))
            if weights is root or id(root) not in split or tracked is None \
                    or not isinstance(root, v.Instance):
                return None
            key = next((k for k, x in root.attrs.items() if x is weights), None)
            if key is None:
                return None
            names.append(f"{tracked[1]}.{key}")
        return tuple(names) or None

    def _held_by(self, interp: TrainingInterp, construction: Construction,
                 described: dict[int, ir.TrainedModel], split: set[int]
                 ) -> tuple[ir.TrainedModel, ...]:
        """The trained models whose weights an optimizer holds (the part it holds, for a
        model in `split`: shared out among optimizers); () when some of what it holds is
        not known."""
        if holds_unknown(construction.params):
            return ()
        held = []
        for weights in weights_of(construction.params):
            root = self.root(interp, weights)
            model = described.get(id(root))
            if model is None:
                return ()
            if weights is not root and type(weights) is v.Instance and id(root) in split:
                # A network inside the trained model (a GAN wrapper's generator, with the
                # critic's optimizer beside it): the optimizer holds that one's weights only.
                model = self._describe(interp, weights)
            held.append(model)
        return tuple({id(m): m for m in held}.values())

    def _describe(self, interp: TrainingInterp, model: Any,
                  held: set[int] | None = None) -> ir.TrainedModel:
        tracked = self.models.get(id(model))
        name, loc, builders = (tracked[1], tracked[2], tracked[3]) if tracked else (
            "the model", None, [])
        if isinstance(model, v.Opaque):
            # A library's model, or a parameter of a function read without its caller (that
            # one may be any network of the project). What `eval(name)` makes is not a
            # library's: it may be any class of the project.
            library = "" if model.library == "builtins" else model.library
            if not library:
                why = ("no caller that passes it was found"
                       if model.origin.startswith("parameter ")
                       else "a call the reader could not follow to a network of the project")
                note = (f"{self.path}: the model trained is {model.origin}, {why}: rules "
                        "about a network without a training script stay silent")
                if note not in self.notes:
                    self.notes.append(note)
            # The network a builder makes (`resnet18(...)`); a part of it (`...fc`) has none.
            # A library's model is known by the project functions that returned it (`VGG19()`
            # wrapping torchvision's): a run that picks its builder by name trains it.
            made_by = tuple(key for key, _, _ in builders if key) if library else ()
            return ir.TrainedModel(keys=made_by, name=model.origin, loc=loc,
                                   families=interp.library_families(model),
                                   unresolved=not library)
        if isinstance(model, v.Choice) and all(o is not None for o in model.options):
            # One of a registry's models: what holds for it holds for every candidate. A
            # candidate the reader could not follow may hold anything.
            known = [option for option in model.options if option is not v.UNKNOWN]
            options = [self._describe(interp, option) for option in known]
            unresolved = len(known) < len(model.options) or any(o.unresolved for o in options)
            common: frozenset[str] | None = None
            for option in options:
                if option.families is None or unresolved:
                    common = None
                    break
                common = option.families if common is None else common & option.families
            by_default = next((described for option, described in zip(known, options)
                               if option is model.default), None)
            return ir.TrainedModel(
                keys=tuple(dict.fromkeys(k for o in options for k in o.keys)), name=name,
                loc=loc, families=common, unresolved=unresolved, by_default=by_default,
                parts=tuple(dict.fromkeys(p for o in options for p in o.parts)),
                sites=tuple(dict.fromkeys(s for o in options
                                          for s in (o.loc, *o.sites) if s is not None)))
        keys: list[str] = [key for key, _, _ in builders]
        defined = None
        if isinstance(model, v.Instance):
            keys.insert(0, ir.model_key(model.cls.scope.module, model.cls.name))
            name, defined = model.cls.name, model.cls.scope.loc(model.cls.node[5])
        factories = [b for b in builders if b[2]]
        if factories:  # `resnet20()`: the factory is the architecture users know
            name = factories[0][0].rsplit(":", 1)[-1]
            defined = factories[0][1] or defined
        families = frozenset(interp.layer_families(model))
        parts: list[str] = []
        inside = interp.submodules(model)
        donors = [self.taken_from[id(part)] for part in inside[1:]
                  if id(part) in self.taken_from]
        # A network the training code built whose layers the model took (a wrapper that
        # keeps a backbone's children up to a stage): it trains with the model.
        ids = {id(part) for part in inside}
        donors += [other for other in self.built_outside if id(other) not in ids and any(
            id(child) in ids for child in interp.submodules(other)[1:])]
        part_families: list[tuple[str, frozenset[str]]] = []
        part_layers: list[tuple[str, int]] = []
        for part in inside[1:] + self._held_networks(interp, inside) + donors:
            if held is not None and id(part) not in held:
                continue  # no optimizer holds its weights: it does not train here
            if isinstance(part, v.Instance):
                parts.append(ir.model_key(part.cls.scope.module, part.cls.name))
                part_families.append((parts[-1], frozenset(interp.layer_families(part))))
                part_layers.append((parts[-1], torchnn.weighted_count(interp.submodules(part))))
            if id(part) in self.models:
                # A network of its own the script handed it, or one a factory returned to
                # a plain function the module's code called (`pick_trunk("big")` returning
                # `trunk_big()`): known by those factories too.
                parts.extend(key for key, _, _ in self.models[id(part)][3] if key)
            if id(part) in self.part_builders:
                parts.append(self.part_builders[id(part)])
        # A network it holds that came from a project call the reader could not follow
        # (`AttackerModel(dataset.get_model(arch))`, then `self.model(x)`): that one may be
        # any.
        holds_unfollowed = any(id(m) in self.unknown_inside for m in inside)
        if holds_unfollowed:
            note = (f"{self.path}: `{name}` holds a network the reader could not build: rules "
                    "about a network without a training script stay silent")
            if note not in self.notes:
                self.notes.append(note)
        return ir.TrainedModel(keys=tuple(dict.fromkeys(keys)), name=name, loc=loc,
                               defined=defined, families=families,
                               parts=tuple(dict.fromkeys(parts)),
                               part_families=tuple(part_families),
                               part_layers=tuple(part_layers),
                               unresolved=not keys or holds_unfollowed,
                               layers=torchnn.weighted_count(inside)
                               if isinstance(model, v.Instance) else None,
                               linear=not holds_unfollowed and torchnn.linear_model(inside))

    def _notes(self, loops: list[ir.Loop], events: list[ir.Event]) -> list[str]:
        notes = list(self.notes)
        if self.optimizers_apart and self.trainer_loc is not None:
            notes.append(f"{self.trainer_loc.path}:{self.trainer_loc.line}: Lightning steps "
                         f"{self.optimizers_apart} optimizers over weights apart, each after a "
                         "backward pass of its own (`training_step` takes `optimizer_idx`: "
                         "adversarial training): rules about validation, early stopping, "
                         "schedules and augmentation stay silent")
        stepped_apart = ir.stepped_apart(events)
        # Models known by the function that built them (`model = build_model(cfg)`).
        by_builder = {name for _, name, _, builders in self.models.values()
                      if builders and builders[0][0].rsplit(":", 1)[-1] == name}
        epochs = {loop.id for loop in loops if loop.kind == "epoch"}
        for e in events:
            # (Only inside an epoch loop may it be the evaluation during training: one
            # after the training loop, a prediction on test files, silences nothing.)
            if e.kind == ir.FORWARD and "unknown-data" in e.flags \
                    and "feeds-step" not in e.flags and e.loc is not None \
                    and not epochs.isdisjoint(e.loops):
                # (A name that is a description, `the model` or `parameter `net``, is
                # not quoted again.)
                called = e.model if "`" in e.model or e.model == "the model" else \
                    f"the network `{e.model}` built" if e.model in by_builder else \
                    f"`{e.model}`"
                notes.append(f"{e.loc.path}:{e.loc.line}: {called} is called on data that "
                             "could not be followed, in a loop that trains nothing: it may "
                             "be evaluated on held-out data, so no-validation stays silent")
        acting = next((e for e in events if e.kind == ir.ENV_STEP), None)
        if acting is not None and acting.loc is not None:
            notes.append(f"{acting.loc.path}:{acting.loc.line}: `{acting.what}` hands back an "
                         "environment's observation, reward and end of episode (reinforcement "
                         "learning): rules about validation, early stopping, schedules and "
                         "augmentation stay silent")
        for loop in loops:
            if loop.kind != "epoch" or loop.loc is None:
                continue
            if loop.count is None or not loop.count.known:
                notes.append(f"{loop.loc.path}:{loop.loc.line}: how many epochs the training "
                             "loop runs is not known (its range's bounds could not be read): "
                             "rules about long runs (validation, early stopping, a schedule) "
                             "stay silent")
            blockers = list(dict.fromkeys(
                f"`{e.what}`" + (f" ({e.loc.path}:{e.loc.line})" if e.loc else "")
                for e in events if e.kind == ir.UNRESOLVED and loop.id in e.loops))
            apart = sorted(stepped_apart.get(loop.id, {}).values())
            if len(apart) > 1:
                named = ' and '.join(f'`{m}`' if m else 'a network picked by an option'
                                     for m in apart)
                notes.append(f"{loop.loc.path}:{loop.loc.line}: the training loop steps "
                             f"{named} with optimizers of their own, each after a backward "
                             "pass of its own (adversarial training): rules about validation, "
                             "early stopping, schedules and augmentation stay silent")
            uncalled = ir.stepped_never_called(events, loop.id)
            if uncalled:
                notes.append(f"{loop.loc.path}:{loop.loc.line}: the training loop never calls "
                             f"{' or '.join(f'`{m}`' for m in uncalled)}, only uses "
                             "its weights: whether it is evaluated, and what it is fed, are "
                             "not known, and no-validation and no-training-augmentation stay "
                             "silent")
            if blockers:
                calls = ", ".join(blockers[:4])
                more = f" and {len(blockers) - 4} more" if len(blockers) > 4 else ""
                notes.append(f"{loop.loc.path}:{loop.loc.line}: the training loop calls "
                             f"{calls}{more}, which could not be followed: rules about what "
                             "the loop lacks (validation, early stopping, zero_grad, a "
                             "schedule) stay silent")
        return notes


def _loader_name(loader: TrainObj) -> str:
    """How messages name a loader: its variable, or its dataset's."""
    dataset = loader.fields.get("dataset")
    return str(loader.fields.get("shown") or loader.fields.get("var") or (
        dataset.fields.get("var", "") if isinstance(dataset, TrainObj) else ""))


def _evaluated_through(pipeline: Any, dataset: Any,
                       loaders: Iterable[tuple[TrainObj, Any]]) -> str:
    """The name of an evaluation loader, over another dataset than `dataset`, whose images
    go through `pipeline` itself (loaders: each with its pipeline object); "" if none."""
    if pipeline is None:
        return ""
    return next((_loader_name(other) for other, used in loaders
                 if used is pipeline and other.fields["role"] == "eval"
                 and other.fields.get("dataset") is not dataset), "")


def _touches_models(event: ir.Event) -> bool:
    """A call the reader could not follow that may reach a model (handed one, or a method)."""
    return event.kind == ir.UNRESOLVED and "touches-models" in event.flags


def _of_unknown(params: Any) -> bool:
    """An optimizer's `params` that are weights of something not known: an unknown value,
    or the parameters of one, or of an object of no known library (a project import the
    reader could not resolve). A list of tensors (an image being optimised) is known, and
    so is a library's network."""
    if params is v.UNKNOWN:
        return True
    model = params.model if isinstance(params, v.Params) else None
    return model is v.UNKNOWN or isinstance(model, v.Opaque) and not model.library


def _holds_weights(params: Any) -> bool:
    """True when an optimizer's `params` contain a model's parameters."""
    return bool(weights_of(params))


def _param_leaves(params: Any) -> Iterator[Any]:
    """What an optimizer's `params` hold, through lists, tuples and param-group dicts (at
    most 256 values looked at)."""
    stack = [params]
    looked = 0
    while stack and looked < 256:
        looked += 1
        item = stack.pop()
        if type(item) in (list, tuple):
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.values())
        else:
            yield item


def weights_of(params: Any) -> list[Any]:
    """The models whose parameters `params` holds."""
    out: list[Any] = []
    for item in _param_leaves(params):
        if isinstance(item, v.Params):
            out.append(item.model)
        elif isinstance(item, v.ParamRef) and isinstance(item.owner, v.EachModule):
            if item.owner.of is not None:
                out.append(item.owner.of)  # `m.weight` for each `m` in `model.modules()`
        elif isinstance(item, v.ParamRef):
            out.append(item.owner)  # a layer's weight: the model that holds the layer
    return out


def holds_unknown(params: Any) -> bool:
    """Whether an optimizer's `params` hold a value the reader does not know (a group's
    tensors a helper collected): they may be a model's weights."""
    return any(item is v.UNKNOWN or isinstance(item, v.Opaque)
               for item in _param_leaves(params))


def _names_epochs(label: str) -> bool:
    """A loop's range named for epochs (`range(num_epochs)`), not for the steps of one
    (`range(epoch_steps)`, `range(iters_per_epoch)`)."""
    words = label.lower()
    return "epoch" in words and not any(part in words for part in ("step", "iter", "batch"))
