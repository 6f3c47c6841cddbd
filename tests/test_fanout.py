"""Forked fan-out: every task done once, whatever the children do, and nothing left behind."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from cnnlint import engine, fanout
from cnnlint.config import Flags, build_settings
from cnnlint.rule import load_rules

pytestmark = pytest.mark.skipif(not fanout.can_fork(), reason="needs os.fork")
FIXTURES = Path(__file__).parent / "fixtures"


def _fan_out(batches: list[list[int]], run, jobs: int = 3, dump=pickle.dumps,
             load=pickle.loads) -> dict:
    return fanout.fan_out(batches, run, jobs, dump=dump, load=load)


def _slow_square(i: int) -> tuple[int, int]:
    time.sleep(0.005)  # long enough that the children surely take some tickets
    return i * i, os.getpid()


def _count_forks(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The pids of the children forked from now on (as seen by the parent)."""
    forked: set[int] = set()
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.add(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forked


def _reaped(pids: set[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)  # a zombie (not waited for) still answers
        except ProcessLookupError:
            continue
        return False
    return True


def test_every_task_is_done_once_by_the_workers() -> None:
    batches = [[i, i + 40] for i in range(40)]
    done = _fan_out(batches, _slow_square)
    assert {i: square for i, (square, _) in done.items()} == {i: i * i for i in range(80)}
    pids = {pid for _, pid in done.values()}
    assert os.getpid() not in pids and len(pids) >= 2
    assert _reaped(pids)
    assert fanout.can_fork()  # no thread of the pool is left running


def test_one_job_runs_here() -> None:
    done = _fan_out([[0], [1], [2]], _slow_square, jobs=1)
    assert {pid for _, pid in done.values()} == {os.getpid()}


def test_no_worker_without_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    forks = _count_forks(monkeypatch)
    done = _fan_out([[0, 1], [2]], _slow_square, jobs=8)
    assert sorted(done) == [0, 1, 2] and len(forks) == 2


def test_many_batches() -> None:
    done = _fan_out([[i] for i in range(3000)], lambda i: i + 1, jobs=2)
    assert done == {i: i + 1 for i in range(3000)}


@pytest.mark.parametrize("failure", ["exit", "raise", "dump", "load"])
def test_what_a_failed_worker_took_is_done_here(failure: str) -> None:
    parent = os.getpid()

    def run(i: int) -> tuple[int, int]:
        if os.getpid() != parent and failure == "exit":
            os._exit(3)
        if os.getpid() != parent and failure == "raise":
            raise KeyboardInterrupt  # not even a BaseException escapes a worker
        return _slow_square(i)

    def dump(done: list) -> bytes:
        if failure == "dump":
            raise ValueError("cannot serialise")
        return pickle.dumps(done)

    def load(payload: bytes) -> list:
        if failure == "load":
            raise pickle.UnpicklingError("garbled")
        return pickle.loads(payload)

    done = _fan_out([[i] for i in range(30)], run, dump=dump, load=load)
    assert {i: square for i, (square, _) in done.items()} == {i: i * i for i in range(30)}
    assert {pid for _, pid in done.values()} == {parent}


def test_an_interrupt_here_stops_and_reaps_the_workers(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    forked = _count_forks(monkeypatch)

    def run(i: int) -> int:
        if i:
            time.sleep(10)  # the workers would take minutes
        return i

    def load(payload: bytes) -> list:
        raise KeyboardInterrupt  # Ctrl-C while this process loads the first results

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _fan_out([[i] for i in range(20)], run, load=load)
    assert time.monotonic() - start < 5
    assert len(forked) == 3 and _reaped(forked)


def test_a_failed_fork_leaves_the_work_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", fork)
    done = _fan_out([[i] for i in range(5)], _slow_square)
    assert {pid for _, pid in done.values()} == {os.getpid()}


def test_buffered_output_is_written_once(tmp_path: Path) -> None:
    """Output still in this process's buffers when it forks must not be written again
    by the children (they leave with os._exit)."""
    script = textwrap.dedent("""
        import pickle, sys
        from cnnlint.fanout import fan_out
        sys.stdout.write("before;")
        fan_out([[i] for i in range(8)], lambda i: i, 3, dump=pickle.dumps, load=pickle.loads)
        sys.stdout.write("after")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "before;after"


def _lint_json(paths: list[str], jobs: int) -> str:
    rules = load_rules()
    settings = build_settings(paths, Flags(select=["ALL"]), rules)
    result = engine.lint(paths, settings, rules, jobs=jobs)
    return json.dumps([[f.to_dict() for f in result.findings],
                       [(e.path, e.kind, e.message) for e in result.errors]])


def test_spawned_workers_where_there_is_no_fork(in_tmp: Path, torchvision_models: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    torchvision_models(in_tmp / "models")
    shutil.copytree(FIXTURES / "projects", in_tmp / "projects")
    (in_tmp / "models" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    forked = _lint_json(["models", "projects"], jobs=2)
    monkeypatch.setattr(engine, "can_fork", lambda: False)
    assert _lint_json(["models", "projects"], jobs=2) == forked
    assert "latin1.py" in forked


def test_models_judged_in_workers_give_the_same_findings_and_failures(
        in_tmp: Path, torchvision_models: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs, forked workers run the model rules on chunks of models: the same
    findings, and a rule that fails on one model is reported as it is in one process."""
    torchvision_models(in_tmp / "models")
    rules = load_rules()
    deep_plain = rules["CNN103"]
    judge = deep_plain.check_model

    def fails_on_vgg11(rule: Any, model: Any, *args: Any) -> Any:
        if model.name == "vgg11":
            raise RuntimeError("judging vgg11 failed")
        return judge(rule, model, *args)

    monkeypatch.setattr(deep_plain, "check_model", fails_on_vgg11)
    settings = build_settings(["models"], Flags(select=["ALL"]), rules)
    judged_here: list[str] = []  # (what workers judge is not counted here)
    inner = engine._judge

    def judging(model: Any, *args: Any) -> Any:
        judged_here.append(model.name)
        return inner(model, *args)

    monkeypatch.setattr(engine, "_judge", judging)
    monkeypatch.setattr(engine, "MIN_PARALLEL_JUDGING", 2)
    outputs = []
    for jobs in (1, 2):
        judged_here.clear()
        result = engine.lint(["models"], settings, rules, jobs=jobs)
        outputs.append(([f.to_dict() for f in result.findings],
                        [(e.path, e.kind, e.message) for e in result.errors]))
        assert judged_here if jobs == 1 else not judged_here
    assert outputs[0] == outputs[1]
    assert any("CNN103" in message and "judging vgg11 failed" in message
               for _, _, message in outputs[0][1])
    assert any(f["code"] == "CNN103" for f in outputs[0][0])
