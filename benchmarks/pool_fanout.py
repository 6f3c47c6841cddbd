"""The standard-library way to spread the work, for comparison with `cnnlint/fanout.py`.

flake8 and pylint hand files to `multiprocessing.Pool` workers forked from a process that
has loaded everything (the children inherit it; nothing is sent but task numbers) and take
results back through the pool. `install()` puts this in place of cnnlint's hand-written
fan-out, with the same interface, so `bench_lint.py` can time both on the same corpus.
"""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any, Callable, Sequence

_RUN: Callable[[int], Any] | None = None
_DUMP: Callable[[list[tuple[int, Any]]], bytes] | None = None


def _work(batch: Sequence[int]) -> bytes:
    sys.settrace(None)
    assert _RUN is not None and _DUMP is not None  # set before the fork
    return _DUMP([(index, _RUN(index)) for index in batch])


def fan_out(batches: Sequence[Sequence[int]], run: Callable[[int], Any], jobs: int,
            dump: Callable[[list[tuple[int, Any]]], bytes],
            load: Callable[[bytes], list[tuple[int, Any]]]) -> dict[int, Any]:
    global _RUN, _DUMP
    _RUN, _DUMP = run, dump
    results: dict[int, Any] = {}
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for payload in pool.imap_unordered(_work, batches):
            results.update(load(payload))
    return results


def install() -> None:
    import cnnlint.engine
    import cnnlint.fanout

    cnnlint.fanout.fan_out = fan_out  # type: ignore[assignment]
    cnnlint.engine.fan_out = fan_out  # type: ignore[assignment]
