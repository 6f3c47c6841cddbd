"""The probe's measurements on real-model shapes: per call site dead units, gradients and
losses at an exploding scale, a plateau judged over several batches, update sizes, a
held-out batch; strict JSON and failures that still report; several inputs and outputs."""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from helpers import run

torch = pytest.importorskip("torch")

from cnnlint.findings import Loc  # noqa: E402
from cnnlint.probe import data as datasets  # noqa: E402
from cnnlint.probe import heldout, runner  # noqa: E402
from cnnlint.probe import io as model_io  # noqa: E402
from cnnlint.probe.measure import LayerStats, Measurements, Recorder  # noqa: E402
from cnnlint.verdict import load_verdicts  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "probe"
NETS, SHAPES = FIXTURES / "nets.py", FIXTURES / "shapes.py"
SMALL = (3, 8, 8)
LOC = Loc("model.py", 1, 1, 1, 1)


def probe(target: str, **options: Any) -> runner.ProbeReport:
    settings = runner.ProbeSettings(
        target=target, input_shape=options.pop("input_shape", SMALL),
        steps=options.pop("steps", 12), sanity=options.pop("sanity", False),
        lr_range=options.pop("lr_range", False),
        verdicts={c: v() for c, v in load_verdicts().items()}, **options)
    return runner.run_probe(settings)


def names(report: runner.ProbeReport) -> set[str]:
    return {f.name for f in report.findings}


def verdict(name: str) -> Any:
    return next(cls for cls in load_verdicts().values() if cls.name == name)()


def recorded(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]],
             lr: float = 0.01) -> Measurements:
    """SGD steps with the probe's recorder, as the probe's training loop drives it."""
    measured = Measurements()
    recorder = Recorder(model, {})
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        recorder.before_update()
        optimizer.step()
        recorder.after_update()
        recorder.end_step(loss, measured)
    recorder.finish(measured)
    recorder.remove()
    return measured


def load(path: Path, name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"probe_fixture_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def never_positive(outputs: list[torch.Tensor]) -> float:
    """Share of channels never above zero over all the outputs, by hand."""
    stacked = torch.cat([o.transpose(0, 1).reshape(o.shape[1], -1) for o in outputs], 1)
    return float((stacked.amax(1) <= 0).float().mean())


# --- dead units per call site ------------------------------------------------------------


def test_a_shared_relu_is_measured_at_each_call_site() -> None:
    torch.manual_seed(0)
    model = load(SHAPES, "SharedRelu")()
    batches = [(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])) for _ in range(3)]
    # By hand: the ReLU's output at each place, with the weights of each step.
    twin = load(SHAPES, "SharedRelu")()
    twin.load_state_dict(model.state_dict())
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.01)
    first, second = [], []
    for x, y in batches:
        a = torch.relu(twin.conv1(x))
        b = torch.relu(twin.conv2(a))
        first.append(a.detach())
        second.append(b.detach())
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(
            twin.fc(torch.cat([a.mean((2, 3)), b.mean((2, 3))], 1)), y).backward()
        optimizer.step()

    measured = recorded(model, batches)
    layers = {layer.name: layer for layer in measured.layers}
    assert layers["relu"].dead_fraction == pytest.approx(never_positive(first))
    assert layers["relu#2"].dead_fraction == pytest.approx(never_positive(second)) == 1.0
    assert layers["relu"].dead_fraction < 0.2
    assert (layers["relu"].input_from, layers["relu#2"].input_from) == ("conv1", "conv2")
    assert layers["relu"].order < layers["conv2"].order < layers["relu#2"].order
    assert layers["relu"].act_mean[0] == pytest.approx(first[0].mean().item(), rel=1e-5)
    assert layers["relu#2"].act_mean[0] == pytest.approx(0.0)
    finding = next(iter(verdict("dying-relu").evaluate(measured, LOC)))
    assert finding.symbol == "relu#2"
    assert "100% of the units of `relu#2` (ReLU, after `conv2`)" in finding.message


def test_a_relu_reused_at_two_widths_keeps_each_width() -> None:
    torch.manual_seed(0)
    model = load(SHAPES, "WidthsRelu")()
    with torch.no_grad():
        model.conv2.bias[:12] = -100.0  # 12 of the 16 wide units never fire
    batches = [(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])) for _ in range(2)]
    measured = recorded(model, batches)
    layers = {layer.name: layer for layer in measured.layers}
    assert layers["act"].dead_fraction == pytest.approx(0.0)
    assert layers["act#2"].dead_fraction == pytest.approx(12 / 16)


class PaddedConv(torch.nn.Conv2d):
    """A project's conv subclass holding its own padding module, as efficientnet-pytorch's
    same-padding convolutions do."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 3)
        self.pad = torch.nn.ZeroPad2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.pad(x))


def test_a_subclass_of_a_builtin_layer_is_measured_as_that_layer() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(PaddedConv(3, 6), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(6 * 8 * 8, 4))
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    twin = torch.nn.Sequential(PaddedConv(3, 6), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(6 * 8 * 8, 4))
    twin.load_state_dict(model.state_dict())
    torch.nn.functional.cross_entropy(twin(x), y).backward()
    measured = recorded(model, [(x, y)])
    layers = {layer.name: layer for layer in measured.layers}
    assert "0.pad" not in layers  # part of the conv, not a layer of its own
    assert layers["0"].type == "Conv2d" and layers["0"].family == "conv"
    assert layers["0"].grad_norm[0] == pytest.approx(twin[0].weight.grad.norm().item(),
                                                     rel=1e-5)
    assert layers["1"].input_from == "0"


@pytest.mark.slow
def test_monai_resnet50_reuses_one_activation_at_several_widths() -> None:
    """MONAI's Bottleneck applies `self.act` at 64 and 256 channels: this crashed the probe."""
    nets = pytest.importorskip("monai.networks.nets")
    torch.manual_seed(0)
    model = nets.resnet50(spatial_dims=2, n_input_channels=3, num_classes=10)
    measured = recorded(model, [(torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))])
    sites = {layer.name for layer in measured.layers}
    assert {"layer1.0.act", "layer1.0.act#2", "layer1.0.act#3"} <= sites
    assert all(layer.dead_fraction is not None for layer in measured.layers
               if layer.family == "relu")
    assert next(layer for layer in measured.layers
                if layer.name == "layer1.0.act").input_from == "layer1.0.bn1"


def test_a_frozen_layer_is_not_taken_for_a_vanishing_gradient() -> None:
    torch.manual_seed(0)
    model = load(SHAPES, "PlainRelu")()
    model.convs[0].weight.requires_grad_(False)
    measured = recorded(model, [(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))])
    assert [layer.name for layer in measured.weighted()][0] == "convs.1"
    assert not list(verdict("vanishing-gradient").evaluate(measured, LOC))


# --- exploding gradients and update sizes --------------------------------------------------


def test_weights_scaled_a_thousandfold_explode_and_the_healthy_twin_does_not() -> None:
    scaled = probe(f"{SHAPES}:PlainRelu(scale=1000.0)", steps=1)
    ratio = scaled.measurements.gradient_ratios()[0][0]
    assert 1e-2 < ratio < 70  # the first/last ratio alone saw nothing
    message = next(f.message for f in scaled.findings if f.name == "exploding-gradient")
    assert message.startswith("the largest weight-gradient norm is ")
    largest = max(layer.grad_norm[0] for layer in scaled.measurements.weighted())
    assert f"is {largest:.2e} at" in message and largest > 1e8
    assert "update-ratio-too-high" in names(scaled)
    healthy = probe(f"{SHAPES}:PlainRelu", steps=3)
    assert not names(healthy) & {"exploding-gradient", "update-ratio-too-high"}
    assert max(layer.grad_norm[0] for layer in healthy.measurements.weighted()) < 10


@pytest.mark.slow
def test_update_ratio_verdicts_read_the_layers_the_gradient_reaches() -> None:
    slow = probe(f"{NETS}:SmallNet", lr=1e-7, steps=4)
    assert "update-ratio-too-low" in names(slow)
    message = next(f.message for f in slow.findings if f.name == "update-ratio-too-low")
    assert "at lr 1.00e-07" in message and "threshold 1.00e-06" in message
    assert not names(probe(f"{NETS}:SmallNet", lr=0.05, steps=4)) & {
        "update-ratio-too-low", "update-ratio-too-high"}
    # A vanishing gradient leaves the first layers still, at any rate: not the rate's fault.
    assert "update-ratio-too-low" not in names(probe(f"{NETS}:PlainSigmoid", steps=4))


def test_update_ratio_against_a_hand_computation() -> None:
    torch.manual_seed(3)
    model = load(SHAPES, "PlainRelu")()
    twin = load(SHAPES, "PlainRelu")()
    twin.load_state_dict(model.state_dict())
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    measured = recorded(model, [(x, y)], lr=0.1)
    torch.nn.functional.cross_entropy(twin(x), y).backward()
    layers = {layer.name: layer for layer in measured.layers}
    for name, layer in (("convs.2", twin.convs[2]), ("fc", twin.fc)):
        expected = 0.1 * layer.weight.grad.norm() / layer.weight.detach().norm()
        assert layers[name].update_ratio[0] == pytest.approx(expected.item(), rel=1e-4)
    with torch.no_grad():
        model.fc.weight.zero_()  # a weight at zero has no ratio, not a step over a floor
    again = recorded(model, [(x, y)], lr=0.1)
    assert math.isnan(next(layer for layer in again.layers if layer.name == "fc").update_ratio[0])


def test_update_ratios_confirm_the_static_learning_rate_findings(in_tmp: Path) -> None:
    from cnnlint.probe import confirm

    assert "update-ratio-too-low" in confirm.EVIDENCE["learning-rate-too-low"]
    assert "update-ratio-too-high" in confirm.EVIDENCE["learning-rate-too-high"]
    source = NETS.read_text().replace("class SmallNet(", "class Net(")
    (in_tmp / "model.py").write_text(source)
    (in_tmp / "train.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        from model import Net

        loader = DataLoader(torch.load("data.pt"), batch_size=16, shuffle=True)
        model = Net()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=0.9)
        criterion = nn.CrossEntropyLoss()
        for epoch in range(10):
            for x, y in loader:
                optimizer.zero_grad()
                criterion(model(x), y).backward()
                optimizer.step()
    """))
    only = {code: cls() for code, cls in load_verdicts().items()
            if cls.name == "update-ratio-too-low"}
    report = runner.run_probe(runner.ProbeSettings(target="model.py:Net", input_shape=SMALL,
                                                   steps=6, verdicts=only, sanity=False,
                                                   lr_range=False))
    confirmation = next(c for c in report.confirmations if c["name"] == "learning-rate-too-low")
    assert confirmation["verdict"] == "CONFIRMED"
    assert confirmation["evidence"].startswith("a step changes the weights by a median")


# --- the loss plateau ------------------------------------------------------------------------


def plateau(loss: list[float], after: float) -> list[str]:
    measured = Measurements(loss=loss, first_batch_loss=(loss[0], after), steps=len(loss),
                            lr=0.01)
    return [f.message for f in verdict("loss-plateau").evaluate(measured, LOC)]


def test_plateau_counts_a_fall_across_batches_only_beyond_their_noise() -> None:
    flat = [1.40, 1.37, 1.43, 1.39, 1.41, 1.38, 1.42, 1.40]
    assert plateau(flat, 1.399)  # nothing falls
    falling = [1.40, 1.38, 1.41, 1.30, 1.20, 1.10, 1.02, 1.00]
    assert not plateau(falling, 1.399)  # the first batch alone is not the run
    noisy = [1.40, 1.00, 1.80, 1.40, 1.60, 1.00, 1.60, 1.40]  # 4% lower, in noise of 0.3
    message = plateau(noisy, 1.399)
    assert message and "the mean loss of the first 2 steps 1.2, of the last 2 1.5" in message[0]
    assert not plateau(flat, 1.30)  # the first batch fell by 7%
    assert not plateau(flat, 1.60)  # grew: the divergence verdict's
    assert plateau([1.4, 1.4, 1.4], 1.4)  # too short for windows: the first batch decides


@pytest.mark.slow
def test_plateau_on_the_probe_runs() -> None:
    for seed in (0, 1):
        assert "loss-plateau" in names(probe(f"{NETS}:SmallNet", lr=1e-7, seed=seed))
        assert "loss-plateau" not in names(probe(f"{NETS}:SmallNet", lr=0.01, seed=seed))


def test_a_one_channel_map_is_binary() -> None:
    output = torch.randn(4, 1, 5, 5)
    criterion, target = datasets.targets_for(output, torch.tensor([0, 1, 2, 3]))
    assert isinstance(criterion, torch.nn.BCEWithLogitsLoss)
    assert target.shape == output.shape and target[1].eq(1).all() and target[2].eq(0).all()
    assert datasets.accuracy(torch.full((4, 1, 5, 5), 3.0), target) == pytest.approx(0.5)


# --- the held-out batch ----------------------------------------------------------------------


def test_held_out_scores_against_a_hand_computation() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    seen = [(torch.randn(6, 5), torch.randint(3, (6,))) for _ in range(2)]
    held = (torch.randn(6, 5), torch.randint(3, (6,)))
    result = heldout.compare(model, seen, held)
    with torch.no_grad():
        losses = [torch.nn.functional.cross_entropy(model(x), y).item() for x, y in seen]
        right = [(model(x).argmax(1) == y).float().mean().item() for x, y in seen]
        held_loss = torch.nn.functional.cross_entropy(model(held[0]), held[1]).item()
    assert result.train_loss == pytest.approx(sum(losses) / 2)
    assert result.train_accuracy == pytest.approx(sum(right) / 2)
    assert result.held_out_loss == pytest.approx(held_loss)
    assert (result.train_batches, result.samples) == (2, 6)
    assert [step for step in range(30) if heldout.keep_step(step, 30)] == [0, 7, 14, 21]


def test_a_held_out_dataset_batch_is_never_trained_on() -> None:
    items = [(torch.full((2,), float(i)), i % 2) for i in range(20)]
    train, held, note = datasets.hold_out(items, 4, seed=0)
    assert held is not None and note == ""
    kept = {int(v) for v in held[0][:, 0]}
    stream = datasets.dataset_batches(train, 4, seed=0)
    trained = {int(v) for _ in range(12) for v in next(stream)[0][:, 0]}  # three epochs
    assert len(kept) == 4 and not kept & trained and len(trained) == 16
    assert datasets.hold_out(items[:7], 4, seed=0)[1] is None


def test_the_report_compares_training_and_held_out_batches(in_tmp: Path) -> None:
    report = probe(f"{NETS}:SmallNet", steps=8)
    held = report.measurements.held_out
    assert held is not None and held.samples == 16 and held.train_batches == 4
    assert 0 <= held.held_out_accuracy <= 1 and held.held_out_loss > 0
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "4",
                          "--format", "json"])
    document = json.loads(out)
    assert set(document["held_out"]) == {"train_loss", "train_accuracy", "held_out_loss",
                                         "held_out_accuracy", "train_batches", "samples"}
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "4"])
    assert "\nheld out: loss " in out and "samples never trained on\n" in out


# --- output that holds -----------------------------------------------------------------------


def strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in the JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_has_no_bare_nan_and_flags_what_was_not_finite(in_tmp: Path) -> None:
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "20",
                          "--lr", "1e6", "--format", "json"])
    assert code == 1, err
    document = strict(out)
    bad = [i for i, v in enumerate(document["loss"]) if v is None]
    assert bad and f"loss[{bad[0]}]" in document["nonfinite"]
    assert "CNN407" in {f["code"] for f in document["findings"]}
    healthy = strict(run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "2",
                          "--format", "json"])[1])
    assert healthy["nonfinite"] == []


def test_a_failed_probe_still_reports_json(in_tmp: Path) -> None:
    (in_tmp / "failing.py").write_text(textwrap.dedent("""
        import torch.nn as nn

        class Broken(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.relu = nn.ReLU()
                self.fc = nn.Linear(4, 2)
                self.calls = 0

            def forward(self, x):
                self.calls += 1
                if self.calls == 3:
                    raise RuntimeError("out of memory (simulated)")
                return self.fc(self.relu(self.conv(x)).mean((2, 3)))
    """))
    code, out, err = run(["probe", "failing.py:Broken", "--input-shape", "3,8,8", "--format",
                          "json"])
    assert code == 2 and "probe failed at training step 2" in err
    document = strict(out)
    assert document["error"]["stage"] == "training step 2"
    assert "RuntimeError: out of memory (simulated)" in document["error"]["message"]
    assert document["errors"][-1]["kind"] == "probe"
    assert len(document["loss"]) == 1 and {"conv", "relu", "fc"} <= {
        layer["name"] for layer in document["layers"]}
    code, out, err = run(["probe", "nowhere.py:Net", "--format", "json"])
    assert code == 2 and strict(out)["error"]["stage"] == "import"


def test_output_folders_are_made_before_the_run_and_bad_rates_refused(in_tmp: Path) -> None:
    pytest.importorskip("matplotlib")
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "2",
                          "--plot", "plots/run/flow.png", "-o", "reports/probe.json",
                          "--format", "json"])
    assert code == 0, err
    assert (in_tmp / "plots" / "run" / "flow.png").read_bytes()[:4] == b"\x89PNG"
    assert strict((in_tmp / "reports" / "probe.json").read_text())["steps"] == 2
    (in_tmp / "afile").write_text("")
    code, out, err = run(["probe", "nets.py:SmallNet", "--plot", "afile/flow.png"])
    assert code == 2 and "cannot create the folder of afile/flow.png" in err and out == ""
    for rate in ("0", "nan", "-1", "inf"):
        code, out, err = run(["probe", "nets.py:SmallNet", "--lr", rate])
        assert code == 2 and "is not a learning rate" in err, rate


def test_data_paths_are_taken_from_the_working_folder(in_tmp: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "models").mkdir()
    (in_tmp / "sets").mkdir()
    (in_tmp / "work").mkdir()
    shutil.copy(NETS, in_tmp / "models" / "nets.py")
    (in_tmp / "sets" / "toy.py").write_text(textwrap.dedent("""
        import torch
        def make(n=12):
            return [(torch.randn(3, 8, 8), i % 4) for i in range(n)]
    """))
    monkeypatch.chdir(in_tmp / "work")
    code, out, err = run(["probe", "../models/nets.py:SmallNet", "--input-shape", "3,8,8",
                          "--steps", "2", "--batch-size", "4", "--data", "../sets/toy.py:make",
                          "--format", "json"])
    assert code in (0, 1), err
    assert len(strict(out)["loss"]) == 2
    code, out, err = run(["probe", "../models/nets.py:SmallNet", "--data", "images"])
    assert code == 2 and "--data: no such folder images" in err
    code, out, err = run(["probe", "../models/nets.py:SmallNet", "--data", "toy.py:make"])
    assert code == 2 and "--data: no such file toy.py" in err


def test_long_layer_paths_are_cut_from_the_left_and_marked() -> None:
    from cnnlint.probe.output import _tail

    assert _tail("fc", 28) == "fc"
    cut = _tail("_blocks.15._bn0+torch.sigmoid", 28)
    assert cut == "...cks.15._bn0+torch.sigmoid" and len(cut) == 28


def test_plot_marks_zeros_and_stays_readable_for_hundreds_of_layers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlint.probe import output

    figure, axes = plt.subplots()
    output._log_bars(axes, [0.0, 1e-3, 2.0, math.inf], "blue", [(1e4, "limit", "red")])
    bottom, top = axes.get_ylim()
    assert 0 < bottom < 1e-3 and top > 1e4
    labels = axes.get_legend_handles_labels()[1]
    assert {"exactly 0", "non-finite", "limit"} <= set(labels)
    zero_marks = next(line for line in axes.get_lines() if line.get_label() == "exactly 0")
    assert list(zero_marks.get_xdata()) == [0]
    plt.close(figure)

    layers = []
    for i in range(400):
        family = ("conv", "relu", "batchnorm")[i % 3]
        layer = LayerStats(name=f"block{i}", type="Conv2d", family=family, order=i,
                           act_mean=[0.0], act_std=[1.0])
        if family == "conv":
            layer.grad_norm, layer.update_ratio = [0.0 if i == 0 else 0.1], [1e-3]
        if family == "relu":
            layer.dead_fraction = 0.5
        if family == "batchnorm":
            layer.bn_gap = 0.1
        layers.append(layer)
    report = runner.ProbeReport(target="big.py:Net", device="cpu", steps=3,
                                measurements=Measurements(layers=layers, loss=[2.3, 2.2, 2.1]))
    path = tmp_path / "big.png"
    output.plot(report, str(path))
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    assert (width, height) == (round(output.WIDTH[1] * 100), round(output.HEIGHT * 100))


# --- several inputs and outputs -----------------------------------------------------------


def test_a_forward_with_two_inputs(in_tmp: Path) -> None:
    report = probe(f"{SHAPES}:TwoInputs", extra_input_shapes=((10,),))
    assert report.settings["input_shapes"] == [[3, 8, 8], [10]]
    assert "loss-plateau" not in names(report) and report.measurements.steps == 12
    shutil.copy(SHAPES, in_tmp / "shapes.py")
    code, out, err = run(["probe", "shapes.py:TwoInputs", "--input-shape", "3,8,8",
                          "--input-shape", "10", "--steps", "3"])
    assert code in (0, 1), err
    assert "inputs (3, 8, 8), (10,)" in out.splitlines()[0]
    assert "the sanity checks and the LR range test call the model with one input tensor: " \
        "skipped for this model's several inputs" in out
    code, out, err = run(["probe", "shapes.py:TwoInputs", "--input-shape", "3,8,8", "--steps",
                          "3"])
    assert code == 2 and "forward pass on a (2, 3, 8, 8) input" in err


def test_inputs_from_a_callable_keep_their_integer_parts(in_tmp: Path) -> None:
    shutil.copy(SHAPES, in_tmp / "shapes.py")
    code, out, err = run(["probe", "shapes.py:MaskedInputs", "--inputs",
                          "shapes.py:masked_example", "--steps", "3", "--format", "json"])
    assert code in (0, 1), err
    document = strict(out)
    assert document["settings"]["input_shape"] == [3, 8, 8]
    assert len(document["loss"]) == 3 and document["held_out"] is not None
    code, out, err = run(["probe", "shapes.py:MaskedInputs", "--inputs", "shapes.py:nothing"])
    assert code == 2 and "probe failed at inputs" in err


def test_the_logits_are_picked_from_tuples_and_dicts() -> None:
    tupled = probe(f"{SHAPES}:TupleOut", steps=1)
    assert tupled.settings["output"] == "output[0]" and tupled.settings["num_classes"] == 16
    assert any("the probe trains on output[0], shape (2, 16)" in n for n in tupled.notes)
    # The sanity checks and the LR range test read the same logits.
    checked = probe(f"{SHAPES}:TupleOut", steps=3, sanity=True, lr_range=True)
    assert checked.measurements.sanity.initial_loss is not None
    assert checked.measurements.sanity.initial_loss.classes == 16
    assert checked.measurements.lr_range is not None and checked.measurements.lr_range.lrs
    assert not any("skipped" in note for note in checked.notes)
    mapped = probe(f"{SHAPES}:DictOut", steps=1)
    assert mapped.settings["output"] == "output['out']"
    assert any("a dict with keys 'aux', 'out'" in n for n in mapped.notes)
    features, logits = torch.zeros(4, 16), torch.zeros(4, 10)
    assert model_io.pick_output((features, logits), num_classes=10)[0] == (1,)
    assert model_io.pick_output((features, logits))[0] == (0,)
    path, _ = model_io.pick_output({"x": [torch.zeros(3, 4), torch.zeros(2, 5)]}, batch=2)
    assert model_io.describe(path) == "output['x'][1]"
    with pytest.raises(model_io.OutputError, match="no floating-point tensor"):
        model_io.pick_output((torch.zeros(2, dtype=torch.long), "text"))


@pytest.mark.slow
def test_segmentation_maps_learn_without_a_false_plateau() -> None:
    segmentation = probe(f"{SHAPES}:SegMap", steps=6)
    assert segmentation.settings["output"] == "output" and not segmentation.notes
    assert "loss-plateau" not in names(segmentation)
    binary = probe(f"{SHAPES}:BinarySeg")
    assert binary.settings["num_classes"] == 1
    assert "loss-plateau" not in names(binary)
    first, last = binary.measurements.first_batch_loss or (0.0, 0.0)
    assert first == pytest.approx(math.log(2), abs=0.2) and last < 0.9 * first


def test_batchnorm_statistics_not_measured_are_not_measurable_not_unobserved() -> None:
    """A run whose time budget ran out before BatchNorm's statistics were compared has no
    gap to judge: the static finding is NOT MEASURABLE, not refuted with "gap n/a"."""
    from cnnlint.probe import confirm

    norm = LayerStats(name="bn1", type="BatchNorm2d", family="batchnorm")
    run_ = Measurements(layers=[norm], batch_size=2)
    verdict, evidence = confirm._not_observed("batchnorm-small-batch", run_, {})
    assert (verdict, evidence) == (confirm.NOT_MEASURABLE, "the gap between batch and "
                                   "population statistics was not measured")
    norm.bn_gap = 0.02
    verdict, evidence = confirm._not_observed("batchnorm-small-batch", run_, {})
    assert verdict == confirm.NOT_OBSERVED and "gap 0.02" in evidence, evidence
