"""`cnnlint probe`: build the target, train a copy for a few steps, measure, judge, confirm.

Every failure of the user's code is a `ProbeError` naming the stage (import, constructor,
forward pass, training step N, ...) and the exception; the CLI prints one line (and the
traceback only with --verbose). Hooks are removed and the global RNG state restored however
the run ends; the user's files are never written.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from cnnlint.findings import ErrorEntry, Finding, Loc
from cnnlint.probe import confirm as confirming
from cnnlint.probe import data as datasets
from cnnlint.probe import heldout
from cnnlint.probe import io as model_io
from cnnlint.probe import lr_range as range_test
from cnnlint.probe import sanity
from cnnlint.probe.batchnorm import batchnorm_noise
from cnnlint.probe.measure import Measurements, Recorder
from cnnlint.probe.settings import choose
from cnnlint.verdict import Verdict, load_verdicts


T = TypeVar("T")


class ProbeError(Exception):
    def __init__(self, stage: str, error: BaseException | str) -> None:
        self.stage = stage
        self.cause = error if isinstance(error, BaseException) else None
        detail = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) \
            else error
        super().__init__(f"{stage}: {detail}")
        self.report: ProbeReport | None = None  # what was measured before the failure


@dataclass
class ProbeSettings:
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)  # --args
    input_shape: tuple[int, ...] | None = None
    extra_input_shapes: tuple[tuple[int, ...], ...] = ()  # of a forward's further inputs
    inputs: str | None = None  # --inputs module:callable: example inputs for a batch size
    num_classes: int | None = None
    batch_size: int | None = None
    steps: int = 30
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    device: str = "auto"
    seed: int = 0
    data: str | None = None
    root: str = "."  # the project root: on sys.path, and its config
    config: str | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # by code
    progress: Callable[[int, int, float], None] | None = None
    phase: Callable[[str], None] | None = None  # one line per phase of the run
    time_budget: float | None = None  # seconds; the run ends cleanly when they are spent
    fail_on: str = "warning"
    sanity: bool = True  # the sanity checks (cnnlint.probe.sanity)
    lr_range: bool = True  # the LR range test
    lr_range_steps: int = range_test.STEPS


@dataclass
class ProbeReport:
    target: str
    device: str
    steps: int
    findings: list[Finding] = field(default_factory=list)
    confirmations: list[dict[str, str]] = field(default_factory=list)
    measurements: Measurements = field(default_factory=Measurements)
    errors: list[ErrorEntry] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # what it ran with, and why
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1, "target": self.target, "device": self.device, "steps": self.steps,
            "settings": self.settings,
            "findings": [f.to_dict() for f in self.findings],
            "confirmations": [{k: c[k] for k in ("name", "code", "verdict", "evidence")}
                              for c in self.confirmations],
            "layers": [layer.to_dict() for layer in self.measurements.layers],
            "loss": self.measurements.loss,
            "first_batch_loss": list(self.measurements.first_batch_loss or []),
            "held_out": self.measurements.held_out.to_dict()
            if self.measurements.held_out is not None else None,
            "notes": self.notes,
            "sanity": self.measurements.sanity.to_dict(),
            "lr_range": self.measurements.lr_range.to_dict()
            if self.measurements.lr_range is not None else None,
            "errors": [e.to_dict() for e in self.errors],
        }


def run_probe(settings: ProbeSettings) -> ProbeReport:
    import torch

    from cnnlint.targets import TargetError, parse_target
    from cnnlint.trace.targets import contained, roots_for

    try:
        target = parse_target(settings.target)
    except TargetError as exc:
        raise ProbeError("target", str(exc)) from None
    target.kwargs.update(settings.kwargs)
    device = _device(settings.device, torch)
    saved_python_rng = random.getstate()
    devices = [torch.cuda.current_device()] if device.type == "cuda" else []
    with contained(roots_for(target, settings.root)), \
            torch.random.fork_rng(devices=devices):
        probe = _Probe(settings, target, device)
        try:
            torch.manual_seed(settings.seed)
            random.seed(settings.seed)
            return probe.run()
        except ProbeError as exc:
            exc.report = probe.report
            raise
        finally:
            random.setstate(saved_python_rng)


def _device(choice: str, torch: Any) -> Any:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ProbeError("device", "--device cuda, but torch sees no CUDA device")
    return torch.device(choice)


class _Probe:
    def __init__(self, settings: ProbeSettings, target: Any, device: Any) -> None:
        import torch

        self.torch = torch
        self.settings = settings
        self.target = target
        self.device = device
        self.report = ProbeReport(target=settings.target, device=str(device),
                                  steps=settings.steps)
        self.io = model_io.ModelIO([], self.report.settings, self.report.notes)
        self.held_out: tuple[Any, Any] | None = None
        self.started = time.monotonic()
        self.skipped: list[str] = []  # optional phases the time budget left out

    def _phase(self, name: str, optional: bool = True) -> bool:
        """Announce a phase of the run. False when the time budget is spent: an optional
        phase is then skipped, and the report says so."""
        if optional and self._spent():
            self.skipped.append(name)
            return False
        if self.settings.phase is not None:
            self.settings.phase(f"{name} ({time.monotonic() - self.started:.1f} s)")
        return True

    def _spent(self) -> bool:
        budget = self.settings.time_budget
        return budget is not None and time.monotonic() - self.started > budget

    def run(self) -> ProbeReport:
        from cnnlint.targets import TargetError
        from cnnlint.trace.targets import construct, definition, resolve

        try:
            factory = resolve(self.target)
        except TargetError as exc:
            raise ProbeError("import", str(exc)) from exc.__cause__
        source, line = definition(factory)
        path = self.target.path or source or ""
        self._phase("static analysis of the project", optional=False)
        context = self._static(path)
        self._phase(f"building {self.target.name}", optional=False)
        try:
            built = construct(factory, self.target)
        except TargetError as exc:
            raise ProbeError("constructor", str(exc)) from exc.__cause__
        model = copy.deepcopy(built)  # the user's object (a cached instance?) stays as it was
        loc = context.model.loc if context.model is not None else Loc(
            path, line, 1, line, 1)
        self.report.settings.update(choose(self.settings, context))
        shape = self._input_shape(model)
        functional, gates = self._graph_activations(model, loc, shape)
        model.to(self.device).train()
        # The sanity checks and the LR range test start from the model as built.
        initial = copy.deepcopy(model) if self.settings.sanity or self.settings.lr_range \
            else None
        run = self._train(model, shape, functional, gates)
        run.script_losses = tuple(context.losses)
        self.report.measurements = run
        if initial is not None and self.io.several:
            self.report.notes.append("the sanity checks and the LR range test call the model "
                                     "with one input tensor: skipped for this model's "
                                     "several inputs")
            initial = None
        if initial is not None:
            initial = model_io.logits_only(initial, self.io)
        if self.settings.sanity and initial is not None:
            first = self._first_batch()
            run.sanity.initial_loss = self._sanity_phase(
                "the loss at initialisation", sanity.initial_loss, initial, first)
            run.sanity.overfit = self._sanity_phase(
                "overfitting one batch", sanity.overfit_batch, initial, first,
                self.report.settings["num_classes"], self.settings.seed)
            run.sanity.input_baseline = self._sanity_phase(
                "the zeroed-input baseline", sanity.input_baseline, initial,
                self._fresh_batches(), self.settings.steps, self.device)
        if self.settings.lr_range and initial is not None:
            run.lr_range = self._sanity_phase(
                "the LR range test", range_test.find, initial, self._fresh_batches(),
                self._optimizer, self._optimizer_name(), self.device,
                self.settings.lr_range_steps)
        del initial
        verdicts = self.settings.verdicts
        for verdict in verdicts.values():
            self.report.findings.extend(verdict.evaluate(run, loc))
        # Thresholds by verdict name, for the confirmations: the configured ones, else
        # the defaults (also for verdicts this run does not evaluate).
        options = {cls.name: verdicts[code].options if code in verdicts else cls.Options()
                   for code, cls in load_verdicts().items()}
        self.report.confirmations = confirming.confirm(
            context, self.report.findings, run,
            {"batch_size": run.batch_size, "lr": run.lr, "options": options,
             "optimizer": self.report.settings["optimizer"], "data": self.settings.data})
        if self.skipped:
            self.report.notes.append(f"not measured within the time budget of "
                                     f"{self.settings.time_budget:g} s: "
                                     f"{', '.join(self.skipped)}")
        return self.report

    # --- static side ---------------------------------------------------------------------------

    def _static(self, path: str) -> confirming.StaticContext:
        """Lint the target's file statically for its findings and training settings. The
        analysis covers its project (the folder of the nearest [tool.cnnlint] table, else of
        the nearest pyproject.toml, setup.cfg, setup.py or .git): the scripts there that
        train the model are found through their imports."""
        from cnnlint.config import ConfigError, Flags, build_settings
        from cnnlint.engine import lint
        from cnnlint.rule import load_rules

        if not path or not os.path.isfile(path):
            return confirming.StaticContext()
        try:
            rules = load_rules()
            settings = build_settings([path], Flags(config=self.settings.config), rules)
            result = lint([path], settings, rules, report_everything=True)
        except ConfigError as exc:
            raise ProbeError("configuration", str(exc)) from None
        except Exception as exc:  # the probe still measures without the static side
            self.report.errors.append(ErrorEntry(path, "internal",
                                                 f"static analysis failed: {exc}"))
            return confirming.StaticContext()
        real = os.path.realpath(path)  # the neighbours' own troubles are not this probe's
        self.report.errors.extend(e for e in result.errors if os.path.realpath(e.path) == real)
        return confirming.static_context(result, path, self.target.name)

    # --- model side ----------------------------------------------------------------------------

    def _input_shape(self, model: Any) -> tuple[int, ...]:
        """The first input's shape; `self.io` knows them all."""
        from cnnlint.trace import ops

        s, chosen = self.settings, self.report.settings
        shape: tuple[int, ...] | None
        if s.inputs is not None:
            self.io = self._inputs_from(s.inputs, chosen["batch_size"])
            shape = self.io.shapes[0]
        else:
            shape = s.input_shape or self.target.input_shape or ops.infer_input_shape(model)
            if shape is None:
                raise ProbeError("input shape", "the model has no conv or linear layer to "
                                                "infer it from: give --input-shape C,H,W")
            self.io = model_io.ModelIO([shape, *s.extra_input_shapes], chosen,
                                       self.report.notes, num_classes=s.num_classes)
        chosen["input_shape"] = list(shape)
        if len(self.io.shapes) > 1:
            chosen["input_shapes"] = [list(extra) for extra in self.io.shapes]
        return shape

    def _inputs_from(self, spec: str, size: int) -> model_io.ModelIO:
        try:
            target, factory = datasets.resolve_callable(spec, "--inputs")
            return model_io.ModelIO.from_factory(
                lambda n: factory(n, *target.args, **target.kwargs), size,
                self.report.settings, self.report.notes, self.settings.num_classes)
        except (datasets.DataError, model_io.OutputError) as exc:
            raise ProbeError("inputs", str(exc)) from None
        except Exception as exc:
            raise ProbeError("inputs", exc) from exc

    def _graph_activations(self, model: Any, loc: Loc, shape: tuple[int, ...]
                           ) -> tuple[dict[str, list[tuple[str, str]]], frozenset[str]]:
        """From the traced graph: module path -> activations applied functionally to its
        output (`F.relu(self.bn1(x))`), so their dead units can be counted at the module;
        and the paths of sigmoid-like modules used only as gates."""
        from cnnlint.graph import is_gate
        from cnnlint.trace.runner import trace_network

        try:
            network, method, _ = trace_network(copy.deepcopy(model), loc, {}, shape)
        except Exception as exc:  # measuring still works for module activations
            self.report.notes.append(f"activations applied functionally are not measured: "
                                     f"the model could not be traced ({exc})")
            return {}, frozenset()
        found: dict[str, list[tuple[str, str]]] = {}
        gates: set[str] = set()
        not_gates: set[str] = set()
        for node in network:
            family = node.family
            # A gate (swish's x * sigmoid(x), a squeeze-and-excitation scale) only scales
            # another tensor: near 0 or 1 it is doing its job, not a saturated layer.
            gate = family == "saturating" and is_gate(network, node)
            if not node.functional and family == "saturating" and node.name:
                (gates if gate else not_gates).add(node.name)
            if not node.functional or family not in ("relu", "saturating") or gate:
                continue
            producer = network.nodes[node.inputs[0]] if node.inputs else None
            if producer is not None and not producer.functional and producer.name \
                    and producer.kind not in ("input", "add", "cat", "mul", "merge", "unknown"):
                pairs = found.setdefault(producer.name, [])
                if (node.kind, node.name) not in pairs:
                    pairs.append((node.kind, node.name))
        return found, frozenset(gates - not_gates)

    # --- training ------------------------------------------------------------------------------

    def _batches(self, shape: tuple[int, ...], num_classes: int) -> Any:
        s = self.settings
        batch = self.report.settings["batch_size"]
        try:
            stream = datasets.open_stream(s.data, tuple(self.io.shapes), num_classes, batch,
                                          s.seed)
        except datasets.DataError as exc:
            raise ProbeError("data", str(exc)) from None
        self.held_out = stream.held_out
        if stream.note:
            self.report.notes.append(stream.note)
        return stream.batches

    def _num_classes(self, model: Any, shape: tuple[int, ...]) -> int:
        if self.settings.num_classes:
            return self.settings.num_classes
        torch = self.torch
        try:
            model.eval()
            with torch.no_grad():
                output = self.io.forward(model, self.io.example(2, self.device))
        except model_io.OutputError as exc:
            raise ProbeError("forward pass", str(exc)) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise ProbeError(f"forward pass on {self.io.describe_example(2)}", exc) from exc
        finally:
            model.train()
        return int(output.shape[1]) if output.dim() > 1 else 2

    def _optimizer(self, model: Any) -> Any:
        chosen = self.report.settings
        kind = getattr(self.torch.optim, chosen["optimizer"], None)
        if not isinstance(kind, type):
            raise ProbeError("optimizer", f"torch.optim has no optimizer "
                                          f"`{chosen['optimizer']}`")
        kwargs: dict[str, Any] = {"lr": chosen["lr"]}
        for key in ("momentum", "weight_decay"):
            if chosen.get(key) is not None:
                kwargs[key] = chosen[key]
        try:
            return kind(model.parameters(), **kwargs)
        except Exception as exc:
            raise ProbeError("optimizer", exc) from exc

    def _loss_on(self, model: Any, inputs: Any, labels: Any) -> float:
        """The loss on one batch, in train mode as during the steps, without an update."""
        try:
            with self.torch.no_grad():
                output = self.io.forward(model, inputs)
                criterion, target = datasets.targets_for(output, labels)
                return float(criterion(output, target))
        except Exception as exc:
            raise ProbeError("loss after the run", exc) from exc

    def _train(self, model: Any, shape: tuple[int, ...],
               functional: dict[str, list[tuple[str, str]]],
               gates: frozenset[str]) -> Measurements:
        torch = self.torch
        chosen = self.report.settings
        num_classes = self._num_classes(model, shape)
        chosen["num_classes"] = num_classes
        labels_seen = sanity.LabelCounter()
        batches = labels_seen.counting(self._batches(shape, num_classes))
        optimizer = self._optimizer(model)
        run = self.report.measurements = Measurements(batch_size=chosen["batch_size"],
                                                      lr=float(chosen["lr"]),
                                                      lr_from=chosen["lr_from"])
        recorder = Recorder(model, functional, gates)
        steps = self.settings.steps
        self._phase(f"training {steps} steps at batch size {chosen['batch_size']}",
                    optional=False)
        first: tuple[Any, Any] | None = None
        seen: list[tuple[Any, Any]] = []  # training batches kept for the held-out comparison
        try:
            for step in range(steps):
                stage = f"training step {step + 1}"
                try:
                    inputs, labels = next(batches)
                except datasets.DataError as exc:
                    raise ProbeError("data", str(exc)) from None
                inputs = self.io.arguments(inputs, self.device)
                labels = labels.to(self.device)
                first = first or (inputs, labels)
                if heldout.keep_step(step, steps):
                    seen.append((inputs, labels))
                if step == 0 and not all(bool(torch.isfinite(x).all()) for x in inputs
                                         if isinstance(x, torch.Tensor)
                                         and x.is_floating_point()):
                    raise ProbeError("data", "the input batch contains NaN or inf")
                try:
                    optimizer.zero_grad(set_to_none=True)
                    output = self.io.forward(model, inputs)
                    criterion, target = datasets.targets_for(output, labels)
                    loss = criterion(output, target)
                    finite = bool(torch.isfinite(loss))
                    if finite:
                        loss.backward()
                        recorder.before_update()
                        optimizer.step()
                        recorder.after_update()
                    recorder.end_step(loss, run)
                except (ProbeError, KeyboardInterrupt):
                    raise
                except BaseException as exc:  # also sys.exit() in the user's forward
                    raise ProbeError(stage, exc) from exc
                run.steps = step + 1
                if self.settings.progress is not None:
                    self.settings.progress(step + 1, steps, run.loss[-1])
                if not finite:
                    break  # every later step would only repeat the NaN
                if step + 1 < steps and self._spent():
                    self.report.notes.append(
                        f"the time budget of {self.settings.time_budget:g} s ran out after "
                        f"{step + 1} of {steps} steps")
                    break
            recorder.finish(run)
            recorder.remove()
            if first is not None and run.loss:
                run.first_batch_loss = (run.loss[0], self._loss_on(model, *first))
            if run.loss and math.isfinite(run.loss[-1]):
                self._held_out(model, seen, run)
            if run.loss and math.isfinite(run.loss[-1]) \
                    and self._phase("BatchNorm statistics against a reference batch"):
                inputs_only = (self.io.packed(x, self.device) for x, _ in batches)
                try:
                    batchnorm_noise(self.io.unpacking(model), inputs_only,
                                    {layer.name: layer for layer in run.layers}, run)
                except Exception as exc:
                    raise ProbeError("BatchNorm train/eval check", exc) from exc
            # The synthetic labels are balanced by construction: the class balance speaks
            # only of the user's data.
            if self.settings.sanity and self.settings.data is not None and run.loss \
                    and math.isfinite(run.loss[-1]) and not self.io.several:
                run.sanity.class_balance = self._sanity_phase(
                    "class balance", sanity.class_balance,
                    model_io.logits_only(model, self.io), batches,
                    labels_seen.totals(run.steps), self.device)
        finally:
            if not run.layers:  # failed mid-run: what was measured so far
                recorder.finish(run)
            recorder.remove()
        self.report.steps = run.steps
        return run

    def _held_out(self, model: Any, seen: list[tuple[Any, Any]], run: Measurements) -> None:
        """Loss and accuracy on batches the run trained on against the held-out batch."""
        if self.held_out is None or not seen:
            return
        inputs, labels = self.held_out
        batch = (self.io.arguments(inputs, self.device), labels.to(self.device))
        try:
            run.held_out = heldout.compare(lambda x: self.io.forward(model, x), seen, batch)
        except Exception as exc:
            raise ProbeError("held-out batch", exc) from exc

    # --- sanity checks ---------------------------------------------------------------------

    def _fresh_batches(self) -> Any:
        """The run's batches again from the start (the same seed)."""
        chosen = self.report.settings
        return self._batches(tuple(chosen["input_shape"]), chosen["num_classes"])

    def _first_batch(self) -> tuple[Any, Any]:
        """The run's first batch, on the device."""
        try:
            inputs, labels = next(self._fresh_batches())
        except datasets.DataError as exc:
            raise ProbeError("data", str(exc)) from None
        return inputs.to(self.device), labels.to(self.device)

    def _optimizer_name(self) -> str:
        chosen = self.report.settings
        momentum = chosen.get("momentum")
        return chosen["optimizer"] + (f" momentum {momentum:g}" if momentum is not None else "")

    def _sanity_phase(self, stage: str, measure: Callable[..., T], *args: Any) -> T | None:
        """One sanity phase (skipped when the time budget is spent); when the user's code
        fails in it (also by sys.exit()), a note, and the report goes on without it: the main
        run already succeeded."""
        if not self._phase(stage):
            return None
        try:
            return measure(*args)
        except KeyboardInterrupt:
            raise
        except ProbeError as exc:
            self.report.notes.append(f"{stage} was skipped: {exc}")
        except BaseException as exc:
            self.report.notes.append(f"{stage} was skipped: {type(exc).__name__}: {exc}")
        return None


