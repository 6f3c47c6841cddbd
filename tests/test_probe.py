"""The runtime probe: measurements against plain autograd, verdicts on tiny broken nets,
confirmations of static findings, the command's output, and its failure modes."""

from __future__ import annotations

import copy
import json
import math
import shutil
import textwrap
from pathlib import Path

import pytest

from helpers import run

torch = pytest.importorskip("torch")

from cnnlint.probe import runner  # noqa: E402
from cnnlint.probe.batchnorm import batchnorm_noise  # noqa: E402
from cnnlint.probe.measure import (  # noqa: E402
    LayerStats, Measurements, Recorder,
)
from cnnlint.verdict import load_verdicts  # noqa: E402

NETS = Path(__file__).parent / "fixtures" / "probe" / "nets.py"
SMALL = (3, 8, 8)


def probe(target: str, **options: object) -> runner.ProbeReport:
    """The probe, by default without the sanity checks and the LR range test
    (tests/test_probe_sanity.py covers them)."""
    options = {"sanity": False, "lr_range": False, **options}
    settings = runner.ProbeSettings(
        target=target, input_shape=options.pop("input_shape", SMALL),  # type: ignore[arg-type]
        steps=options.pop("steps", 12),  # type: ignore[arg-type]
        verdicts={c: v() for c, v in load_verdicts().items()}, **options)  # type: ignore[arg-type]
    return runner.run_probe(settings)


def names(report: runner.ProbeReport) -> set[str]:
    return {f.name for f in report.findings}


# --- verdicts on tiny nets ---------------------------------------------------------------


def test_plain_sigmoid_stack_vanishes_and_its_residual_twin_does_not() -> None:
    plain = probe(f"{NETS}:PlainSigmoid")
    assert "vanishing-gradient" in names(plain)
    finding = next(f for f in plain.findings if f.name == "vanishing-gradient")
    assert finding.symbol == "convs.0" and "of the last layer's `fc`" in finding.message
    residual = probe(f"{NETS}:ResidualSigmoid")
    assert "vanishing-gradient" not in names(residual)
    ratio_plain = plain.measurements.gradient_ratios()[0][0]
    ratio_residual = residual.measurements.gradient_ratios()[0][0]
    assert ratio_plain < 1e-6 < 1e-2 < ratio_residual


def test_negative_bias_kills_relu_units() -> None:
    report = probe(f"{NETS}:NegativeBias")
    assert "dying-relu" in names(report)
    dead = {layer.name: layer.dead_fraction for layer in report.measurements.layers
            if layer.dead_fraction is not None}
    assert dead["conv1+F.relu"] == 1.0  # measured at the conv feeding the functional relu
    healthy = probe(f"{NETS}:SmallNet")
    assert "dying-relu" not in names(healthy)


def test_a_sigmoid_gate_is_not_measured_as_a_saturating_layer() -> None:
    report = probe(f"{NETS}:Gated")
    measured = {layer.name for layer in report.measurements.layers}
    assert {"act", "bn3+torch.sigmoid"} <= measured  # activations of the stack
    assert "bn1+torch.sigmoid" not in measured  # swish's gate: it only scales bn1's output
    assert "se.2" not in measured  # squeeze-and-excitation's scale


def test_learning_rates_far_off() -> None:
    assert "loss-plateau" in names(probe(f"{NETS}:SmallNet", lr=1e-7))
    assert "loss-plateau" not in names(probe(f"{NETS}:SmallNet", lr=0.05))
    diverged = probe(f"{NETS}:SmallNet", lr=100.0)
    assert "loss-divergence" in names(diverged)
    message = next(f.message for f in diverged.findings if f.name == "loss-divergence")
    assert "at lr 100" in message


def test_batchnorm_noise_grows_as_the_batch_shrinks() -> None:
    small = probe(f"{NETS}:SmallNet", batch_size=2)
    large = probe(f"{NETS}:SmallNet", batch_size=64)

    def worst(report: runner.ProbeReport) -> float:
        return max(layer.bn_gap or 0.0 for layer in report.measurements.layers)

    assert worst(small) > 2 * worst(large)
    assert "batchnorm-noise" in names(small) and "batchnorm-noise" not in names(large)
    assert "at batch size 2" in next(f.message for f in small.findings
                                     if f.name == "batchnorm-noise")


def test_a_spent_time_budget_ends_the_run_cleanly_with_what_was_measured() -> None:
    phases: list[str] = []
    report = probe(f"{NETS}:SmallNet", time_budget=1e-9, phase=phases.append)
    assert report.steps == 1 and len(report.measurements.loss) == 1
    assert "the time budget of 1e-09 s ran out after 1 of 12 steps" in report.notes
    assert any(note.startswith("not measured within the time budget of 1e-09 s: BatchNorm "
                               "statistics") for note in report.notes)
    assert all(layer.bn_gap is None for layer in report.measurements.layers)
    assert [p.split(" (")[0] for p in phases] == [
        "static analysis of the project", "building SmallNet",
        "training 12 steps at batch size 16"]
    unlimited = probe(f"{NETS}:SmallNet", steps=3)
    assert unlimited.steps == 3 and not unlimited.notes


def test_non_finite_values_name_the_first_layer() -> None:
    report = probe(f"{NETS}:SmallNet", lr=1e6, steps=20)
    message = next(f.message for f in report.findings if f.name == "loss-divergence")
    assert "non-finite values first appeared at step" in message
    assert report.measurements.nonfinite and report.measurements.nonfinite[0][1] in {
        layer.name for layer in report.measurements.layers}


# --- each statistic against plain autograd ------------------------------------------------


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 6)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(6, 3)
        self.gate = torch.nn.Sigmoid()
        self.bn = torch.nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.gate(self.fc2(self.act(self.fc1(x)))))


def recorded_steps(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]],
                   lr: float) -> Measurements:
    """SGD steps with the probe's recorder, as the probe's training loop drives it."""
    run = Measurements()
    recorder = Recorder(model, {})
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for x, y in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        recorder.before_update()
        optimizer.step()
        recorder.after_update()
        recorder.end_step(loss, run)
    recorder.finish(run)
    recorder.remove()
    return run


def test_statistics_match_plain_autograd() -> None:
    torch.manual_seed(1)
    model = Tiny()
    with torch.no_grad():
        model.fc1.bias[:2] = -50.0  # two units that never fire
        model.fc2.weight.mul_(40.0)  # saturate the sigmoid
    twin = copy.deepcopy(model)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    lr = 0.1

    # The probe's numbers for one SGD step...
    run = recorded_steps(model, [(x, y)], lr)
    layers = {layer.name: layer for layer in run.layers}

    # ...against the same step done by hand.
    hidden = twin.fc1(x)
    relu = torch.relu(hidden)
    logits = twin.fc2(relu)
    gated = torch.sigmoid(logits)
    out = twin.bn(gated)
    expected_loss = torch.nn.functional.cross_entropy(out, y)
    expected_loss.backward()
    assert run.loss[0] == pytest.approx(expected_loss.item(), rel=1e-6)
    for name in ("fc1", "fc2"):
        weight = getattr(twin, name).weight
        assert layers[name].grad_norm[0] == pytest.approx(weight.grad.norm().item(), rel=1e-5)
        update = lr * weight.grad.norm() / weight.detach().norm()
        assert layers[name].update_ratio[0] == pytest.approx(update.item(), rel=1e-4)
    assert layers["fc1"].act_mean[0] == pytest.approx(hidden.mean().item(), rel=1e-5)
    assert layers["fc1"].act_std[0] == pytest.approx(hidden.std().item(), rel=1e-5)
    never = (relu.detach() > 0).sum(0) == 0
    assert layers["act"].dead_fraction == pytest.approx(never.float().mean().item())
    assert layers["act"].dead_fraction == pytest.approx(2 / 6)
    beyond = (logits.detach().abs() > 5).float().mean().item()
    assert layers["gate"].saturated[0] == pytest.approx(beyond) and beyond > 0
    assert run.gradient_ratios()[0][0] == pytest.approx(
        twin.fc1.weight.grad.norm().item() / twin.fc2.weight.grad.norm().item(), rel=1e-5)
    assert not model._forward_hooks and not model.act._forward_hooks  # all removed


def test_batchnorm_statistics_match_plain_computation() -> None:
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    stream = [torch.randn(4, 4) * (1 + i % 3) for i in range(72)]
    layers = {"1": LayerStats(name="1", type="BatchNorm1d", family="batchnorm")}
    run = Measurements(batch_size=4)
    batchnorm_noise(model, iter(stream), layers, run)
    # 256 samples at batch 4 for the population (64 batches), then 8 batches, each
    # normalised on its own and the 8 together as one reference batch of 32.
    assert run.bn_reference_batch == 32
    with torch.no_grad():
        hidden = [model[0](x) for x in stream]
    population = hidden[:64]
    means = torch.stack([h.mean(0) for h in population])
    variances = torch.stack([h.var(0, unbiased=False) for h in population])
    # BatchNorm keeps the unbiased variance; refreshed, both are plain averages over batches.
    running_var = torch.stack([h.var(0, unbiased=True) for h in population]).mean(0) \
        + model[1].eps
    spread = (means.std(0) / running_var.sqrt()).mean().item()
    assert layers["1"].bn_mean_spread == pytest.approx(spread, rel=1e-4)
    var_spread = (variances.std(0) / running_var).mean().item()
    assert layers["1"].bn_var_spread == pytest.approx(var_spread, rel=1e-4)

    def gap(h: torch.Tensor) -> float:
        evaluated = (h - means.mean(0)) / running_var.sqrt() * model[1].weight + model[1].bias
        trained = torch.nn.functional.batch_norm(
            h, None, None, model[1].weight, model[1].bias, training=True, eps=model[1].eps)
        return ((trained - evaluated).norm() / evaluated.norm()).item()

    assert layers["1"].bn_gap == pytest.approx(
        sum(gap(h) for h in hidden[64:72]) / 8, rel=1e-3)
    assert layers["1"].bn_gap_reference == pytest.approx(gap(torch.cat(hidden[64:72])),
                                                         rel=1e-3)
    assert model[1].momentum == 0.1  # restored


def test_batchnorm_gap_is_measured_per_layer_not_piled_up_with_depth() -> None:
    """Ten BatchNorm layers in a row, each judged on its own input: the last one's gap is
    not the sum of the gaps before it."""
    torch.manual_seed(0)
    blocks: list[torch.nn.Module] = []
    for _ in range(10):
        blocks += [torch.nn.Linear(8, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU()]
    model = torch.nn.Sequential(*blocks)
    stream = (torch.randn(8, 8) for _ in range(200))
    layers = {str(i): LayerStats(name=str(i), type="BatchNorm1d", family="batchnorm")
              for i in range(1, 30, 3)}
    batchnorm_noise(model, stream, layers, Measurements(batch_size=8))
    gaps = [layers[str(i)].bn_gap or 0.0 for i in range(1, 30, 3)]
    assert sum(gaps[-3:]) < 1.5 * sum(gaps[:3])  # piled up, the last would be the largest


# --- confirmations -------------------------------------------------------------------------


def test_static_deep_plain_stack_is_confirmed_by_the_vanishing_gradient() -> None:
    report = probe(f"{NETS}:PlainSigmoid")
    confirmations = {c["name"]: c for c in report.confirmations}
    deep = confirmations["deep-plain-stack"]
    assert deep["verdict"] == "CONFIRMED" and deep["code"] == "CNN103"
    assert "gradient norm at the first layer `convs.0`" in deep["evidence"]
    residual = probe(f"{NETS}:ResidualSigmoid")
    assert all(c["name"] != "deep-plain-stack" for c in residual.confirmations)
    refuted = {c["name"]: c for c in residual.confirmations}
    assert refuted["saturating-activation-deep-stack"]["verdict"] == "NOT OBSERVED"
    assert "gradient-norm ratio" in refuted["saturating-activation-deep-stack"]["evidence"]


TRAIN = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from model import Net


def main():
    loader = DataLoader(torch.load("data.pt"), batch_size={batch}, shuffle=True)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr={lr}, momentum=0.9,
                                weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()


if __name__ == "__main__":
    main()
"""


@pytest.fixture
def script_project(in_tmp: Path) -> Path:
    source = NETS.read_text().replace("class SmallNet(", "class Net(")
    (in_tmp / "model.py").write_text(source)
    (in_tmp / "train.py").write_text(TRAIN.format(batch=2, lr=1e-7))
    return in_tmp


def test_defaults_and_confirmations_come_from_the_training_script(script_project: Path) -> None:
    report = probe("model.py:Net")
    chosen = report.settings
    assert (chosen["batch_size"], chosen["batch_size_from"]) == (2, "training script")
    assert (chosen["lr"], chosen["lr_from"], chosen["momentum"]) == (1e-7, "training script",
                                                                      0.9)
    assert (chosen["weight_decay"], chosen["weight_decay_from"]) == (5e-4, "training script")
    assert chosen["batch_size_at"] == "train.py:10" and chosen["lr_at"] == "train.py:12"
    verdicts = {c["name"]: c["verdict"] for c in report.confirmations}
    assert verdicts["batchnorm-small-batch"] == "CONFIRMED"
    assert verdicts["learning-rate-too-low"] == "CONFIRMED"
    other = probe("model.py:Net", batch_size=64, lr=0.05, optimizer="Adam")
    # Another optimizer does not inherit the script's SGD momentum and weight decay.
    assert (other.settings["momentum"], other.settings["weight_decay"]) == (None, None)
    assert other.settings["optimizer_from"] == "option"
    verdicts = {c["name"]: (c["verdict"], c["evidence"]) for c in other.confirmations}
    assert verdicts["batchnorm-small-batch"] == (
        "NOT MEASURABLE", "the probe ran at batch size 64, the training script uses 2")
    assert verdicts["learning-rate-too-low"][0] == "NOT MEASURABLE"


def test_the_training_script_is_found_through_the_project_root(in_tmp: Path) -> None:
    """A model in models/, the script that trains it at the root: the project marker (here a
    plain pyproject.toml, no [tool.cnnlint] table) is what joins them."""
    (in_tmp / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (in_tmp / "models").mkdir()
    source = NETS.read_text().replace("class SmallNet(", "class Net(")
    (in_tmp / "models" / "net.py").write_text(source)
    (in_tmp / "train.py").write_text(
        TRAIN.format(batch=2, lr=0.05).replace("from model import", "from models.net import"))
    report = probe("models/net.py:Net")
    assert (report.settings["batch_size"], report.settings["batch_size_from"]) == (
        2, "training script")


# --- the command ---------------------------------------------------------------------------


def test_json_output_and_exit_code(in_tmp: Path) -> None:
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:PlainSigmoid", "--input-shape", "3,8,8",
                          "--steps", "8", "--format", "json"])
    assert code == 1, err
    document = json.loads(out)
    assert set(document) >= {"version", "target", "device", "steps", "findings",
                             "confirmations", "layers", "loss", "errors"}
    assert document["version"] == 1 and document["device"] == "cpu"
    assert document["steps"] == 8 and len(document["loss"]) == 8
    finding = next(f for f in document["findings"] if f["code"] == "CNN401")
    assert set(finding) == {"code", "name", "severity", "message", "hint", "path", "line",
                            "column", "end_line", "end_column", "symbol", "related", "cell"}
    assert finding["path"] == "nets.py" and finding["line"] == 8
    layer = document["layers"][0]
    assert layer["name"] == "convs.0" and layer["type"] == "Conv2d"
    assert layer["grad_norm"] > 0 and "update_ratio" in layer and "act_std" in layer
    assert {c["verdict"] for c in document["confirmations"]} == {"CONFIRMED"}
    quick = ["--no-sanity", "--no-lr-range"]
    code, out, _ = run(["probe", "nets.py:PlainSigmoid", "--input-shape", "3,8,8",
                        "--steps", "8", "--format", "json", "--fail-on", "error", *quick])
    assert code == 0
    code, out, _ = run(["probe", "nets.py:PlainSigmoid", "--input-shape", "3,8,8",
                        "--steps", "8", "--format", "json", "--exit-zero", *quick])
    assert code == 0 and any(f["code"] == "CNN401" for f in json.loads(out)["findings"])


def test_text_output(in_tmp: Path) -> None:
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:NegativeBias", "--input-shape", "3,8,8",
                          "--steps", "5", "--lr", "0.01"])
    assert code == 1, err
    assert out.startswith("Probe of nets.py:NegativeBias on cpu: 5 steps, input (3, 8, 8), "
                          "4 classes\n  batch size 16 (default), SGD (default), lr 0.01 "
                          "(option), momentum 0.9 (default)\n")
    # One line per phase on stderr, also off a terminal.
    assert "cnnlint probe: training 5 steps at batch size 16" in err
    assert "\nconv1+F.relu " in out and "100%" in out
    assert "nets.py:39:7: CNN403 [warning] 100% of the units of `conv1+F.relu`" in out
    assert "Static findings on this model:\n  CONFIRMED  CNN108 bad-weight-init: 100% of " \
           "`conv1+F.relu`'s units are dead in the first step\n" in out
    assert out.rstrip().endswith("in 5 steps.")
    assert "\r" not in out + err  # no progress bar off a terminal


def test_plot(in_tmp: Path) -> None:
    pytest.importorskip("matplotlib")
    shutil.copy(NETS, in_tmp / "nets.py")
    code, _, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps", "3",
                        "--plot", "flow.png"])
    assert code == 0, err
    assert (in_tmp / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_data_image_folder_and_callable(in_tmp: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    shutil.copy(NETS, in_tmp / "nets.py")
    for label, colour in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
        (in_tmp / "images" / label).mkdir(parents=True)
        for i in range(4):
            image.new("RGB", (12, 10), colour).save(in_tmp / "images" / label / f"{i}.png")
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps",
                          "3", "--batch-size", "4", "--data", "images", "--format", "json"])
    assert code in (0, 1), err
    assert len(json.loads(out)["loss"]) == 3
    (in_tmp / "mydata.py").write_text(textwrap.dedent("""
        import torch
        def make(n=8):
            return [(torch.randn(3, 8, 8), i % 4) for i in range(n)]
    """))
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps",
                          "3", "--batch-size", "4", "--data", "mydata:make(n=8)",
                          "--format", "json"])
    assert code in (0, 1), err
    code, _, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8",
                        "--batch-size", "16", "--data", "mydata:make"])
    assert code == 2 and "fewer than one batch of 16" in err


FAILING = """
import sys
import torch
import torch.nn as nn

INSTANCE = None


class Broken(nn.Module):
    def __init__(self, fail_at=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4, 2)
        self.calls, self.fail_at = 0, fail_at

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.fc(self.relu(self.conv(x)).mean((2, 3)))


def shared():
    global INSTANCE
    INSTANCE = INSTANCE or Broken(fail_at=0)
    return INSTANCE


class NeedsConfig(nn.Module):
    def __init__(self):
        super().__init__()
        raise FileNotFoundError("config.yaml")


class Quits(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        sys.exit(4)
"""


def test_user_code_failures_name_the_stage(in_tmp: Path) -> None:
    (in_tmp / "failing.py").write_text(FAILING)
    code, out, err = run(["probe", "failing.py:Broken", "--input-shape", "3,8,8"])
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == ("cnnlint: error: probe failed at training step 2: "
                                    "RuntimeError: CUDA out of memory (simulated)")
    assert all(line.startswith("cnnlint probe: ") for line in err.splitlines()[:-1])
    assert "Traceback" not in err
    code, _, err = run(["probe", "failing.py:Broken", "--input-shape", "3,8,8", "-v"])
    assert code == 2 and "Traceback (most recent call last)" in err
    code, _, err = run(["probe", "failing.py:NeedsConfig"])
    assert code == 2 and "probe failed at constructor: " in err
    assert "FileNotFoundError: config.yaml" in err
    code, _, err = run(["probe", "failing.py:Broken", "--input-shape", "3,9"])
    assert code == 2 and "probe failed at forward pass on a (2, 3, 9) input" in err
    code, _, err = run(["probe", "failing.py:Quits"])
    assert code == 2 and "probe failed at forward pass on a (2, 4) input: SystemExit: 4" in err
    code, _, err = run(["probe", "failing.py:Broken", "--args", "{bad"])
    assert code == 2 and "--args is not valid JSON" in err
    code, _, err = run(["probe", "failing.py:Quits", "--exit-zero"])  # 2 stays 2
    assert code == 2 and "probe failed at forward pass" in err


def test_no_changes_to_the_user_model_files_or_rng(in_tmp: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "failing.py").write_text(FAILING)
    before_files = sorted(str(p) for p in in_tmp.rglob("*"))
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    report = probe("failing.py:Broken(fail_at=0)", input_shape=(3, 8, 8), steps=3)
    assert report.measurements.steps == 3
    assert torch.equal(torch.get_rng_state(), rng)
    assert sorted(str(p) for p in in_tmp.rglob("*")) == before_files
    # Hooks go even when the model raises mid-run (here on the user's own instance).
    import sys

    monkeypatch.setattr(runner.copy, "deepcopy", lambda module: module)
    module = sys.modules.get("failing")
    assert module is None  # the project's modules were dropped after the run
    # Without copies, tracing runs forward twice and the class count once: step 3 fails.
    failing = runner.ProbeSettings(target="failing.py:Broken(fail_at=6)", input_shape=(3, 8, 8),
                                   verdicts={})
    seen: list[torch.nn.Module] = []
    original = runner._Probe._train

    def spy(self: runner._Probe, model: torch.nn.Module, *args: object) -> Measurements:
        seen.append(model)
        return original(self, model, *args)

    monkeypatch.setattr(runner._Probe, "_train", spy)
    with pytest.raises(runner.ProbeError, match="training step 3"):
        runner.run_probe(failing)
    assert seen and all(not m._forward_hooks and not m._forward_pre_hooks
                        for m in seen[0].modules())


def test_a_factory_s_shared_instance_is_left_alone(in_tmp: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory may hand out a cached (say, pretrained) instance: the probe trains a copy."""
    import importlib.util
    import sys

    (in_tmp / "failing.py").write_text(FAILING)
    spec = importlib.util.spec_from_file_location("failing", in_tmp / "failing.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "failing", module)  # the probe imports this same module
    instance = module.shared()
    before = {k: v.clone() for k, v in instance.state_dict().items()}
    report = probe("failing.py:shared", input_shape=(3, 8, 8), steps=2, lr=1.0)
    assert report.measurements.steps == 2 and instance.calls == 0
    assert all(torch.equal(before[k], v) for k, v in instance.state_dict().items())


def test_probe_needs_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnlint.trace

    monkeypatch.setattr(cnnlint.trace, "torch_available", lambda: False)
    code, out, err = run(["probe", "x.py:Net"])
    assert code == 2 and err.strip().startswith("cnnlint: error: probe: this needs torch")


def test_verdict_thresholds_are_options(in_tmp: Path) -> None:
    shutil.copy(NETS, in_tmp / "nets.py")
    (in_tmp / "pyproject.toml").write_text(
        "[tool.cnnlint.probes.dying-relu]\ndead-above = 1.5\n")
    code, out, err = run(["probe", "nets.py:NegativeBias", "--input-shape", "3,8,8",
                          "--steps", "3", "--format", "json"])
    assert "dying-relu" not in {f["name"] for f in json.loads(out)["findings"]}, err
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint.probes.dying-relus]\nx = 1\n")
    code, out, err = run(["probe", "nets.py:NegativeBias"])
    assert code == 2 and "unknown probe `dying-relus`" in err and "dying-relu" in err


def test_verdict_registry() -> None:
    verdicts = load_verdicts()
    assert [v.name for v in verdicts.values()] == [
        "vanishing-gradient", "exploding-gradient", "dying-relu", "saturated-activation",
        "batchnorm-noise", "loss-plateau", "loss-divergence", "initial-loss-too-high",
        "double-softmax", "cannot-overfit-batch", "input-ignored", "minority-class-ignored",
        "learning-rate-outside-range", "update-ratio-too-low", "update-ratio-too-high"]
    for verdict in verdicts.values():
        assert verdict.documentation().startswith("What it measures:")
        assert all(math.isfinite(v) for v in verdict.option_defaults().values())
    code, out, _ = run(["explain", "dying-relu"])
    assert code == 0 and out.startswith("CNN403 dying-relu (warning)")
    assert "Options ([tool.cnnlint.probes.dying-relu]):\n  dead-above = 0.7" in out


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_probe_on_cuda() -> None:
    report = probe(f"{NETS}:SmallNet", device="cuda", lr=1e-7)
    assert report.device.startswith("cuda")
    assert "loss-plateau" in names(report) and report.measurements.steps == 12
    plain = probe(f"{NETS}:PlainSigmoid", device="cuda")
    assert "vanishing-gradient" in names(plain)


def test_hooks_survive_monai_resnet_with_inplace_relu() -> None:
    """Full backward hooks fail on MONAI's ResNet (`ReLU(inplace=True)` modifies a view);
    the probe's forward hooks and gradient reads do not."""
    nets = pytest.importorskip("monai.networks.nets")
    torch.manual_seed(0)
    model = nets.resnet10(spatial_dims=2, n_input_channels=3, num_classes=4)
    assert any(getattr(m, "inplace", False) for m in model.modules())
    batches = [(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])) for _ in range(2)]
    run = recorded_steps(model, batches, 0.01)
    assert len(run.loss) == 2 and run.nonfinite == []
    assert len(run.weighted()) >= 10 and all(len(layer.grad_norm) == 2 for layer in run.weighted())
    assert any(layer.dead_fraction is not None for layer in run.layers)


def test_confirmations_use_default_thresholds_without_verdicts() -> None:
    settings = runner.ProbeSettings(target=f"{NETS}:NegativeBias", input_shape=SMALL, steps=3,
                                    verdicts={})
    report = runner.run_probe(settings)
    assert report.findings == []
    assert {c["name"]: c["verdict"] for c in report.confirmations}["bad-weight-init"] == \
        "CONFIRMED"
