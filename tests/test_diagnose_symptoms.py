"""The pieces of `diagnose` on synthetic series, without torch: metric names, the lining up
of series into curves, each symptom detector at and around its thresholds, the ranking of
causes, and the readers' edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cnnlint.diagnose import DiagnoseError
from cnnlint.diagnose import report
from cnnlint.diagnose.causes import candidates, contradictions, explain
from cnnlint.diagnose.curves import MAX_PERIODS, Curve, Curves, build
from cnnlint.diagnose.diagnosis import Diagnosis, observe
from cnnlint.diagnose.logs import Point, Run, find_sources, read
from cnnlint.diagnose.metrics import (
    EPOCH_NAMES, STEP_NAMES, Roles, classify, match_roles, parse_overrides,
)
from cnnlint.diagnose.symptoms import (
    Symptom, Thresholds, class_left_behind, constant_learning_rate, detect, divergence,
    early_plateau, generalisation_gap, missed_early_stop, oscillation,
)
from cnnlint.findings import Finding

T = Thresholds()
NAN = float("nan")


def curves(periods: str = "epochs", **roles: list[float]) -> Curves:
    """Curves with one value per epoch for each role given."""
    made = Curves("epoch" if periods == "epochs" else "step", periods)
    for role, values in roles.items():
        made.roles[role] = Curve(role, list(range(len(values))), list(values))
    return made


def with_classes(made: Curves, role: str, per_class: dict[str, list[float]]) -> Curves:
    made.classes[role] = {label: Curve(f"{role}_class_{label}", list(range(len(v))), v)
                          for label, v in per_class.items()}
    return made


def falling(start: float, end: float, n: int) -> list[float]:
    return [start + (end - start) * i / (n - 1) for i in range(n)]


# --- metric names ------------------------------------------------------------------------


@pytest.mark.parametrize("name, role, label", [
    ("train_loss", "train_loss", None), ("loss", "train_loss", None),
    ("train/loss", "train_loss", None), ("training_loss", "train_loss", None),
    ("train_loss_epoch", "train_loss", None), ("trainLoss", "train_loss", None),
    ("val_loss", "val_loss", None), ("valid_loss", "val_loss", None),
    ("val/loss", "val_loss", None), ("validation_loss", "val_loss", None),
    ("test_loss", "val_loss", None), ("eval/loss", "val_loss", None),
    ("acc", "train_acc", None), ("train/accuracy", "train_acc", None),
    ("val_accuracy", "val_acc", None), ("val_acc1", "val_acc", None),
    ("val_auc", "val_auc", None), ("val/auroc", "val_auc", None),
    ("val_auc_class_3", "val_auc", "3"), ("val/acc_class0", "val_acc", "0"),
    ("train_acc_cls_cat", "train_acc", "cat"),
    ("lr", "lr", None), ("learning_rate", "lr", None), ("lr-SGD", "lr", None),
    ("lr-Adam/pg1", "lr", None), ("LearningRate", "lr", None),
    ("epoch", "epoch", None), ("global_step", "step", None),
])
def test_names_find_their_role(name: str, role: str, label: str | None) -> None:
    match = classify(name)
    assert match is not None and (match.role, match.label) == (role, label)


@pytest.mark.parametrize("name", ["hp_metric", "val_acc5", "val_top5_acc", "grad_norm",
                                  "val_loss_class_2", "lr_class_1", "val_check_interval"])
def test_names_with_no_role(name: str) -> None:
    assert classify(name) is None


def test_the_plainest_name_wins_and_overrides_take_theirs() -> None:
    names = ["train_loss_step", "train_loss_epoch", "loss", "test_loss", "val_loss",
             "val_loss_ema", "val_acc_class_0", "val_acc_class_1", "lr-SGD/pg2", "lr-SGD"]
    roles = match_roles(names, {})
    assert list(roles.series.items()) == [("train_loss", "train_loss_epoch"),
                                          ("val_loss", "val_loss"), ("lr", "lr-SGD")]
    assert roles.classes == {"val_acc": {"0": "val_acc_class_0", "1": "val_acc_class_1"}}
    assert roles.num_classes() == 2 and roles.found_metrics()
    forced = match_roles(names, {"val_loss": "test_loss", "epoch": "ep"})
    assert forced.series["val_loss"] == "test_loss"
    assert "epoch" not in forced.series  # a column the reader took as the axis
    assert parse_overrides(["val-loss = valid/loss"]) == {"val_loss": "valid/loss"}


# --- lining up ---------------------------------------------------------------------------


def points(values: list[float], steps: list[int], epochs: list[int] | None = None
           ) -> list[Point]:
    return [Point(s, None if epochs is None else epochs[i], v)
            for i, (s, v) in enumerate(zip(steps, values))]


def test_an_epoch_scalar_maps_steps_to_epochs() -> None:
    run = Run("tb", "TensorBoard", {
        "train/loss_step": points([4.0, 2.0, 3.0, 1.0], [0, 1, 2, 3]),
        "val/loss": points([2.5, 1.5], [1, 3]),
        "epoch": points([0.0, 0.0, 1.0, 1.0], [0, 1, 2, 3]),
    })
    made = build(run, match_roles(run.series, {}))
    assert (made.unit, made.periods) == ("epoch", "epochs")
    assert made.roles["train_loss"].x == [0, 1] and made.roles["train_loss"].y == [3.0, 2.0]
    assert made.roles["val_loss"].y == [2.5, 1.5]


def test_without_epochs_validation_steps_end_the_periods() -> None:
    run = Run("tb", "TensorBoard", {
        "train_loss": points([4.0, 2.0, 3.0, 1.0, 9.0], [0, 1, 2, 3, 4]),
        "val_loss": points([2.5, 1.5], [1, 3]),
    })
    made = build(run, match_roles(run.series, {}))
    assert (made.unit, made.periods) == ("step", "validation rounds")
    assert made.roles["train_loss"].x == [1, 3] and made.roles["train_loss"].y == [3.0, 2.0]
    assert made.notes == ["1 value logged after the last validation (an unfinished period) "
                          "left out"]
    assert made.span(1, 3) == "steps 1-3" and made.span(3, 3) == "step 3"


def test_a_long_step_log_is_averaged_over_windows() -> None:
    n = 4 * MAX_PERIODS
    run = Run("log", "CSV", {"loss": points([float(i % 4) for i in range(n)],
                                            list(range(n)))})
    made = build(run, match_roles(run.series, {}))
    curve = made.roles["train_loss"]
    assert made.periods == "windows" and len(curve.x) == MAX_PERIODS
    assert set(curve.y) == {1.5}  # the batch-to-batch zigzag averaged away
    assert oscillation(made, T, None) == []


def test_percentages_are_read_as_fractions() -> None:
    run = Run("log", "CSV", {"val_acc": points([50.0, 80.0], [0, 1], [0, 1]),
                             "val_acc_class_0": points([40.0, 90.0], [0, 1], [0, 1]),
                             "val_acc_class_1": points([60.0, 70.0], [0, 1], [0, 1])})
    made = build(run, match_roles(run.series, {}))
    assert made.roles["val_acc"].y == [0.5, 0.8]
    assert made.classes["val_acc"]["0"].y == [0.4, 0.9]
    assert made.notes == ["`val_acc` read as percentages",
                          "the per-class `val_acc` metrics read as percentages"]


# --- generalisation gap ------------------------------------------------------------------


def test_gap_widening_in_accuracy() -> None:
    made = curves(train_acc=falling(0.5, 1.0, 10), val_acc=falling(0.5, 0.6, 10))
    (symptom,) = generalisation_gap(made, T, None)
    assert symptom.evidence["gap_end"] == pytest.approx(0.3556, abs=1e-3)
    assert symptom.start == symptom.evidence["since"] == 4 and symptom.end == 9
    assert "a gap of 0.36, up from 0.04 at the start; above 0.15 since epoch 4" \
        in symptom.message


def test_a_gap_that_does_not_widen_is_not_overfitting() -> None:
    # Validation 0.2 below training from the first epoch: a shift, not memorisation.
    made = curves(train_acc=falling(0.5, 0.9, 10), val_acc=falling(0.3, 0.7, 10))
    assert generalisation_gap(made, T, None) == []


def test_gap_just_below_the_threshold() -> None:
    made = curves(train_acc=[0.5] * 6 + [0.64] * 4, val_acc=[0.5] * 10)
    assert generalisation_gap(made, T, None) == []
    assert generalisation_gap(made, Thresholds(gap_accuracy=0.14), None)


def test_a_loss_gap_with_equal_accuracies_is_no_overfitting() -> None:
    made = curves(train_loss=falling(2.0, 0.2, 10), val_loss=falling(2.0, 0.6, 10),
                  train_acc=falling(0.2, 0.95, 10), val_acc=falling(0.2, 0.93, 10))
    assert generalisation_gap(made, T, None) == []


def test_gap_in_loss_ratio() -> None:
    made = curves(train_loss=falling(2.0, 0.2, 10), val_loss=falling(2.0, 0.6, 10))
    (symptom,) = generalisation_gap(made, T, None)
    assert symptom.series == ("train_loss", "val_loss")
    assert symptom.evidence["ratio_end"] == pytest.approx(2.136, abs=1e-3)
    healthy = curves(train_loss=falling(2.0, 0.4, 10), val_loss=falling(2.0, 0.5, 10))
    assert generalisation_gap(healthy, T, None) == []


# --- missed early stop -------------------------------------------------------------------


def test_missed_early_stop_names_the_best_epoch() -> None:
    val = [2.0, 1.5, 1.2, 1.0, 1.1, 1.2, 1.3, 1.4]
    made = curves(train_loss=falling(2.0, 0.3, 8), val_loss=val)
    (symptom,) = missed_early_stop(made, T, None)
    assert symptom.mark == symptom.start == 3 and symptom.end == 7
    assert symptom.evidence["periods_after_best"] == 4
    assert symptom.message.endswith("training should have stopped at epoch 3")


def test_missed_early_stop_needs_patience_rise_and_a_falling_train_loss() -> None:
    train = falling(2.0, 0.3, 8)
    too_recent = [2.0, 1.5, 1.2, 1.1, 1.0, 0.9, 1.2, 1.3]  # best two epochs before the end
    assert missed_early_stop(curves(train_loss=train, val_loss=too_recent), T, None) == []
    small_rise = [2.0, 1.5, 1.2, 1.0, 1.01, 1.02, 1.03, 1.04]
    assert missed_early_stop(curves(train_loss=train, val_loss=small_rise), T, None) == []
    both_rise = [2.0, 1.5, 1.2, 1.0, 1.1, 1.2, 1.3, 1.4]
    assert missed_early_stop(curves(train_loss=list(reversed(train)), val_loss=both_rise),
                             T, None) == []


def test_missed_early_stop_on_a_falling_validation_accuracy() -> None:
    made = curves(train_acc=falling(0.4, 1.0, 8),
                  val_acc=[0.4, 0.6, 0.8, 0.7, 0.65, 0.6, 0.6, 0.6])
    (symptom,) = missed_early_stop(made, T, None)
    assert symptom.evidence["best_at"] == 2 and "`val_acc` was best at epoch 2" in \
        symptom.message and "fell to" in symptom.message


# --- early plateau -----------------------------------------------------------------------


def test_plateau_near_the_first_value() -> None:
    made = curves(train_loss=[2.303, 2.302, 2.302, 2.301, 2.301, 2.300, 2.300, 2.300])
    (symptom,) = early_plateau(made, T, None)
    assert symptom.evidence["near_start"] and symptom.evidence["ln_classes"] is None
    assert symptom.message.startswith("`train_loss` stops improving after epoch 0 and stays")


def test_plateau_near_ln_c_after_a_first_drop() -> None:
    made = curves(train_loss=[5.0, 2.31, 2.30, 2.30, 2.30, 2.30, 2.30, 2.30, 2.30, 2.30])
    assert early_plateau(made, T, None) == []  # far below its first value, C unknown
    (symptom,) = early_plateau(made, T, 10)
    assert symptom.evidence["near_ln_classes"] and not symptom.evidence["near_start"]
    assert "ln 10 = 2.3" in symptom.message


@pytest.mark.parametrize("loss", [
    falling(2.3, 0.5, 10),  # keeps improving
    [2.3, 1.0, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],  # stops early, but far below
    [2.3, 2.3, 2.3, 2.3, 2.3, 2.0, 1.5, 1.0, 0.8, 0.7],  # flat, then learns
    [2.3, 2.3, 2.3, NAN, NAN, NAN],  # divergence's to report
    [2.3, 2.3, 2.3],  # too short to say
])
def test_no_plateau(loss: list[float]) -> None:
    assert early_plateau(curves(train_loss=loss), T, 10) == []


# --- divergence --------------------------------------------------------------------------


def test_non_finite_loss() -> None:
    (symptom,) = divergence(curves(train_loss=[2.0, 1.5, math.inf, NAN]), T, None)
    assert symptom.mark == 2 and symptom.message == "`train_loss` is inf from epoch 2"
    (symptom,) = divergence(curves(train_loss=[2.0, 1.5, 1.0], val_loss=[2.0, NAN, NAN]),
                            T, None)
    assert symptom.series == ("val_loss",)


@pytest.mark.parametrize("loss, classes, reason", [
    ([2.0, 2.5, 3.0, 3.5, 4.0], None, "above its first value 2"),
    ([4.0, 1.0, 0.5, 1.2, 1.4, 1.6], None, "above its lowest 0.5 (epoch 2)"),
    ([900.0, 20.0, 19.0, 19.5, 20.0], 4, "above ln 4 = 1.39 (a uniform guess)"),
])
def test_a_growing_loss(loss: list[float], classes: int | None, reason: str) -> None:
    (symptom,) = divergence(curves(train_loss=loss), T, classes)
    assert reason in symptom.message


def test_a_falling_loss_does_not_diverge() -> None:
    assert divergence(curves(train_loss=falling(2.3, 0.2, 10)), T, 10) == []
    assert divergence(curves(train_loss=[1.0]), T, None) == []


def test_divergence_hides_the_overfitting_it_fakes() -> None:
    made = curves(train_loss=[900.0, 20.0, 19.0, 19.5, 20.0, 19.0],
                  val_loss=[60.0, 60.0, 70.0, 65.0, 70.0, 72.0])
    assert generalisation_gap(made, T, 4)
    assert [s.name for s in detect(made, T, 4)] == ["divergence"]


# --- oscillation -------------------------------------------------------------------------


def test_oscillation_of_the_training_loss() -> None:
    made = curves(train_loss=[2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 1.0])
    (symptom,) = oscillation(made, T, None)
    assert symptom.evidence == {"reversals": 4, "largest_swing": 1.0}
    assert (symptom.start, symptom.end) == (0, 5)
    assert symptom.message == ("`train_loss` swings by 25% or more and turns 4 times between "
                               "epoch 0 and epoch 5 (largest swing 100%)")


def test_small_or_one_way_swings_are_no_oscillation() -> None:
    assert oscillation(curves(train_loss=[2.0, 1.8, 2.0, 1.8, 2.0, 1.8]), T, None) == []
    assert oscillation(curves(train_loss=[8.0, 4.0, 2.0, 1.0, 0.5]), T, None) == []
    assert oscillation(curves(train_loss=[2.0, 1.0, 2.0, 1.0]), T, None) == []  # 2 turns


def test_a_swinging_validation_loss_points_at_batchnorm_noise_first() -> None:
    made = curves(train_loss=falling(2.0, 1.0, 7), val_loss=[2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2])
    (symptom,) = oscillation(made, T, None)
    assert symptom.series == ("val_loss",)
    assert [code for code, _ in candidates(symptom)] == ["CNN201", "CNN208", "CNN205",
                                                          "CNN108"]
    train = Symptom("oscillation", "", ("train_loss",), 0, 1)
    assert candidates(train)[0][0] == "CNN208"


# --- a class left behind -----------------------------------------------------------------


def test_a_class_at_chance_while_the_others_learn() -> None:
    made = with_classes(curves(val_auc=[0.8] * 6), "val_auc", {
        "0": [0.9] * 6, "1": [0.88] * 6, "2": [0.55] * 6, "3": [0.86] * 6})
    (symptom,) = class_left_behind(made, T, None)
    assert symptom.evidence["class"] == "2" and symptom.evidence["chance"] == 0.5
    assert symptom.message == ("class 2: `val_auc_class_2` ends at 0.55 (chance 0.50; never "
                               "above 0.55) while the other 3 classes average 0.88; overall "
                               "`val_auc` 0.80")


def test_no_class_left_behind_when_nothing_learns_or_everything_does() -> None:
    nothing = with_classes(curves(), "val_acc", {"0": [1.0] * 5, "1": [0.0] * 5,
                                                 "2": [0.0] * 5, "3": [0.0] * 5})
    assert class_left_behind(nothing, T, None) == []  # one class predicted for all
    everything = with_classes(curves(), "val_acc", {"0": [0.8] * 5, "1": [0.7] * 5})
    assert class_left_behind(everything, T, None) == []


# --- learning rate -----------------------------------------------------------------------


def test_constant_learning_rate_over_a_long_run() -> None:
    (symptom,) = constant_learning_rate(curves(lr=[0.1] * 30), T, None)
    assert symptom.message == "`lr` stays at 0.1 over 30 epochs (epochs 0-29)"
    assert constant_learning_rate(curves(lr=[0.1] * 29), T, None) == []
    assert constant_learning_rate(curves(lr=[0.1] * 15 + [0.01] * 15), T, None) == []
    assert constant_learning_rate(curves("points", lr=[0.1] * 40), T, None) == []


# --- causes and reports ------------------------------------------------------------------


def finding(code: str, line: int) -> Finding:
    return Finding(code, code.lower(), "warning", f"{code} here", "fix it", "train.py",
                   line, 1, line, 2, "run")


def test_causes_follow_the_story_order_not_the_file_order() -> None:
    symptom = Symptom("early-plateau", "", ("train_loss",), 0, 5)
    found = [finding("CNN206", 3), finding("CNN101", 4), finding("CNN207", 9),
             finding("CNN207", 12)]
    causes = explain(symptom, found)
    assert [(c.rank, c.finding.code, c.finding.line) for c in causes] == [
        (1, "CNN207", 9), (2, "CNN207", 12), (3, "CNN206", 3)]


def test_reports_of_a_run_with_no_symptom(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,val_loss\n" + "".join(
        f"{e},{2.0 - e / 10},{2.1 - e / 10}\n" for e in range(10)))
    seen = observe(str(log), {}, T)
    diagnosis = Diagnosis(seen, [], [], 0)
    text = report.text(diagnosis)
    assert text.endswith("\nNo symptom found in 10 epochs.\n")
    assert "  metrics: train_loss `loss`, val_loss `val_loss`\n" in text
    document = json.loads(report.as_json(diagnosis))
    assert document["symptoms"] == [] and document["run"]["kind"] == "CSV"


# --- readers -----------------------------------------------------------------------------


def test_sources_nest_tensorboard_subfolders_and_sort_newest_first(tmp_path: Path) -> None:
    (tmp_path / "a" / "loss_train").mkdir(parents=True)
    (tmp_path / "a" / "events.out.tfevents.1").write_bytes(b"")
    (tmp_path / "a" / "loss_train" / "events.out.tfevents.2").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.csv").write_text("epoch,loss\n")
    (tmp_path / "b.jsonl").write_text("{}\n")
    sources = find_sources(str(tmp_path))
    assert sorted((Path(s.path).name, s.kind) for s in sources) == [
        ("a", "tensorboard"), ("b.jsonl", "jsonl")]


def test_a_csv_without_axis_columns_reads_rows_as_epochs(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("loss,note\n2.0,start\n1.0,\n")
    (source,) = find_sources(str(log))
    run = read(source, EPOCH_NAMES, STEP_NAMES)
    assert run.kind == "CSV" and list(run.series) == ["loss"]
    assert [(p.epoch, p.value) for p in run.series["loss"]] == [(0, 2.0), (1, 1.0)]
    assert run.notes == ["log.csv has no epoch or step column: each row is read as one epoch"]


def test_logs_with_no_metric_anywhere(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("epoch,name\n0,x\n")
    (tmp_path / "b.jsonl").write_text('{"epoch": 0, "flag": true}\n')
    with pytest.raises(DiagnoseError, match=r"no recognisable metrics in .*\(and 1 other logs"):
        observe(str(tmp_path), {}, T)


def test_a_bad_log_beside_a_good_one_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("epoch,loss\n0,2.0\n1,1.0\n")
    (tmp_path / "bad.jsonl").write_text("[1, 2]\n")
    seen = observe(str(tmp_path), {}, T)
    assert seen.run.path.endswith("good.csv")
    assert any(note.startswith("skipped: ") and "bad.jsonl:1: not a JSON object" in note
               for note in seen.notes)


def test_roles_report_nothing_without_metrics() -> None:
    assert not Roles(series={"lr": "lr"}).found_metrics()
    assert Roles().num_classes() is None


def test_findings_the_log_contradicts_are_noted() -> None:
    made = curves(train_loss=[2.0, 1.0], val_loss=[2.0, 1.5], lr=[0.1, 0.01])
    notes = contradictions(made, [finding("CNN202", 3), finding("CNN209", 5),
                                  finding("CNN206", 7)])
    assert notes == [
        "the log holds validation metrics, but CNN202 cnn202 finds no validation pass in "
        "train.py:3:1: was the log written by other code?",
        "the logged learning rate changes, but CNN209 cnn209 finds one constant learning "
        "rate in train.py:5:1: was the log written by other code?"]
    assert contradictions(curves(train_loss=[2.0, 1.0], lr=[0.1, 0.1]),
                          [finding("CNN202", 3), finding("CNN209", 5)]) == []
