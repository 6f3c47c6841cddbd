"""Training logs read into one neutral shape: a `Run`, named series of logged points.

Three sources are read. TensorBoard event files go through tensorboard's own event reader
(scalars as torch's SummaryWriter writes them, and the scalar tensors of TF2 and
tensorboard's own writer). CSV files are read by column: Lightning's CSVLogger writes
sparse rows, each holding only what was logged at that moment beside its `epoch` and
`step`, so an empty cell is "not logged here", never zero. JSON lines hold one object per
logging event. A running training may have left its last line half written: that line
is skipped, with a note.

Readers only read. What a series means is decided in `metrics`, how series line up in
`curves`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from cnnlint.diagnose import TENSORBOARD_MISSING, DiagnoseError

EVENT_MARK = "tfevents"  # TensorBoard event files are named events.out.tfevents.*
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Point:
    """One logged value, with the step and epoch it was logged at when the log says."""

    step: int | None
    epoch: int | None
    value: float


@dataclass
class Run:
    path: str  # the file, or the folder of a TensorBoard run
    kind: str  # how the log was written, for the report ("Lightning CSVLogger", ...)
    series: dict[str, list[Point]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """One run's log found on disk: a CSV or JSON-lines file, or a TensorBoard run (an
    event file, or a folder of them whose sub-folders belong to it, as `add_scalars`
    writes them)."""

    path: str
    kind: str  # tensorboard | csv | jsonl
    mtime: float


def _kind_of(name: str) -> str | None:
    lowered = name.lower()
    if EVENT_MARK in lowered:
        return "tensorboard"
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(JSONL_SUFFIXES):
        return "jsonl"
    return None


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def find_sources(path: str) -> list[Source]:
    """The runs in `path` (a log file, or a folder searched recursively), newest first."""
    if os.path.isfile(path):
        kind = _kind_of(os.path.basename(path))
        if kind is None:
            raise DiagnoseError(f"{path} is not a training log (a TensorBoard event file, "
                                "a .csv or a .jsonl file)")
        return [Source(path, kind, _mtime(path))]
    if not os.path.isdir(path):
        raise DiagnoseError(f"no such file or folder: {path}")
    found: list[Source] = []
    board_roots: dict[str, float] = {}
    for folder, subfolders, files in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            kind = _kind_of(name)
            full = os.path.join(folder, name)
            if kind == "tensorboard":
                # os.walk goes top-down: a folder below a run's folder belongs to that run.
                root = next((r for r in board_roots
                             if folder == r or folder.startswith(r + os.sep)), folder)
                board_roots[root] = max(board_roots.get(root, 0.0), _mtime(full))
            elif kind is not None:
                found.append(Source(full, kind, _mtime(full)))
    found.extend(Source(root, "tensorboard", mtime) for root, mtime in board_roots.items())
    if not found:
        raise DiagnoseError(f"no training logs in {path} (looked for TensorBoard event "
                            "files, *.csv and *.jsonl)")
    return sorted(found, key=lambda s: (-s.mtime, s.path))


def read(source: Source, epoch_names: Sequence[str], step_names: Sequence[str]) -> Run:
    """Read one source. `epoch_names` and `step_names`: the column names, in order of
    preference, that hold a row's epoch and step (CSV and JSON lines)."""
    if source.kind == "tensorboard":
        return Run(source.path, "TensorBoard", _read_tensorboard(source.path))
    try:
        with open(source.path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise DiagnoseError(f"cannot read {source.path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DiagnoseError(f"cannot read {source.path}: not UTF-8 text") from None
    if source.kind == "csv":
        return _read_csv(source.path, text, epoch_names, step_names)
    return _read_jsonl(source.path, text, epoch_names, step_names)


# --- TensorBoard -------------------------------------------------------------------------


def _read_tensorboard(path: str) -> dict[str, list[Point]]:
    try:
        from tensorboard.backend.event_processing import event_accumulator
        from tensorboard.util import tensor_util
    except ImportError:
        raise DiagnoseError(TENSORBOARD_MISSING) from None
    folders = [path] if os.path.isfile(path) else sorted(
        folder for folder, _, files in os.walk(path) if any(EVENT_MARK in f for f in files))
    keep_all = {event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}  # no sampling
    series: dict[str, list[Point]] = {}
    for folder in folders:
        # A sub-folder's tags are named after it: add_scalars("loss", {"train": ...}) writes
        # the tag `loss` into `loss_train/`, which reads as `loss_train/loss`.
        prefix = "" if folder == path else os.path.relpath(folder, path).replace(os.sep, "/")
        accumulator = event_accumulator.EventAccumulator(folder, size_guidance=keep_all)
        try:
            accumulator.Reload()
        except Exception as exc:  # the reader's errors have no common base class
            raise DiagnoseError(f"cannot read the event files in {folder}: {exc}") from None
        tags = accumulator.Tags()
        for tag in tags.get("scalars", []):
            series[_joined(prefix, tag)] = [Point(e.step, None, float(e.value))
                                            for e in accumulator.Scalars(tag)]
        for tag in tags.get("tensors", []):
            if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue  # images, histograms, text: not a metric
            series[_joined(prefix, tag)] = [
                Point(e.step, None, float(tensor_util.make_ndarray(e.tensor_proto)))
                for e in accumulator.Tensors(tag)]
    return {name: points for name, points in series.items() if points}


def _joined(prefix: str, tag: str) -> str:
    return f"{prefix}/{tag}" if prefix else tag


# --- CSV and JSON lines ------------------------------------------------------------------


def _number(raw: Any) -> float | None:
    """A logged number; None for an empty cell or a value that is not a number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str) and raw.strip():
        try:
            return float(raw.strip())
        except ValueError:
            return None
    return None


def _whole(raw: Any) -> int | None:
    value = _number(raw)
    return int(value) if value is not None and math.isfinite(value) else None


def _column(columns: Iterable[str], names: Sequence[str]) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    return next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)


def _table(path: str, rows: list[dict[str, Any]], columns: list[str],
           epoch_names: Sequence[str], step_names: Sequence[str]
           ) -> tuple[dict[str, list[Point]], list[str], bool]:
    """Series from rows of {column: raw value}; also notes, and whether rows are sparse."""
    epoch_column = _column(columns, epoch_names)
    step_column = _column(columns, step_names)
    notes = []
    if epoch_column is None and step_column is None:
        notes.append(f"{os.path.basename(path)} has no epoch or step column: each row is "
                     "read as one epoch")
    series: dict[str, list[Point]] = {}
    sparse = False
    for index, row in enumerate(rows):
        epoch = _whole(row.get(epoch_column)) if epoch_column else None
        step = _whole(row.get(step_column)) if step_column else None
        if epoch_column is None and step_column is None:
            epoch = index
        for name in columns:
            if name in (epoch_column, step_column):
                continue
            value = _number(row.get(name))
            if value is None:
                sparse = True
                continue
            series.setdefault(name, []).append(Point(step, epoch, value))
    return series, notes, sparse


def _read_csv(path: str, text: str, epoch_names: Sequence[str],
              step_names: Sequence[str]) -> Run:
    try:
        reader = csv.DictReader(text.splitlines())
        rows = list(reader)
        columns = [c for c in reader.fieldnames or [] if c]
    except csv.Error as exc:
        raise DiagnoseError(f"cannot read {path}: {exc}") from None
    if not columns:
        raise DiagnoseError(f"{path} is empty")
    series, notes, sparse = _table(path, rows, columns, epoch_names, step_names)
    has_axes = _column(columns, ("epoch",)) and _column(columns, ("step",))
    kind = "Lightning CSVLogger" if sparse and has_axes else "CSV"
    return Run(path, kind, series, notes)


def _read_jsonl(path: str, text: str, epoch_names: Sequence[str],
                step_names: Sequence[str]) -> Run:
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1)
             if line.strip()]
    rows: list[dict[str, Any]] = []
    notes = []
    for position, (number, line) in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            if position == len(lines) - 1 and rows:
                notes.append(f"{os.path.basename(path)}:{number}: the last line is not "
                             "complete JSON (a training still writing?): skipped")
                continue
            raise DiagnoseError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DiagnoseError(f"{path}:{number}: not a JSON object")
        rows.append(row)
    if not rows:
        raise DiagnoseError(f"{path} is empty")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    series, more_notes, _ = _table(path, rows, columns, epoch_names, step_names)
    return Run(path, "JSON lines", series, notes + more_notes)
