"""How training code's calls of its models are read: each forward is an event with what
tells evaluation from training (no gradients, an evaluation loader, held-out input, fresh
noise), outputs computed without gradients keep nodes of their own so that a loss using
them is seen, and `.train()`/`.eval()` set the modes the rules compare. Readers describe;
CNN204 and CNN212 judge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, cast

from cnnlint import catalogue, ir
from cnnlint.extract import torchnn
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, Frame, tensors_in
from cnnlint.extract.training import library
from cnnlint.extract.training.loops import LoopReading
from cnnlint.extract.training.objects import (LIBRARY_MODEL, LIGHTNING_HOOKS, LOSSES,
                                              REGRESSION_LOSSES, TrainObj, role)
from cnnlint.extract.training.recorder import Recorder
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc

if TYPE_CHECKING:
    from cnnlint.extract.training.reader import TrainingInterp


class ForwardReading(LoopReading):
    """The training interpreter's model calls and modes (`recorder`, `grad_off`, `batches`,
    `held_out` and `ungraded` are the training interpreter's)."""

    recorder: Recorder | None
    grad_off: int
    held_out: set[int]
    ungraded: dict[int, ir.Event]
    forward_outputs: dict[int, ir.Event]
    noise_fed: set[int]
    noise_made: set[int]
    unknown_transforms: set[int]
    accumulating: int
    models_running: int
    joined_batches: set[int]
    training_methods: list[tuple[int, str]]

    def in_module_code(self, f: Frame) -> bool:
        """True inside a module's own methods: its construction and forward are the model,
        not the training script (a LightningModule's hooks are the script, and so is a
        method training code calls, `model.fit(loader)`, and what it calls on `self`)."""
        obj = f.self_obj
        if not isinstance(obj, v.Instance) or obj.cls.lookup("forward") is None:
            return False
        if (id(obj), f.function) in self.training_methods:
            return False
        if _plain_class(obj.cls):
            return False  # `class Trainer(object)` naming its loop over batches `forward`
        if obj.cls.lookup("training_step") is None:
            return True
        return f.function not in LIGHTNING_HOOKS and not f.function.startswith("on_")

    def unknown_call(self, args: Args, why: str) -> Any:
        """A call not known, on tensors. One training code makes (not a model's code, nor a
        library network's call) transforms its data in a way not known: it may draw at
        random, as augmenting does."""
        out = super().unknown_call(args, why)  # type: ignore[misc]
        if type(out) is v.Tensor and self.recorder is not None and not self.models_running \
                and why != LIBRARY_MODEL:
            self.unknown_transforms.add(out.node)
        return out

    def apply(self, module: Any, args: Args, f: Frame, loc: Loc | None = None) -> Any:
        rec = self.recorder
        if rec is not None and isinstance(module, v.LayerSpec) \
                and module.kind in REGRESSION_LOSSES and library.not_averaged(module.args) \
                and self.grad_off == 0:
            rec.sums_a_loss = True
        if rec is not None and isinstance(module, v.LayerSpec) \
                and module.kind in REGRESSION_LOSSES:
            library.note_rebuilding(cast("TrainingInterp", self))
        if rec is not None and isinstance(module, v.LayerSpec) and module.kind in LOSSES:
            library.record_loss(cast("TrainingInterp", self), module.kind, _weighted(module),
                                tensors_in(args), f, loc, made_at=module.loc,
                                summed=library.not_averaged(module.args),
                                smoothed=library.smooths(module.args))
        elif rec is not None and isinstance(module, v.LayerSpec) \
                and catalogue.family(module.kind) == "dropout" and not self.in_module_code(f) \
                and not self.models_running:
            # A dropout layer training code applies to data (`masker(torch.ones(x.shape))
            # * x`, a denoising autoencoder's corruption) draws a random mask: noise, not a
            # model run. (One inside a model the code runs, a Sequential's, is the model's.)
            out = super().apply(module, args, f, loc)
            self.noise_made.update(t.node for t in _tensors_of(out))
            return out
        elif rec is not None and isinstance(module, v.MODULE_VALUES) \
                and not self.in_module_code(f) and not (
                    isinstance(module, v.Instance) and not self.is_module_class(module.cls)):
            # (A plain class's `forward` method, a trainer's step, is no model call: the
            # model calls inside it are.)
            self.forward_event(module, loc, args)
            event = rec.events[-1]
            self.models_running += 1
            try:
                out = super().apply(module, args, f, loc)
            finally:
                self.models_running -= 1
            if self.grad_off > 0:
                out = self._ungraded(event, out, loc)
                if next(_tensors_of(out), None) is None:
                    # (One of several networks picked by an option, returning a tensor or
                    # a tuple: what the code does with the output is not followed.)
                    event.flags = event.flags | {"output-unknown"}
            for tensor in _tensors_of(out):
                self.forward_outputs[tensor.node] = event
            return out
        return super().apply(module, args, f, loc)

    def forwards_behind(self, tensor: Any) -> list[ir.Event]:
        """The forwards of the pass whose outputs a tensor is computed from."""
        if type(tensor) is not v.Tensor:
            return []
        found, seen, stack = [], {tensor.node}, [tensor.node]
        while stack:
            i = stack.pop()
            event = self.forward_outputs.get(i)
            if event is not None:
                found.append(event)
                continue
            for j in self.graph[i].inputs:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        return found

    def computed_in_evaluation(self, tensor: Any) -> bool:
        """Whether a tensor is computed from the outputs of forwards that evaluate (a model
        in eval mode, or called without gradients), and of no other forward: a loss on it
        measures, it does not train (`model.eval()`, then a weighted loss as a metric)."""
        found = self.forwards_behind(tensor)
        return bool(found) and all(e.mode is False or "grad-off" in e.flags for e in found)

    def _ungraded(self, event: ir.Event, out: Any, loc: Loc | None) -> Any:
        """The output of a forward without gradients, as new nodes of its own: the same
        model called on the same input with gradients shares its layers' nodes, and a loss
        computed from that one must not count as computed from this one."""
        if type(out) is v.Tensor:
            detached = self.add_node("Identity", (out,), name="no_grad", loc=loc)
            self.ungraded[detached.node] = event
            return detached
        if type(out) in (tuple, list):
            return type(out)(self._ungraded(event, x, loc) for x in out)
        return out

    def forward_event(self, model: Any, loc: Loc | None, inputs: Args | None = None) -> None:
        """A model called from training code, with the context that tells evaluation: no
        grad, a loop over an evaluation loader, or input drawn from one."""
        rec = self.recorder
        assert rec is not None
        rec.forwarded.append(model)
        if self.current_call is not None and self.current_call[0][0] == "call" \
                and self.current_call[0][2]:
            call, frame = self.current_call
            fed = library.tensor_name(cast("TrainingInterp", self), call[2][0], frame)
            if fed is not None:
                rec.fed.add(fed)  # `model(x)`: the variable `x`
        flags = set()
        if self.grad_off > 0:
            flags.add("grad-off")
        if any(loop.loader is not None and role(loop.loader) == "eval" for loop in rec.loops) \
                or (inputs is not None and self._from_eval_loader(inputs)):
            flags.add("eval-loader")
            inner = rec.loops[-1] if rec.loops else None
            if inner is not None and (inner.loader is None or role(inner.loader) == "eval"):
                # The loop it runs in goes over held-out batches (`for x in test_loader`, or
                # `for k in range(n): x = next(test_iter)`), not over training batches.
                flags.add("in-eval-loop")
        elif inputs is not None and inputs.pos and type(inputs.pos[0]) is v.Tensor \
                and inputs.pos[0].node in self.held_out:
            # The whole held-out tensors at once: `net(test_features)` (the first input: a
            # loss's targets, `mse(out, y_test)`, evaluate nothing).
            flags.add("held-out")
        behind = self.loaders_behind(inputs) if inputs is not None else []
        if behind and all(id(loader) in rec.train_loader_ids for loader in behind):
            # Computed from training batches only (a validation loop that scores the last
            # training batch, `sample`, instead of its own): nothing held out.
            flags.add("train-batch")
        if inputs is not None and self._noisy_batch(inputs):
            flags.add("noisy-input")
        if inputs is not None and self._batch_through_unknown(inputs):
            flags.add("unknown-transform")
        if inputs is not None and inputs.pos and self.joined_batches and not self.joined_batches \
                .isdisjoint(self._upstream(Args(inputs.pos[:1]))):
            flags.add("joined-batches")  # its batch is larger than any loader's
        if inputs is not None and self.noise_behind(inputs):
            flags.add("noise-input")
            # What the model was fed is its first input: a loss module's second is its
            # targets (`criterion(out, labels)`, a class of the project's, reads as a model).
            self.noise_fed.update(self.noise_behind(Args(inputs.pos[:1])))
        if self._norms_frozen(model):
            flags.add("norms-frozen")
        if rec.train_called.get(id(model)) == rec.steps_updating(model):
            # Put in train mode by `.train()` and not trained since: on purpose (Monte-Carlo
            # dropout samples predictions with dropout on, from a mean teacher too).
            flags.add("train-mode-called")
        tracked = rec.models.get(id(model))
        if tracked is None and not isinstance(model, v.Opaque):
            # A part called on its own (`self.backbone(x)` in a training step) is a forward
            # of the model holding it.
            tracked = rec.models.get(id(rec.root(cast("TrainingInterp", self), model)))
        name = tracked[1] if tracked else (
            model.origin if isinstance(model, v.Opaque) else "the model")
        # (A library network's: those its builder is known to give it, `resnet18()`'s
        # BatchNorm.)
        held = (self.library_families(model) or set()) if isinstance(model, v.Opaque) \
            else self.layer_families(model)
        families = tuple(sorted(held & {"batchnorm", "dropout"}))
        rec.event(ir.FORWARD, loc, what=name, flags=frozenset(flags),
                  mode=self._whole_mode(model), model=name, families=families,
                  token=rec.token(rec.root(cast("TrainingInterp", self), model)))

    def _feeds_step(self, loss: v.Tensor) -> None:
        """Forwards without gradients whose outputs this backpropagated loss is computed
        from are part of the step (guessed labels, a teacher's targets), not evaluations;
        so are forwards on data not followed (a loop over a sequence's steps)."""
        rec = self.recorder
        if not self.ungraded and not (rec is not None and rec.maybe_evaluating):
            return
        seen, stack = {loss.node}, [loss.node]
        while stack:
            i = stack.pop()
            event = self.ungraded.get(i)
            if event is None:
                event = self.forward_outputs.get(i)
                if event is not None and "unknown-data" not in event.flags:
                    event = None
            if event is not None:
                event.flags = event.flags | {"feeds-step"}
            for j in self.graph[i].inputs:
                if j not in seen:
                    seen.add(j)
                    stack.append(j)

    def _whole_mode(self, model: Any) -> bool | None:
        """The model's mode, when every model the reader tracks inside it is in that mode
        too: a new wrapper (train mode) around a trained net put in eval mode is in neither."""
        rec = self.recorder
        assert rec is not None
        mode = rec.mode_of(model)
        if mode is None or len(rec.modes) < 2 or not isinstance(model, v.MODULE_VALUES):
            return mode
        for part in self.submodules(model):
            if part is not model and id(part) in rec.modes and rec.mode_of(part) != mode:
                return None
        return mode

    def _from_eval_loader(self, args: Args) -> bool:
        """Whether an input tensor is computed from a batch of an evaluation loader."""
        return any(role(loader) == "eval" for loader in self.loaders_behind(args))

    def _upstream(self, args: Args, limit: int = 256) -> Iterator[int]:
        """The graph nodes the tensors of `args` are computed from (themselves included),
        depth first; at most `limit`, by default enough to reach a training step's batch."""
        stack = [t.node for t in tensors_in(args)]
        seen: set[int] = set()
        while stack and len(seen) < limit:
            i = stack.pop()
            if i in seen or i >= len(self.graph):
                continue
            seen.add(i)
            yield i
            stack.extend(self.graph[i].inputs)

    def loaders_behind(self, args: Args) -> list[TrainObj]:
        """The loaders whose batches the tensors of `args` are computed from."""
        found: list[TrainObj] = []
        for i in self._upstream(args):
            loader = self.batches.get(i)
            if loader is not None and all(loader is not x for x in found):
                found.append(loader)
        return found

    def _noisy_batch(self, args: Args) -> bool:
        """Whether an input mixes a loader's batch with random noise drawn for it (a
        denoising autoencoder's `images + 0.2 * torch.randn_like(images)`): the batches
        never repeat, as with augmentation."""
        batch = noise = False
        for i in self._upstream(args):
            batch = batch or i in self.batches
            noise = noise or self.graph[i].name in library.NOISE or i in self.noise_made
            if batch and noise:
                return True
        return False

    def _batch_through_unknown(self, args: Args) -> bool:
        """Whether an input is computed from a loader's batch through a library function
        the reader does not know (`torch.tensor(random_noise(batch.numpy()))`)."""
        if not self.unknown_transforms:
            return False
        return any(i in self.unknown_transforms
                   and any(j in self.batches for j in self._upstream(Args([v.Tensor(i)])))
                   for i in self._upstream(args))

    def noise_behind(self, args: Args, limit: int = 256) -> frozenset[int]:
        """The random tensors (`torch.rand`, `torch.randn`, a random fill) the tensors of
        `args` are computed from, when they are computed from those alone: empty when a
        batch, a loaded or a literal tensor is behind them too (or too far to tell)."""
        leaves = set()
        for count, i in enumerate(self._upstream(args, limit), 1):
            if count == limit or i in self.batches:
                return frozenset()
            node = self.graph[i]
            if not node.inputs and node.name not in _FILLED:  # (a one-hot target's zeros)
                if node.name not in library.NOISE:
                    return frozenset()
                leaves.add(i)
        return frozenset(leaves)

    def set_mode(self, model: Any, name: str, args: Args, loc: Loc | None = None) -> None:
        rec = self.recorder
        assert rec is not None
        if name == "eval":
            mode: Any = False
        elif not args.pos:
            mode = True
        else:
            flag = args.pos[0]
            mode = bool(flag) if type(flag) is bool else UNKNOWN
        rec.set_mode(model, mode)
        if mode is True:
            rec.frozen_norms.discard(id(model))  # `.train()` sets every BatchNorm training
        tracked = rec.models.get(id(model))
        # (Under `if step % 50 == 0:`, a test of a count, it happens on some later pass of
        # the loop, whichever passes the reading saw it on.)
        rec.event(ir.MODE, loc, what=f".{name}()", mode=mode if type(mode) is bool else None,
                  model=tracked[1] if tracked else (
                      model.origin if isinstance(model, v.Opaque) and model.model else ""),
                  flags=frozenset({"periodic"}) if self.accumulating > 0 else frozenset())
        if mode is True:
            rec.train_called[id(model)] = rec.steps_updating(model)
        else:
            rec.train_called.pop(id(model), None)
        # As torch does, the mode reaches every module inside (an encoder a factory built
        # that the script also calls on its own).
        if rec.modes and isinstance(model, v.MODULE_VALUES):
            parts = self.submodules(model)
            for part in parts:
                if part is not model and id(part) in rec.modes:
                    rec.set_mode(part, mode)
            # A model some of whose modules changed mode (`net.eval()` and then
            # `nn.ModuleList(net.backbone()).train()`) is in neither mode as a whole.
            changed = {id(part) for part in parts}
            for whole, held, _ in list(rec.modes.values()):
                if whole is not model and id(whole) not in changed and held != mode \
                        and isinstance(whole, v.MODULE_VALUES) and any(
                            id(inner) in changed for inner in self.submodules(whole)):
                    rec.set_mode(whole, UNKNOWN)

    def _norms_frozen(self, model: Any) -> bool:
        """Whether the model's BatchNorm layers are all kept in eval mode: it, or each part
        of it that holds them (a trainer module wrapping a detector that `freeze_bn()` froze),
        had them frozen since its last `.train()`."""
        assert self.recorder is not None
        frozen = self.recorder.frozen_norms
        if id(model) in frozen:
            return True
        parts = self.submodules(model)
        norms = {id(m) for m in parts if isinstance(m, v.LayerSpec)
                 and catalogue.family(m.kind) == "batchnorm"}
        held = {id(m) for part in parts if id(part) in frozen for m in self.submodules(part)}
        return bool(norms) and norms <= held

    def submodules(self, module: Any) -> list[Any]:
        """Every module inside `module` (itself included), from its construction."""
        return torchnn.module_tree(self, module)

    def layer_families(self, module: Any) -> set[str]:
        """The layer families a module holds, read from its construction (no forward); a
        library network held as an attribute (`self.backbone = resnet18()`) brings those
        its builder is known to give it. A dropout of rate 0 drops nothing: it is none."""
        found = set()
        for m in self.submodules(module):
            if isinstance(m, v.LayerSpec):
                family = catalogue.family(m.kind)
                if family != "dropout" or not _rate_zero(m.args.get("p")):
                    found.add(family)
            elif type(m) is v.Instance:
                for held in m.attrs.values():
                    if type(held) is v.Opaque and held.families:
                        found.update(held.families)
        return found

    def library_families(self, model: v.Opaque) -> frozenset[str] | None:
        """The layer families of a library network as the script leaves it: its builder's,
        less those of a head the script replaced (`vgg.classifier = nn.Sequential(...)`),
        and those of the head put in place; None when none is known."""
        if model.new_head is None:
            return model.families
        found = (model.families or frozenset()) - model.head_families \
            | frozenset(self.layer_families(model.new_head))
        return found if found or model.families is not None else None


def _rate_zero(p: Any) -> bool:
    return type(p) in (int, float) and p == 0


# Tensors of one value throughout: constants a computation starts from, not data.
_FILLED = frozenset({"torch.zeros", "torch.ones", "torch.full", "torch.empty", "torch.eye"})


def _weighted(spec: v.LayerSpec) -> bool:
    """A loss layer given a class weight: one known to be set (an attribute a library base
    class set, `self.weight` of a `_WeightedLoss`, may be None)."""
    given = (spec.args.get("weight"), spec.args.get("pos_weight"))
    return any(x is not None and not isinstance(x, v.BoundMethod) for x in given)


def _plain_class(cls: v.ClassVal, depth: int = 0) -> bool:
    """A class built on `object` alone (here or through its project bases): not a module."""
    for expr, base in zip(cls.node[2], cls.bases):
        if isinstance(base, v.ClassVal) and depth < 16:
            if not _plain_class(base, depth + 1):
                return False
        elif expr != ("name", "object"):
            return False
    return True


def _tensors_of(value: Any) -> Iterator[v.Tensor]:
    """The tensors a forward returned: itself, or those of a tuple or list it returned."""
    if type(value) is v.Tensor:
        yield value
    elif type(value) in (tuple, list):
        for item in value:
            yield from _tensors_of(item)
