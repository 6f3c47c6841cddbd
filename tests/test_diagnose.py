"""`cnnlint diagnose` on the logs of short real trainings (tests/diagnose_runs.py): each
symptom found on the run that has it and on no other healthy one, in every log format; the
causes ranked from the findings of a training script; output formats, exit codes, the
configuration table, and bad input."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import run

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")

import diagnose_runs  # noqa: E402

FORMATS = tuple(diagnose_runs.WRITERS)
# Each generated run and the symptoms it must show (others may show too, the healthy
# run none at all).
EXPECTED = {
    "overfit": {"generalisation-gap", "missed-early-stop", "constant-learning-rate"},
    "plateau": {"early-plateau"},
    "imbalanced": {"class-left-behind"},
    "diverge": {"divergence"},
    "oscillate": {"oscillation"},
}


@pytest.fixture(scope="session")
def histories() -> dict[str, diagnose_runs.History]:
    """Every scenario trained once (about five seconds on two cores)."""
    return {scenario: diagnose_runs.train(scenario) for scenario in diagnose_runs.SCENARIOS}


@pytest.fixture(scope="session")
def runs(histories: dict[str, diagnose_runs.History],
         tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every run written in every format: (scenario, format) -> what to pass as RUN (a
    folder for TensorBoard and Lightning, the file for CSV and JSON lines)."""
    root = tmp_path_factory.mktemp("runs")
    found = {}
    for scenario, history in histories.items():
        for name, write in diagnose_runs.WRITERS.items():
            found[scenario, name] = write(history, root / scenario / name)
    return found


@pytest.fixture
def project(in_tmp: Path) -> Path:
    """A project root with no Python files: findings come only from what a test writes."""
    (in_tmp / "pyproject.toml").write_text("[project]\nname = 'trained'\n")
    return in_tmp


def diagnose(*args: str | Path) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(["diagnose", "--format", "json", "--no-cache", *map(str, args)])
    assert "Traceback" not in out + err
    return code, json.loads(out) if out else {}, err


def names(document: dict[str, Any]) -> set[str]:
    return {s["name"] for s in document["symptoms"]}


# --- each symptom on its run, in every format --------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_symptom_found_on_its_run(runs: dict[tuple[str, str], Path], project: Path,
                                  scenario: str, fmt: str) -> None:
    code, document, _ = diagnose(runs[scenario, fmt])
    assert EXPECTED[scenario] <= names(document), document["symptoms"]
    assert code == 1
    for symptom in document["symptoms"]:
        assert symptom["message"] and symptom["evidence"]
        assert symptom["segment"]["start"] <= symptom["segment"]["end"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_healthy_run_has_no_symptom(runs: dict[tuple[str, str], Path], project: Path,
                                    fmt: str) -> None:
    code, document, _ = diagnose(runs["healthy", fmt])
    assert document["symptoms"] == [] and code == 0
    assert document["run"]["periods"] == "epochs"
    assert {"train_loss", "val_loss", "train_acc", "val_acc", "lr"} <= \
        set(document["run"]["metrics"])
    lr = document["run"]["learning_rate"]  # the cosine schedule is seen
    assert lr["first"] == pytest.approx(3e-3) and lr["last"] < lr["first"] / 10
    assert len(lr["changes_at"]) == 11


@pytest.mark.parametrize("scenario", ["healthy", "plateau", "imbalanced"])
def test_other_runs_do_not_show_overfitting(runs: dict[tuple[str, str], Path],
                                            project: Path, scenario: str) -> None:
    document = diagnose(runs[scenario, "csv"])[1]
    assert not names(document) & {"generalisation-gap", "missed-early-stop", "divergence"}


def test_evidence_of_the_overfitting_run(runs: dict[tuple[str, str], Path],
                                         project: Path) -> None:
    document = diagnose(runs["overfit", "lightning"])[1]
    by_name = {s["name"]: s for s in document["symptoms"]}
    gap = by_name["generalisation-gap"]["evidence"]
    assert gap["metric"] == "acc" and gap["train_end"] > 0.95 and gap["val_end"] < 0.4
    stop = by_name["missed-early-stop"]
    best = stop["evidence"]["best_at"]
    assert stop["mark"] == best and stop["segment"] == {"start": best, "end": 39,
                                                        "unit": "epoch"}
    assert stop["evidence"]["val_end"] > 2 * stop["evidence"]["best"]
    assert f"should have stopped at epoch {best}" in stop["message"]
    assert by_name["constant-learning-rate"]["severity"] == "info"


def test_plateau_is_near_ln_c_with_the_classes_counted(runs: dict[tuple[str, str], Path],
                                                       project: Path) -> None:
    document = diagnose(runs["plateau", "tensorboard"])[1]
    assert document["run"]["num_classes"] == 4
    (plateau,) = document["symptoms"]
    assert plateau["evidence"]["near_ln_classes"] is True
    assert "ln 4 = 1.39" in plateau["message"]


def test_steps_without_epochs_are_grouped_by_validation(
        histories: dict[str, diagnose_runs.History], project: Path) -> None:
    folder = diagnose_runs.write_tensorboard(histories["overfit"], project / "no_epochs",
                                             epoch_scalar=False)
    document = diagnose(folder)[1]
    assert document["run"]["periods"] == "validation rounds"
    assert document["run"]["unit"] == "step"
    assert EXPECTED["overfit"] <= names(document)
    stop = next(s for s in document["symptoms"] if s["name"] == "missed-early-stop")
    assert "at step " in stop["message"]


# --- causes from the code ----------------------------------------------------------------

SCRIPT = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

data = TensorDataset(torch.randn(64, 1, 8, 8), torch.randint(0, 4, (64,)))
loader = DataLoader(data, batch_size=16, shuffle=True)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 4))
optimizer = {optimizer}
criterion = nn.CrossEntropyLoss({loss})
for epoch in range(40):
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize("scenario, optimizer, loss, symptom, ranked", [
    ("plateau", "torch.optim.SGD(model.parameters(), lr=1e-7)", "", "early-plateau",
     ["CNN207", "CNN206"]),
    ("diverge", "torch.optim.SGD(model.parameters(), lr=50.0, momentum=0.9)", "",
     "divergence", ["CNN208"]),
    ("overfit", "torch.optim.Adam(model.parameters(), lr=3e-3)", "", "missed-early-stop",
     ["CNN203", "CNN202"]),
    ("overfit", "torch.optim.Adam(model.parameters(), lr=3e-3)", "",
     "constant-learning-rate", ["CNN209"]),
    ("imbalanced", "torch.optim.Adam(model.parameters(), lr=3e-3)",
     "weight=torch.tensor([1.0, 19.0])", "class-left-behind", ["CNN211"]),
])
def test_causes_are_the_findings_ranked(runs: dict[tuple[str, str], Path], project: Path,
                                        scenario: str, optimizer: str, loss: str,
                                        symptom: str, ranked: list[str]) -> None:
    (project / "train.py").write_text(SCRIPT.format(optimizer=optimizer, loss=loss))
    code, document, _ = diagnose(runs[scenario, "csv"], "train.py")
    found = next(s for s in document["symptoms"] if s["name"] == symptom)
    causes = found["causes"]
    assert [c["finding"]["code"] for c in causes] == ranked
    assert [c["rank"] for c in causes] == list(range(1, len(ranked) + 1))
    assert all(c["finding"]["path"] == "train.py" and c["story"] for c in causes)
    assert document["summary"]["files"] == 1


def test_symptom_no_finding_explains_gets_advice(runs: dict[tuple[str, str], Path],
                                                 project: Path) -> None:
    (project / "train.py").write_text(SCRIPT.format(
        optimizer="torch.optim.Adam(model.parameters(), lr=3e-3)", loss=""))
    code, out, _ = run(["diagnose", "--no-cache", str(runs["plateau", "csv"]), "train.py"])
    assert code == 1
    assert "early-plateau [warning]" in out
    assert "no finding in the code explains it; try: run a learning-rate range test" in out


def test_text_report_names_symptom_causes_and_summary(runs: dict[tuple[str, str], Path],
                                                      project: Path) -> None:
    (project / "train.py").write_text(SCRIPT.format(
        optimizer="torch.optim.SGD(model.parameters(), lr=1e-7)", loss=""))
    code, out, err = run(["diagnose", "--no-cache", str(runs["plateau", "lightning"])])
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"Diagnosis of {runs['plateau', 'lightning']}")
    assert "(Lightning CSVLogger, 12 epochs)" in lines[0]
    assert "train_loss `train_loss_epoch`" in lines[1] and "lr `lr-SGD`" in lines[1]
    assert "  learning rate: constant 1.00e-07 over 12 epochs" in lines
    assert "    1. train.py:9:13: CNN207 learning-rate-too-low: `SGD` learning rate 1e-07 " \
           "is below 0.0001: steps too small to learn" in lines
    assert any(line.startswith("    2. train.py:9:13: CNN206 sgd-without-momentum")
               for line in lines)
    assert lines[-1] == ("Found 1 symptom (0 errors, 1 warning, 0 info); 1 explained by 2 "
                         "findings in 1 file.")


# --- output, exit codes, configuration ---------------------------------------------------


def test_json_envelope(runs: dict[tuple[str, str], Path], project: Path) -> None:
    code, document, _ = diagnose(runs["diverge", "tensorboard"])
    assert set(document) == {"version", "run", "symptoms", "errors", "notes", "summary"}
    assert document["version"] == 1 and document["errors"] == []
    assert document["summary"] == {"symptoms": 1, "error": 1, "warning": 0, "info": 0,
                                   "explained": 0, "findings": 0, "files": 0, "errors": 0}
    (symptom,) = document["symptoms"]
    assert set(symptom) == {"name", "severity", "summary", "message", "series", "segment",
                            "mark", "evidence", "causes", "advice"}
    assert symptom["severity"] == "error" and code == 1


def test_nan_is_written_as_a_string_in_json(project: Path) -> None:
    (project / "log.csv").write_text("epoch,train_loss\n0,2.3\n1,nan\n2,nan\n")
    code, document, _ = diagnose("log.csv")
    (symptom,) = document["symptoms"]
    assert symptom["evidence"] == {"non_finite_at": 1, "value": "nan"}
    assert symptom["message"] == "`train_loss` is nan from epoch 1"


@pytest.mark.parametrize("args, exit_code", [
    (["--exit-zero"], 0),
    (["--fail-on", "error"], 0),
    (["--fail-on", "never"], 0),
    (["--fail-on", "warning"], 1),
])
def test_exit_codes(runs: dict[tuple[str, str], Path], project: Path, args: list[str],
                    exit_code: int) -> None:
    assert diagnose(runs["plateau", "csv"], *args)[0] == exit_code


def test_info_symptom_alone_fails_only_from_info(project: Path) -> None:
    rows = "".join(f"{e},{2.0 - e / 40},0.1\n" for e in range(35))
    (project / "log.csv").write_text("epoch,train_loss,lr\n" + rows)
    code, document, _ = diagnose("log.csv")
    assert names(document) == {"constant-learning-rate"} and code == 0
    assert diagnose("log.csv", "--fail-on", "info")[0] == 1


def test_config_table_sets_thresholds(runs: dict[tuple[str, str], Path],
                                      project: Path) -> None:
    assert "generalisation-gap" in names(diagnose(runs["overfit", "csv"])[1])
    (project / "pyproject.toml").write_text(
        "[tool.cnnlint.diagnose]\ngap-accuracy = 0.9\ngap-loss-ratio = 1e5\n"
        "constant-lr-epochs = 41\n")
    found = names(diagnose(runs["overfit", "csv"])[1])
    assert "generalisation-gap" not in found and "constant-learning-rate" not in found
    assert "missed-early-stop" in found


@pytest.mark.parametrize("table, message", [
    ("gap-acuracy = 0.2", "[tool.cnnlint.diagnose] has no option `gap-acuracy` (did you "
                          "mean `gap-accuracy`?)"),
    ("window = 'three'", "option `window` of [tool.cnnlint.diagnose] must be int, not str"),
])
def test_config_errors(runs: dict[tuple[str, str], Path], project: Path, table: str,
                       message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.cnnlint.diagnose]\n{table}\n")
    code, _, err = diagnose(runs["healthy", "csv"])
    assert code == 2 and message in err and err.count("\n") == 1


def test_plot(runs: dict[tuple[str, str], Path], project: Path) -> None:
    pytest.importorskip("matplotlib")
    for scenario in ("overfit", "diverge", "imbalanced"):
        path = project / f"{scenario}.png"
        code, _, _ = diagnose(runs[scenario, "tensorboard"], "--plot", path)
        assert code == 1
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_lists_roles_thresholds_and_exit_codes(project: Path) -> None:
    code, out, _ = run(["diagnose", "--help"])
    assert code == 0
    for text in ("Roles (--metric ROLE=NAME", "val_loss", "Thresholds ([tool.cnnlint.diagnose]",
                 "gap-accuracy = 0.15", "constant-lr-epochs = 30", "Exit codes:",
                 "--exit-zero turns 1 into 0"):
        assert text in out


# --- reading logs ------------------------------------------------------------------------


def test_metric_option_maps_unusual_names(project: Path) -> None:
    rows = "".join(f"{e},{1.0 - e / 20},{1.0 + e / 10}\n" for e in range(10))
    (project / "log.csv").write_text("ep,fit,held_out\n" + rows)
    code, _, err = diagnose("log.csv")
    assert code == 2 and "no recognisable metrics in log.csv" in err and "fit" in err
    code, document, _ = diagnose("log.csv", "--metric", "train_loss=fit", "--metric",
                                 "val_loss=held_out", "--metric", "epoch=ep")
    assert document["run"]["metrics"] == {"train_loss": "fit", "val_loss": "held_out"}
    assert document["run"]["periods"] == "epochs"
    assert "missed-early-stop" in names(document)


def test_newest_run_in_a_folder_is_diagnosed(runs: dict[tuple[str, str], Path],
                                             project: Path) -> None:
    folder = project / "logs"
    folder.mkdir()
    old = folder / "old.csv"
    old.write_text(runs["healthy", "csv"].read_text())
    os.utime(old, (time.time() - 100, time.time() - 100))
    (folder / "new.csv").write_text(runs["plateau", "csv"].read_text())
    (folder / "notes.txt").write_text("not a log")
    document = diagnose(folder)[1]
    assert document["run"]["path"].endswith("new.csv")
    assert names(document) == {"early-plateau"}
    assert any("holds 2 logs; diagnosed the newest with metrics" in n
               for n in document["notes"])


def test_add_scalars_subfolders_are_one_run(project: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(project / "tb"))
    for epoch in range(8):
        writer.add_scalars("loss", {"train": 2.0 - 0.2 * epoch,
                                    "val": 2.0 - 0.2 * min(epoch, 2) + 0.1 * max(0, epoch - 2)},
                           epoch)
    writer.close()
    document = diagnose(project / "tb")[1]
    assert document["run"]["metrics"] == {"train_loss": "loss_train/loss",
                                          "val_loss": "loss_val/loss"}
    assert "missed-early-stop" in names(document)


def test_tensorboard_scalar_tensors(project: Path) -> None:
    from tensorboard.summary import Writer

    writer = Writer(str(project / "tf2"))
    for epoch in range(6):
        writer.add_scalar("loss", float("nan") if epoch > 2 else 1.0, step=epoch)
    writer.close()
    document = diagnose(project / "tf2")[1]
    assert names(document) == {"divergence"}


def test_jsonl_with_a_half_written_last_line(project: Path) -> None:
    lines = [json.dumps({"epoch": e, "loss": 1.0 / (e + 1)}) for e in range(5)]
    (project / "log.jsonl").write_text("\n".join(lines) + '\n{"epoch": 5, "lo')
    code, document, _ = diagnose("log.jsonl")
    assert code == 0
    assert any("the last line is not complete JSON" in n for n in document["notes"])


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("files, target, extra, message", [
    ({}, "missing", [], "no such file or folder: missing"),
    ({"empty/readme.txt": "x"}, "empty", [], "no training logs in empty"),
    ({"log.txt": "x"}, "log.txt", [], "log.txt is not a training log"),
    ({"log.csv": ""}, "log.csv", [], "log.csv is empty"),
    ({"log.csv": "epoch,name\n0,a\n"}, "log.csv", [], "no recognisable metrics in log.csv"),
    ({"log.jsonl": "[1]\n"}, "log.jsonl", [], "log.jsonl:1: not a JSON object"),
    ({"log.jsonl": "{\n{}\n"}, "log.jsonl", [], "log.jsonl:1: not a JSON object"),
    ({"log.csv": "epoch,loss\n0,1\n"}, "log.csv", ["--metric", "loss"],
     "--metric 'loss': expected ROLE=NAME"),
    ({"log.csv": "epoch,loss\n0,1\n"}, "log.csv", ["--metric", "val_los=x"],
     "unknown role `val_los` (did you mean `val_loss`?)"),
    ({"log.csv": "epoch,loss\n0,1\n"}, "log.csv", ["--metric", "val_loss=x"],
     "--metric val_loss=x: no metric named `x` in the log (it has: loss)"),
    ({"log.csv": "epoch,loss\n0,1\n"}, "log.csv", ["missing.py"],
     "path does not exist: missing.py"),
])
def test_bad_input_is_one_line_and_exit_two(project: Path, files: dict[str, str],
                                            target: str, extra: list[str],
                                            message: str) -> None:
    for name, content in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(content)
    code, _, err = diagnose(target, *extra)
    assert code == 2
    assert message in err, err
    assert err.startswith("cnnlint: error: ") and err.count("\n") == 1


def test_undecodable_log(project: Path) -> None:
    (project / "log.csv").write_bytes(b"epoch,loss\n0,\xff\xfe\n")
    code, _, err = diagnose("log.csv")
    assert code == 2 and "cannot read log.csv: not UTF-8 text" in err


def test_missing_tensorboard_is_named(runs: dict[tuple[str, str], Path], project: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("tensorboard")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import raises ImportError
    code, _, err = diagnose(runs["healthy", "tensorboard"])
    assert code == 2
    assert "reading TensorBoard event files needs the tensorboard package: pip install " \
           "'cnnlint[diagnose]'" in err


def test_lint_errors_make_exit_two(runs: dict[tuple[str, str], Path], project: Path) -> None:
    (project / "broken.py").write_bytes(b"x = '\xe9'\n")
    code, document, _ = diagnose(runs["healthy", "csv"], "broken.py")
    assert code == 2 and document["errors"][0]["kind"] == "read"


def test_readme_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's worked example: the bundled log and project give the output shown."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    code, out, _ = run(["diagnose", "--no-cache", "examples/runs", "examples"])
    readme = (root / "README.md").read_text()
    shown = readme.split("cnnlint diagnose examples/runs examples\n", 1)[1]
    shown = shown.split("```text\n", 1)[1].split("```", 1)[0]
    assert out == shown
    assert code == 1
