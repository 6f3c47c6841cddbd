"""The frame-stack room the static path runs in (cnnlint.stack_room)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from cnnlint import engine
from cnnlint.stack_room import with_stack_room


def test_the_call_gives_back_what_the_function_returns_and_raises() -> None:
    assert with_stack_room(lambda a, b: (a, b), 1, "two") == (1, "two")

    def fails() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        with_stack_room(fails)


def _down(n: int) -> int:
    return 0 if n == 0 else _down(n - 1) + 1


def _seesaw() -> None:
    """Recursion that goes up and down across several of CPython's frame chunks, as the
    interpreter of the static path does."""
    for _ in range(500):
        for depth in (100, 200, 300, 400):
            assert _down(depth) == depth


def _page_faults(run: Any) -> int:
    resource = pytest.importorskip("resource")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    run()
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page faults as Linux counts")
def test_a_recursion_going_up_and_down_maps_no_new_frame_chunks_inside_the_room() -> None:
    plain = _page_faults(_seesaw)
    if plain < 1000:
        pytest.skip(f"this Python maps no chunk per crossing ({plain} page faults)")
    roomy = _page_faults(lambda: with_stack_room(_seesaw))
    assert roomy < plain / 10, (plain, roomy)


def test_lint_runs_in_the_room(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnlint.config import Flags, build_settings
    from cnnlint.rule import load_rules

    called: list[Any] = []

    def spy(run: Any, *args: Any) -> Any:
        called.append(run)
        return run(*args)

    monkeypatch.setattr(engine, "with_stack_room", spy)
    (tmp_path / "model.py").write_text("import torch.nn as nn\n")
    rules = load_rules()
    paths = [str(tmp_path / "model.py")]
    engine.lint(paths, build_settings(paths, Flags(), rules), rules)
    assert called == [engine._lint]
