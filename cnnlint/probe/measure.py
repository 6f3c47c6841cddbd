"""What the probe measures during its training steps, and how.

Hooks must survive real models: full backward hooks break on `ReLU(inplace=True)`, so the
recorder uses only forward hooks (and forward pre-hooks) on built-in layers, reading their
outputs (or inputs) at once into 0-d tensors, and reads weight gradients after `backward()`.
The 0-d tensors of a step are moved to the host together at the step's end (one transfer per
step on a GPU), so memory stays bounded whatever the number of steps.

Per layer (per call site, for a module called at several places) and step: weight-gradient
norm, update-to-weight ratio, output mean and std; for ReLU-family activations the units
(channels) never positive so far; for sigmoid/tanh the share of inputs beyond +/-5; per step
the loss and the first layer with a non-finite output.
After the run, BatchNorm's noise (`cnnlint.probe.batchnorm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnnlint import catalogue
from cnnlint.probe.lr_range import LRRange
from cnnlint.probe.sanity import SanityChecks
from cnnlint.trace import hooks, ops

SATURATION = 5.0  # |pre-activation| beyond which sigmoid/tanh pass (almost) no gradient


@dataclass
class LayerStats:
    name: str  # module path ("features.3"), or "bn1+F.relu" for a functional activation
    type: str  # "Conv2d", "ReLU", ...
    family: str
    order: int = -1  # execution order in the first step
    grad_norm: list[float] = field(default_factory=list)  # per step (weighted layers)
    update_ratio: list[float] = field(default_factory=list)  # per step (weighted layers)
    grad_nonfinite: bool = False
    act_mean: list[float] = field(default_factory=list)  # per step
    act_std: list[float] = field(default_factory=list)
    dead_fraction: float | None = None  # ReLU family: units never positive over the run
    dead_first_step: float | None = None  # ... in the first step alone
    saturated: list[float] = field(default_factory=list)  # sigmoid/tanh: share beyond +/-5
    bn_mean_spread: float | None = None  # std across batches of the batch mean / running std
    bn_var_spread: float | None = None  # std across batches of the batch var / running var
    bn_gap: float | None = None  # |train-mode output - eval-mode output| / |eval output|
    bn_gap_reference: float | None = None  # the same at the reference batch size
    input_from: str | None = None  # activations: the layer whose output they read, if direct

    @property
    def weighted(self) -> bool:
        return self.family in catalogue.WEIGHTED_FAMILIES

    def to_dict(self) -> dict[str, object]:
        def mean(values: list[float]) -> float | None:
            finite = [v for v in values if math.isfinite(v)]
            return sum(finite) / len(finite) if finite else None

        row: dict[str, object] = {"name": self.name, "type": self.type, "order": self.order}
        if self.input_from is not None:
            row["input_from"] = self.input_from
        if self.weighted:
            row.update(grad_norm=mean(self.grad_norm),
                       grad_norm_first=self.grad_norm[0] if self.grad_norm else None,
                       update_ratio=mean(self.update_ratio),
                       grad_nonfinite=self.grad_nonfinite)
        row.update(act_mean=mean(self.act_mean), act_std=mean(self.act_std))
        if self.dead_fraction is not None:
            row.update(dead_fraction=self.dead_fraction, dead_first_step=self.dead_first_step)
        if self.saturated:
            row["saturated"] = mean(self.saturated)
        if self.family == "batchnorm":
            row.update(bn_mean_spread=self.bn_mean_spread, bn_var_spread=self.bn_var_spread,
                       bn_gap=self.bn_gap, bn_gap_reference=self.bn_gap_reference)
        return row


@dataclass
class HeldOut:
    """After the run, without updates: the loss and accuracy on some of the training
    batches the run saw, and on one fixed batch it never trained on."""

    train_loss: float
    train_accuracy: float
    held_out_loss: float
    held_out_accuracy: float
    train_batches: int  # how many of the batches seen were evaluated
    samples: int  # in the held-out batch

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Measurements:
    layers: list[LayerStats] = field(default_factory=list)  # in execution order
    loss: list[float] = field(default_factory=list)
    # The loss on the first batch before any update and again after the run: the same data,
    # so the change is the training's, not the batches' noise.
    first_batch_loss: tuple[float, float] | None = None
    nonfinite: list[tuple[int, str]] = field(default_factory=list)  # (step, first layer)
    batch_size: int = 0
    lr: float = 0.0
    lr_from: str = ""  # "option", "training script" or "default" (the probe's own)
    # The losses the project's training script trains this model with (CrossEntropyLoss,
    # NLLLoss, ...), as the static analysis read them; empty when unknown.
    script_losses: tuple[str, ...] = ()
    steps: int = 0
    bn_reference_batch: int | None = None  # the batch size BatchNorm's noise is compared with
    held_out: HeldOut | None = None
    sanity: SanityChecks = field(default_factory=SanityChecks)  # cnnlint.probe.sanity
    lr_range: LRRange | None = None  # cnnlint.probe.lr_range

    def weighted(self) -> list[LayerStats]:
        return [layer for layer in self.layers if layer.weighted and layer.grad_norm]

    def gradient_ratios(self, first_steps: int | None = None) -> list[tuple[float, float]]:
        """Per step: (first-layer gradient norm / last-layer norm, first-layer norm)."""
        weighted = self.weighted()
        if len(weighted) < 2:
            return []
        first, last = weighted[0], weighted[-1]
        count = min(len(first.grad_norm), len(last.grad_norm))
        if first_steps is not None:
            count = min(count, first_steps)
        out = []
        for step in range(count):
            top, bottom = first.grad_norm[step], last.grad_norm[step]
            ratio = top / bottom if bottom > 0 else (math.inf if top > 0 else math.nan)
            out.append((ratio, top))
        return out


# The layers whose statistics the probe records.
MEASURED_FAMILIES = frozenset({"conv", "linear", "batchnorm", "instancenorm", "groupnorm",
                               "layernorm", "relu", "leaky", "saturating", "dropout"})


def measured_modules(model: Any) -> set[int]:
    """Ids of the modules measured as layers: the built-in ones (torch.fx's leaves), and a
    project's subclass of a built-in layer (efficientnet-pytorch's
    `Conv2dStaticSamePadding` is an `nn.Conv2d` with a padding module inside), which runs
    the built-in layer's computation. What such a subclass holds is part of it, not a layer
    of its own."""
    import torch

    found = hooks.leaves(model)
    inside: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix) for prefix in inside):
            found.discard(id(module))
            continue
        kind = ops.layer_kind(module)
        if id(module) in found or kind == type(module).__name__ \
                or catalogue.family(kind) not in MEASURED_FAMILIES or not hasattr(torch.nn, kind):
            continue
        found.add(id(module))
        inside.append(f"{name}.")
    return found


class Recorder:
    """Hooks on one model; `end_step` closes each training step.

    A module called at several places of one forward pass (one `self.relu` after `bn1` and
    after `bn2`, as in torchvision's and MONAI's ResNets) is measured per call site: the
    first call keeps the module's path as its name, the k-th is `path#k`. Each site has its
    own statistics and dead units (sites may differ in width, and a merged count would let
    the live site hide the dead one). A weighted module's gradient belongs to its first site.
    """

    def __init__(self, model: Any, functional_inputs: dict[str, list[tuple[str, str]]],
                 gates: frozenset[str] = frozenset()) -> None:
        """`functional_inputs`: module path -> [(activation kind, its name)] for activations
        applied functionally to that module's output (`F.relu(self.bn1(x))`), from the
        model's traced graph: their dead units and saturation are read off the module.
        `gates`: paths of sigmoid-like modules whose outputs only scale other tensors
        (squeeze-and-excitation): not layers of the stack, not measured."""
        import torch

        self.torch = torch
        self.stats: dict[str, LayerStats] = {}
        self.handles: list[Any] = []
        self.weights: list[tuple[LayerStats, Any]] = []
        self.order = 0
        self.step_values: dict[str, dict[str, list[Any]]] = {}
        self.finite_flags: list[tuple[str, Any]] = []
        self.alive: dict[str, Any] = {}  # ReLU family: channels positive at least once
        self.first_alive: dict[str, Any] = {}
        self.uneven: set[str] = set()  # sites whose width changed between calls
        self.snapshots: list[Any] = []
        self.grad_values: list[Any] = []  # this step's weight-gradient norms (0-d tensors)
        self.update_values: list[Any] = []  # this step's update-to-weight ratios
        self.step = 0
        self.calls: dict[str, int] = {}  # calls of each module in this forward pass
        self.current: dict[str, LayerStats] = {}  # module path -> its running call site
        self.functional = functional_inputs
        # The last hooked output, its in-place version and site: what an activation reads
        # when it directly follows that layer.
        self.last_output: tuple[Any, int, str] | None = None
        self.handles.append(model.register_forward_pre_hook(self._new_pass))
        leaves = measured_modules(model)
        for name, module in model.named_modules():
            if id(module) not in leaves:
                continue
            kind = ops.layer_kind(module)
            family = catalogue.family(kind)
            if family not in MEASURED_FAMILIES or (family == "saturating" and name in gates):
                continue
            layer = self.stats[name] = LayerStats(name=name, type=kind, family=family)
            self.handles.append(module.register_forward_pre_hook(self._site_hook(layer)))
            self.handles.append(module.register_forward_hook(self._output_hook(name)))
            if family == "saturating":
                self.handles.append(module.register_forward_pre_hook(self._saturation_hook(
                    name)))
            weight = getattr(module, "weight", None)
            # A frozen weight gets no gradient: a zero norm there is not a vanishing one.
            if family in catalogue.WEIGHTED_FAMILIES and weight is not None \
                    and weight.requires_grad:
                self.weights.append((layer, weight))
            if functional_inputs.get(name):
                self.handles.append(module.register_forward_hook(self._preactivation_hook(
                    name)))

    # --- call sites ----------------------------------------------------------------------------

    def _new_pass(self, module: Any, args: Any) -> None:
        self.calls = {}
        self.last_output = None

    def _site(self, first: LayerStats, index: int) -> LayerStats:
        """The stats of the `index`-th call (from 0) of the module whose first site is
        `first`, created on its first use."""
        name = first.name if index == 0 else f"{first.name}#{index + 1}"
        site = self.stats.get(name)
        if site is None:
            site = self.stats[name] = LayerStats(name=name, type=first.type,
                                                 family=first.family)
        return site

    def _site_hook(self, first: LayerStats) -> Any:
        def hook(module: Any, args: Any) -> None:
            index = self.calls.get(first.name, 0)
            self.calls[first.name] = index + 1
            site = self.current[first.name] = self._site(first, index)
            if site.family in ("relu", "leaky", "saturating") and site.input_from is None \
                    and args and self.last_output is not None:
                tensor, version, producer = self.last_output
                if args[0] is tensor and tensor._version == version:
                    site.input_from = producer
        return hook

    # --- hooks -------------------------------------------------------------------------------

    def _values(self, layer: LayerStats) -> dict[str, list[Any]]:
        if layer.order < 0:
            layer.order = self.order
            self.order += 1
        return self.step_values.setdefault(layer.name, {})

    def _float_output(self, output: Any) -> Any:
        """A layer's output tensor, detached; None when it is not a floating-point tensor."""
        out = output[0] if isinstance(output, tuple) else output
        if not isinstance(out, self.torch.Tensor) or not out.is_floating_point():
            return None
        return out.detach()

    def _output_hook(self, module_name: str) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            layer = self.current.get(module_name)
            out = self._float_output(output)
            if out is None or layer is None:
                return
            raw = output[0] if isinstance(output, tuple) else output
            self.last_output = (raw, raw._version, layer.name)
            values = self._values(layer)
            # Two plain reductions: torch.std_mean's one-pass algorithm is slower on CPU.
            mean = out.mean()
            std = out.std() if out.numel() > 1 else mean * 0
            values.setdefault("mean", []).append(mean)
            values.setdefault("std", []).append(std)
            # A NaN or inf anywhere in the output makes its mean non-finite: no extra pass.
            self.finite_flags.append((layer.name, mean))
            if layer.family == "relu":
                self._alive(layer, out)
        return hook

    def _preactivation_hook(self, module_name: str) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            site = self.current.get(module_name)
            out = self._float_output(output)
            if out is None or site is None:
                return
            for act_kind, act_name in self.functional[module_name]:
                name = f"{site.name}+{act_name}"
                layer = self.stats.get(name)
                if layer is None:
                    layer = self.stats[name] = LayerStats(
                        name=name, type=act_kind, family=catalogue.family(act_kind))
                self._values(layer)
                if layer.family == "relu":
                    self._alive(layer, out)
                elif layer.family == "saturating":
                    self._saturation(layer, out)
        return hook

    def _saturation_hook(self, module_name: str) -> Any:
        def hook(module: Any, args: Any) -> None:
            layer = self.current.get(module_name)
            if layer is not None and args and isinstance(args[0], self.torch.Tensor):
                self._values(layer)
                self._saturation(layer, args[0].detach())
        return hook

    def _alive(self, layer: LayerStats, out: Any) -> None:
        if layer.name in self.uneven:
            return
        dims = [d for d in range(out.dim()) if d != 1] if out.dim() > 1 else []
        alive = (out.amax(dim=dims) if dims else out) > 0  # one reduction, no mask
        previous = self.alive.get(layer.name)
        if previous is not None and previous.shape != alive.shape:
            # The same site at another width (a dynamic forward): its units are not one
            # set, so no dead share is claimed for it.
            self.uneven.add(layer.name)
            self.alive.pop(layer.name)
            self.first_alive.pop(layer.name, None)
            return
        self.alive[layer.name] = alive if previous is None else previous | alive
        if self.step == 0:
            first = self.first_alive.get(layer.name)
            self.first_alive[layer.name] = alive if first is None else first | alive

    def _saturation(self, layer: LayerStats, x: Any) -> None:
        values = self.step_values.setdefault(layer.name, {})
        values.setdefault("saturated", []).append((x.abs() > SATURATION).float().mean())

    # --- steps -------------------------------------------------------------------------------

    def before_update(self) -> None:
        """After backward, before the optimizer step: gradients, and weights to compare."""
        torch = self.torch
        weights = [weight.detach() for _, weight in self.weights]
        grads = [w.grad.detach() if w.grad is not None else torch.zeros_like(d)
                 for (_, w), d in zip(self.weights, weights)]
        # One fused kernel per list (torch._foreach_*): dozens of layers, few launches.
        # A non-finite gradient makes its norm non-finite, so the norm is the check too.
        norms = list(torch._foreach_norm(grads)) if grads else []
        self.snapshots = [w.clone() for w in weights]
        self.grad_values = norms

    def after_update(self) -> None:
        torch = self.torch
        if not self.snapshots:
            self.update_values = []
            return
        after = [weight.detach() for _, weight in self.weights]
        steps = torch._foreach_norm(torch._foreach_sub(after, self.snapshots))
        sizes = torch._foreach_norm(self.snapshots)
        # A weight that starts at zero (a zero-initialized last layer) has no ratio: NaN,
        # which the summaries skip, rather than a step divided by a tiny floor.
        self.update_values = [torch.where(n > 0, s / n.clamp_min(1e-30), math.nan)
                              for s, n in zip(steps, sizes)]
        self.snapshots = []

    def end_step(self, loss: Any, measurements: Measurements) -> None:
        """Move the step's numbers to the host in one go and append them."""
        torch = self.torch
        keys, tensors = [], []
        for name, values in self.step_values.items():
            for key, items in values.items():
                keys.append((name, key))
                tensors.append(torch.stack([t.float() for t in items]).mean())
        outputs = [value for _, value in self.finite_flags]
        groups = [[loss.detach().float().reshape(())], tensors, self.grad_values,
                  self.update_values, outputs]
        flat = [v.float().reshape(()) for group in groups for v in group]
        host = torch.stack([v.to(flat[0].device) for v in flat]).tolist()
        cut, parts = 0, []
        for group in groups:
            parts.append(host[cut:cut + len(group)])
            cut += len(group)
        (loss_value,), means, norms, ratios, output_means = parts
        measurements.loss.append(loss_value)
        series = {"mean": "act_mean", "std": "act_std", "saturated": "saturated"}
        for (name, key), value in zip(keys, means):
            getattr(self.stats[name], series[key]).append(value)
        for (layer, _), norm in zip(self.weights, norms):
            layer.grad_norm.append(norm)
            layer.grad_nonfinite = layer.grad_nonfinite or not math.isfinite(norm)
        for (layer, _), ratio in zip(self.weights, ratios):
            layer.update_ratio.append(ratio)
        for (name, _), mean in zip(self.finite_flags, output_means):
            if not math.isfinite(mean):
                measurements.nonfinite.append((self.step, name))
                break
        self.step_values, self.finite_flags = {}, []
        self.grad_values, self.update_values = [], []
        self.last_output = None
        self.step += 1

    def finish(self, measurements: Measurements) -> None:
        """Run-level numbers: dead units; layers in execution order."""
        for name, alive in self.alive.items():
            self.stats[name].dead_fraction = 1.0 - alive.float().mean().item()
            first = self.first_alive.get(name)
            if first is not None:
                self.stats[name].dead_first_step = 1.0 - first.float().mean().item()
        measured = [s for s in self.stats.values() if s.order >= 0]
        measurements.layers = sorted(measured, key=lambda s: s.order)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

