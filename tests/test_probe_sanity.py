"""The probe's sanity checks of the training recipe (the loss at init, overfitting one batch,
the zeroed-input baseline, class balance) and its LR range test: the measurements against
plain computations, each verdict on a hand-made broken net and its healthy twin, the
confirmations of static findings, and the output."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from helpers import run

torch = pytest.importorskip("torch")

from cnnlint.findings import Loc  # noqa: E402
from cnnlint.probe import lr_range, output, runner, sanity  # noqa: E402
from cnnlint.probe.measure import Measurements  # noqa: E402
from cnnlint.verdict import fmt, load_verdicts  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "probe"
SANE = FIXTURES / "sanity_nets.py"
NETS = FIXTURES / "nets.py"
SMALL = (3, 8, 8)
LOC = Loc("model.py", 1, 1, 1, 1)


def probe(target: str, **options: object) -> runner.ProbeReport:
    settings = runner.ProbeSettings(
        target=target, input_shape=options.pop("input_shape", SMALL),  # type: ignore[arg-type]
        steps=options.pop("steps", 12),  # type: ignore[arg-type]
        verdicts={c: v() for c, v in load_verdicts().items()}, **options)  # type: ignore[arg-type]
    return runner.run_probe(settings)


def names(report: runner.ProbeReport) -> set[str]:
    return {f.name for f in report.findings}


def message(report: runner.ProbeReport, name: str) -> str:
    return next(f.message for f in report.findings if f.name == name)


def confirmations(report: runner.ProbeReport) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["verdict"], c["evidence"]) for c in report.confirmations}


# --- the loss at initialisation -----------------------------------------------------------


def test_initial_loss_and_logit_gradient_match_plain_autograd() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    x, y = torch.randn(6, 3, 2, 2), torch.tensor([0, 1, 2, 3, 4, 0])
    measured = sanity.initial_loss(model, (x, y))
    logits = model(x).detach().requires_grad_()
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    assert measured.loss == pytest.approx(loss.item(), rel=1e-6)
    assert measured.expected == pytest.approx(math.log(5)) and measured.classes == 5
    per_sample = (logits.grad * 6).norm(dim=1).mean().item()  # the mean's 1/N undone
    assert measured.logit_gradient == pytest.approx(per_sample, rel=1e-5)
    assert measured.uniform_gradient == pytest.approx(math.sqrt(4 / 5))
    assert measured.probabilities == 0.0 and measured.log_probabilities == 0.0
    # Behind a softmax: the gradient at the scores the softmax received.
    softmaxed = torch.nn.Sequential(model, torch.nn.Softmax(dim=1))
    behind = sanity.initial_loss(softmaxed, (x, y))
    scores = model(x).detach().requires_grad_()
    torch.nn.functional.cross_entropy(scores.softmax(1), y).backward()
    assert behind.probabilities == 1.0
    assert behind.logit_gradient == pytest.approx((scores.grad * 6).norm(dim=1).mean().item(),
                                                  rel=1e-4)
    single = sanity.initial_loss(torch.nn.Sequential(torch.nn.Flatten(),
                                                     torch.nn.Linear(12, 1)), (x, y))
    assert single.classes == 1 and single.expected == pytest.approx(math.log(2))


def test_a_last_layer_at_100x_scale_gets_the_initial_loss_verdict() -> None:
    scaled = probe(f"{SANE}:Net(head_scale=100.0)", sanity=True, lr_range=False)
    assert "initial-loss-too-high" in names(scaled)
    initial = scaled.measurements.sanity.initial_loss
    assert initial is not None and initial.ratio > 3
    assert f"{initial.ratio:.3g}x the 1.39 (= ln 4)" in message(scaled, "initial-loss-too-high")
    healthy = probe(f"{SANE}:Net", sanity=True, lr_range=False)
    assert "initial-loss-too-high" not in names(healthy)
    ratio = healthy.measurements.sanity.initial_loss.ratio  # type: ignore[union-attr]
    assert 0.8 < ratio < 1.3


def test_a_softmax_before_cross_entropy_is_flagged_and_its_twin_is_not() -> None:
    report = probe(f"{SANE}:Net(softmax=True)", sanity=True, lr_range=False, steps=20)
    assert "double-softmax" in names(report)
    initial = report.measurements.sanity.initial_loss
    assert initial is not None and initial.probabilities == 1.0
    assert abs(initial.loss - math.log(4)) < 0.05  # pinned at ln C from the start...
    assert initial.logit_gradient / initial.uniform_gradient < 0.35  # ...about 1/C the slope
    text = message(report, "double-softmax")
    assert "100% of the model's output rows are probabilities" in text
    assert "between 0.744 and 2.21" in text and "after 20 steps" in text
    twin = probe(f"{SANE}:Net", sanity=True, lr_range=False, steps=20)
    assert "double-softmax" not in names(twin)
    assert twin.measurements.sanity.initial_loss.probabilities == 0.0  # type: ignore[union-attr]


SOFTMAX_MODEL = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Linear(16, 4)
        self.out = nn.{final}(dim=1)

    def forward(self, x):
        x = self.conv(x).relu().mean((2, 3))
        return self.out(self.fc(x))
"""

TRAIN = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from model import Net


def main():
    loader = DataLoader(torch.load("data.pt"), batch_size=16, shuffle=True)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr={lr}, momentum=0.9)
    criterion = nn.CrossEntropyLoss({weight})
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()


if __name__ == "__main__":
    main()
"""


def test_static_softmax_before_crossentropy_is_confirmed(in_tmp: Path) -> None:
    (in_tmp / "model.py").write_text(SOFTMAX_MODEL.format(final="Softmax"))
    (in_tmp / "train.py").write_text(TRAIN.format(lr=0.05, weight=""))
    report = probe("model.py:Net", sanity=True, lr_range=False)
    verdict, evidence = confirmations(report)["softmax-before-crossentropy"]
    assert verdict == "CONFIRMED" and "are probabilities" in evidence
    (in_tmp / "model.py").write_text(SOFTMAX_MODEL.format(final="LogSoftmax"))
    report = probe("model.py:Net", sanity=True, lr_range=False)
    verdict, evidence = confirmations(report)["softmax-before-crossentropy"]
    assert verdict == "NOT OBSERVED" and "log-probabilities" in evidence
    assert "double-softmax" not in names(report)


def test_probabilities_trained_with_nll_on_their_log_get_no_double_softmax(
        in_tmp: Path) -> None:
    (in_tmp / "model.py").write_text(SOFTMAX_MODEL.format(final="Softmax"))
    script = TRAIN.format(lr=0.05, weight="")
    (in_tmp / "train.py").write_text(script)
    assert "double-softmax" in names(probe("model.py:Net", sanity=True, lr_range=False))
    (in_tmp / "train.py").write_text(
        script.replace("nn.CrossEntropyLoss()", "nn.NLLLoss()")
        .replace("criterion(model(x), y)", "criterion(torch.log(model(x)), y)"))
    report = probe("model.py:Net", sanity=True, lr_range=False)
    assert report.measurements.script_losses == ("NLLLoss",)
    assert report.measurements.sanity.initial_loss.probabilities == 1.0  # type: ignore[union-attr]
    assert "double-softmax" not in names(report)


# --- overfitting one batch -----------------------------------------------------------------


@pytest.mark.parametrize("flaw", ["detach=True", "bottleneck=True"])
def test_networks_that_cannot_overfit_one_batch_are_flagged(flaw: str) -> None:
    report = probe(f"{SANE}:Net({flaw})", sanity=True, lr_range=False)
    assert "cannot-overfit-batch" in names(report)
    overfit = report.measurements.sanity.overfit
    assert overfit is not None and overfit.real.fraction > 0.15
    assert [t.lr for t in overfit.tries] == [1e-3, 1e-2]  # both rates were tried
    assert "on one fixed batch of 8 samples, 40 Adam steps (lr 0.001 and 0.01)" in message(
        report, "cannot-overfit-batch")


def test_a_map_output_is_judged_against_the_map_threshold() -> None:
    healthy = probe(f"{SANE}:Segmenter", sanity=True, lr_range=False)
    assert healthy.measurements.sanity.initial_loss.positions == 64  # type: ignore[union-attr]
    assert "cannot-overfit-batch" not in names(healthy)
    blind = probe(f"{SANE}:Segmenter(ignore_input=True)", sanity=True, lr_range=False)
    overfit = blind.measurements.sanity.overfit
    assert overfit is not None and overfit.real.fraction > 0.5
    assert "threshold 50% for a map output" in message(blind, "cannot-overfit-batch")


def test_a_healthy_network_memorises_one_batch_and_random_labels_are_reported() -> None:
    report = probe(f"{SANE}:Net", sanity=True, lr_range=False)
    assert "cannot-overfit-batch" not in names(report)
    overfit = report.measurements.sanity.overfit
    assert overfit is not None and overfit.real.fraction < 0.02
    assert overfit.random is not None and math.isfinite(overfit.random.fraction)
    document = report.to_dict()["sanity"]["overfit_batch"]
    assert document["real_labels"]["fraction"] == overfit.real.fraction
    assert document["random_labels"]["lr"] == overfit.real.lr


# --- the zeroed-input baseline -------------------------------------------------------------


def test_a_model_that_ignores_its_input_is_flagged_and_a_healthy_one_is_not() -> None:
    report = probe(f"{SANE}:IgnoresInput", sanity=True, lr_range=False)
    assert "input-ignored" in names(report)
    baseline = report.measurements.sanity.input_baseline
    assert baseline is not None
    assert baseline.real_held == pytest.approx(baseline.zero_held, rel=1e-5)
    assert "a copy trained on zeroed inputs" in message(report, "input-ignored")
    healthy = probe(f"{SANE}:Net", sanity=True, lr_range=False)
    assert "input-ignored" not in names(healthy)
    measured = healthy.measurements.sanity.input_baseline
    assert measured is not None and measured.real_held < 0.8 * measured.zero_held


def test_a_copy_that_diverges_on_zeroed_inputs_leaves_the_real_figures_and_no_verdict(
        ) -> None:
    report = probe(f"{SANE}:ScalesByInputNorm", sanity=True, lr_range=False)
    baseline = report.measurements.sanity.input_baseline
    assert baseline is not None and baseline.diverged == "zeroed"
    assert math.isfinite(baseline.real_held) and math.isfinite(baseline.real_seen)
    assert math.isnan(baseline.zero_held) and math.isnan(baseline.zero_seen)
    assert "input-ignored" not in names(report)
    assert report.to_dict()["sanity"]["input_baseline"]["diverged"] == ["zeroed"]
    assert "the training on zeroed inputs diverged (a non-finite loss): no comparison" \
        in output.text(report)


# --- class balance -------------------------------------------------------------------------


def test_a_minority_class_never_predicted_is_flagged(in_tmp: Path) -> None:
    shutil.copy(SANE, in_tmp / "sanity_nets.py")
    report = probe("sanity_nets.py:Net", data="sanity_nets:imbalanced", steps=30,
                   sanity=True, lr_range=False)
    balance = report.measurements.sanity.class_balance
    assert balance is not None
    assert sum(balance.counts) == 30 * 16 and balance.imbalance > 10
    assert balance.predicted[1] == 0 and balance.held[1] > 0
    assert balance.recall()[1] == 0.0
    assert "minority-class-ignored" in names(report)
    assert "never predicted class 1" in message(report, "minority-class-ignored")
    even = probe("sanity_nets.py:Net", data="sanity_nets:balanced", steps=30, sanity=True,
                 lr_range=False)
    assert "minority-class-ignored" not in names(even)
    assert even.measurements.sanity.class_balance.imbalance < 1.5  # type: ignore[union-attr]


def test_a_few_labels_are_not_evidence_of_imbalance() -> None:
    """80 uniform labels over 10 classes often look 4:1 imbalanced: too few to judge."""
    from cnnlint.findings import Loc
    from cnnlint.probe.measure import Measurements
    from cnnlint.probe.sanity import ClassBalance

    verdict = next(cls() for cls in load_verdicts().values()
                   if cls.name == "minority-class-ignored")
    held = [6] * 10
    few = ClassBalance(counts=[14, 8, 3, 6, 8, 4, 10, 14, 7, 6], predicted=[7, 6, 0] + [7] * 7,
                       held=held, hits=[6, 6, 0] + [6] * 7)
    run = Measurements(steps=10)
    run.sanity.class_balance = few
    loc = Loc("m.py", 1, 1, 1, 1)
    assert few.imbalance > 4 and list(verdict.evaluate(run, loc)) == []
    many = ClassBalance(counts=[c * 10 for c in few.counts], predicted=few.predicted, held=held,
                        hits=few.hits)
    run.sanity.class_balance = many
    assert [f.name for f in verdict.evaluate(run, loc)] == ["minority-class-ignored"]


def test_static_weighted_loss_is_confirmed_on_imbalanced_data(in_tmp: Path) -> None:
    shutil.copy(SANE, in_tmp / "model.py")
    (in_tmp / "train.py").write_text(TRAIN.format(
        lr=0.01, weight="weight=torch.tensor([1.0, 19.0])"))
    report = probe("model.py:Net", data="model:imbalanced", steps=30, sanity=True,
                   lr_range=False)
    verdict, evidence = confirmations(report)["weighted-loss-without-resampling"]
    assert verdict == "CONFIRMED" and "imbalanced" in evidence
    synthetic = probe("model.py:Net", sanity=True, lr_range=False)
    assert confirmations(synthetic)["weighted-loss-without-resampling"][0] == "NOT MEASURABLE"


# --- the LR range test ---------------------------------------------------------------------


def curve(losses: list[float]) -> lr_range.LRRange:
    """A range test result over a hand-made loss curve, smoothed as `find` smooths it."""
    result = lr_range.LRRange(optimizer="SGD")
    growth = (lr_range.END_LR / lr_range.START_LR) ** (1 / 99)
    average = 0.0
    for step, loss in enumerate(losses):
        result.lrs.append(lr_range.START_LR * growth ** step)
        result.losses.append(loss)
        average = lr_range.SMOOTHING * average + (1 - lr_range.SMOOTHING) * loss
        result.smoothed.append(average / (1 - lr_range.SMOOTHING ** (step + 1)))
    lr_range.analyse(result)
    return result


def test_the_range_is_read_off_the_curve() -> None:
    # Flat at 2 until step 50 (lr 1e-3), falling by 0.1 a step to 0.2 at step 68, then
    # rising again.
    losses = [2.0] * 50 + [2.0 - 0.1 * i for i in range(1, 19)] + [0.2 + 0.3 * i
                                                                    for i in range(1, 11)]
    result = curve(losses)
    lrs = result.lrs
    assert result.found and result.start_loss == 2.0
    assert lrs[50] <= result.falling_from <= lrs[53]  # type: ignore[operator]
    assert lrs[66] <= result.best_lr <= lrs[71]  # type: ignore[operator]  # smoothing lags
    assert lrs[50] < result.steepest_lr < result.best_lr  # type: ignore[operator]
    assert result.suggested_lr == result.steepest_lr
    place, text = lr_range.judge(1e-6, result, below_factor=10)
    assert place == lr_range.BELOW and text.startswith("lr 1.00e-06 is ")
    assert lr_range.judge(result.best_lr, result, 10)[0] == lr_range.WITHIN  # type: ignore[arg-type]
    flat = curve([2.0 + 0.01 * (i % 3) for i in range(100)])
    assert not flat.found and flat.suggested_lr is None
    assert lr_range.judge(0.1, flat, 10)[0] == lr_range.UNKNOWN
    flat.diverged_at = 0.05
    assert lr_range.judge(0.1, flat, 10)[0] == lr_range.ABOVE


def test_the_suggested_rate_for_a_small_cnn_with_sgd_is_sensible() -> None:
    report = probe(f"{NETS}:SmallNet", sanity=False, lr_range=True, steps=3)
    measured = report.measurements.lr_range
    assert measured is not None and measured.optimizer == "SGD momentum 0.9"
    assert measured.found and 1e-2 <= measured.suggested_lr <= 0.5  # type: ignore[operator]
    assert measured.falling_from < measured.suggested_lr <= measured.best_lr  # type: ignore[operator]
    # The rate grew exponentially from 1e-7, one batch a step, until the loss blew up.
    assert measured.lrs[0] == pytest.approx(1e-7)
    assert measured.lrs[1] / measured.lrs[0] == pytest.approx(10 ** (8 / 99))
    assert len(measured.lrs) <= 100
    # Every figure of the text line is a rate, and says so.
    assert (f"the loss starts falling at lr {fmt(measured.falling_from)}, falls fastest at "
            f"lr {fmt(measured.steepest_lr)}, is lowest at lr {fmt(measured.best_lr)}"
            in output.text(report))


@pytest.fixture
def script_project(in_tmp: Path) -> Path:
    source = NETS.read_text().replace("class SmallNet(", "class Net(")
    (in_tmp / "model.py").write_text(source)
    return in_tmp


def test_static_learning_rate_findings_are_judged_against_the_range(
        script_project: Path) -> None:
    (script_project / "train.py").write_text(TRAIN.format(lr=1e-7, weight=""))
    # The probe itself trains at another rate: the script's is judged against the range.
    report = probe("model.py:Net", lr=0.05, sanity=False, lr_range=True, steps=3)
    verdict, evidence = confirmations(report)["learning-rate-too-low"]
    assert verdict == "CONFIRMED", evidence
    assert evidence.startswith("the script's lr 1.00e-07 is ") and "x below the rate" in evidence
    assert "learning-rate-outside-range" not in names(report)  # the probe ran at 0.05
    at_script_rate = probe("model.py:Net", sanity=False, lr_range=True, steps=3)
    assert "learning-rate-outside-range" in names(at_script_rate)
    assert "(lr from the training script)" in message(at_script_rate,
                                                     "learning-rate-outside-range")
    # lr 0.1, flagged as too low by a strict configuration, is inside the usable range.
    (script_project / "train.py").write_text(TRAIN.format(lr=0.1, weight=""))
    (script_project / "pyproject.toml").write_text(
        "[tool.cnnlint.rules.learning-rate-too-low]\nsgd-min = 1.0\n")
    report = probe("model.py:Net", sanity=False, lr_range=True, steps=3)
    verdict, evidence = confirmations(report)["learning-rate-too-low"]
    assert verdict == "NOT OBSERVED" and evidence.startswith("the script's lr 0.1: "), evidence
    assert "learning-rate-outside-range" not in names(report)


def plateau_run(lr_from: str) -> Measurements:
    run_ = Measurements(loss=[1.386] * 12, first_batch_loss=(1.386, 1.385), lr=0.01,
                        lr_from=lr_from, steps=12)
    # A range whose loss only starts falling at 1e-1.
    run_.lr_range = curve([1.4] * 75 + [1.4 - 0.12 * i for i in range(1, 11)] + [0.5] * 15)
    return run_


def test_a_plateau_at_the_probe_s_default_rate_says_so() -> None:
    plateau = load_verdicts()["CNN406"]()
    (finding,) = plateau.evaluate(plateau_run("default"), LOC)
    suggested = plateau_run("default").lr_range.suggested_lr  # type: ignore[union-attr]
    assert finding.message.startswith("at the probe's default lr 0.01 (no --lr, none in a "
                                      "training script), the loss on the first batch went")
    assert f"the LR range test suggests lr {suggested:.3g}" in finding.message
    assert finding.severity == "info"  # the probe's choice, not the project's problem
    (own,) = plateau.evaluate(plateau_run("training script"), LOC)
    assert own.severity == "warning" and own.message.endswith("at lr 0.01")


# --- the runner and the output -------------------------------------------------------------


def test_the_sanity_checks_leave_the_run_as_it_was() -> None:
    plain = probe(f"{NETS}:SmallNet", sanity=False, lr_range=False)
    checked = probe(f"{NETS}:SmallNet", sanity=True, lr_range=True, lr_range_steps=30)
    assert checked.measurements.loss == plain.measurements.loss
    assert checked.measurements.first_batch_loss == plain.measurements.first_batch_loss
    assert plain.to_dict()["lr_range"] is None
    assert set(plain.to_dict()["sanity"].values()) == {None}


HARD_CODED_BATCH = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.shape[0] == 8:
            raise RuntimeError("this model is never given batches of 8")
        return self.fc(self.conv(x).mean((2, 3)))
"""


def test_a_phase_the_model_fails_in_is_skipped_with_a_note(in_tmp: Path) -> None:
    (in_tmp / "fixed.py").write_text(HARD_CODED_BATCH)
    report = probe("fixed.py:Net", sanity=True, lr_range=False)
    assert report.measurements.sanity.overfit is None  # batches of 8
    assert any(note.startswith("overfitting one batch was skipped: RuntimeError")
               for note in report.notes)
    assert report.measurements.sanity.input_baseline is not None


def test_json_and_text_report_the_sanity_checks(in_tmp: Path) -> None:
    shutil.copy(NETS, in_tmp / "nets.py")
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps",
                          "5", "--lr-range-steps", "40", "--format", "json"])
    assert code in (0, 1), err
    document = json.loads(out)
    checks = document["sanity"]
    assert set(checks) == {"initial_loss", "overfit_batch", "input_baseline", "class_balance"}
    assert checks["initial_loss"]["expected"] == pytest.approx(math.log(4))
    assert checks["class_balance"] is None  # the synthetic labels are balanced by design
    measured = document["lr_range"]
    assert measured["planned_steps"] == 40 and len(measured["lrs"]) == measured["steps"] <= 40
    assert measured["optimizer"] == "SGD momentum 0.9"
    json.dumps(checks, allow_nan=False)  # no bare NaN or Infinity
    json.dumps(measured, allow_nan=False)
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps",
                          "5", "--lr-range-steps", "40"])
    section = out[out.index("\nSanity checks:\n"):]
    for start in ("  loss at init: ", "  one batch of 8, Adam lr ", "  zeroed inputs (5 steps",
                  "  LR range test (SGD momentum 0.9, 1.00e-07 to 10 in "):
        assert f"\n{start}" in section, start
    assert "class balance" not in section  # only with --data
    code, out, err = run(["probe", "nets.py:SmallNet", "--input-shape", "3,8,8", "--steps",
                          "3", "--no-sanity", "--no-lr-range", "--format", "json"])
    document = json.loads(out)
    assert document["lr_range"] is None and set(document["sanity"].values()) == {None}


def test_non_finite_numbers_are_null_in_json() -> None:
    result = curve([2.0, 1.5, math.nan])
    result.diverged_at = result.lrs[-1]
    document = result.to_dict()
    assert document["losses"][-1] is None and document["smoothed"][-1] is None
    json.dumps(document, allow_nan=False)
    memorised = sanity.Memorised(start=1.0, final=math.inf, lr=1e-3, steps=4)
    assert memorised.to_dict()["final"] is None and memorised.to_dict()["fraction"] is None


# Not traced for coverage: see the note on tests/test_fuzz.py's generated programs.
@pytest.mark.no_cover
@pytest.mark.slow
def test_real_networks_pass_the_sanity_checks() -> None:
    """MONAI's DenseNet-121 and ResNet-18 at 32x32: no sanity verdict, and the timing of each
    phase is reported."""
    nets = pytest.importorskip("monai.networks.nets")
    del nets
    for target in ("monai.networks.nets:DenseNet121(spatial_dims=2, in_channels=3, "
                   "out_channels=4)",
                   "monai.networks.nets:resnet18(spatial_dims=2, n_input_channels=3, "
                   "num_classes=4)"):
        report = probe(target, input_shape=(3, 32, 32), steps=10, sanity=True,
                       lr_range=True)
        found = names(report) & {"initial-loss-too-high", "double-softmax",
                                 "cannot-overfit-batch", "input-ignored",
                                 "minority-class-ignored", "learning-rate-outside-range"}
        assert not found, (target, [f.message for f in report.findings])
        checks = report.measurements.sanity
        assert checks.overfit is not None and checks.overfit.real.fraction < 0.01
        phases = (checks.initial_loss, checks.overfit, checks.input_baseline,
                  report.measurements.lr_range)
        assert all(phase is not None and phase.seconds > 0 for phase in phases)
