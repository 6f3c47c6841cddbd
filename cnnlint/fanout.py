"""Spread independent tasks over worker processes forked from this one.

The workers are forked once the work is set up, so they inherit everything loaded: what
crosses a pipe is a batch number one way and the batch's results the other. This process
only hands out batches and loads results as they arrive, so loading overlaps the workers'
work instead of following it.

Built on `concurrent.futures.ProcessPoolExecutor` (fork context). A hand-written fan-out in
which this process took a share of the batches too was measured against the standard
library's pools on the benchmark corpus: it was no faster (loading the other process's
results came after both were done), so it went. The executor rather than
`multiprocessing.Pool`: a worker that dies breaks the executor (`BrokenProcessPool`) where
a `Pool` waits for its lost task forever. Whatever a worker does not report, because it
died, raised or sent something unreadable, is done here: it costs time, never results.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")

# What the workers do, set before they are forked (they inherit it; closures need no pickling).
_WORK: tuple[Sequence[Sequence[int]], Callable[[int], Any], Callable[[Any], bytes]] | None = None


def can_fork() -> bool:
    """A fork copies only the calling thread: safe when this process has just the one."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def fan_out(batches: Sequence[Sequence[int]], run: Callable[[int], T], jobs: int,
            dump: Callable[[list[tuple[int, T]]], bytes],
            load: Callable[[bytes], list[tuple[int, T]]]) -> dict[int, T]:
    """`run(i)` for every index of every batch, in up to `jobs` forked workers (in this
    process when jobs is 1). `dump` and `load` carry a worker's results back. Call only
    when `can_fork()`."""
    results: dict[int, T] = {}
    if jobs > 1 and batches:
        results = _from_workers(batches, run, min(jobs, len(batches)), dump, load)
    for batch in batches:  # what no worker reported
        for index in batch:
            if index not in results:
                results[index] = run(index)
    return results


def _from_workers(batches: Sequence[Sequence[int]], run: Callable[[int], T], workers: int,
                  dump: Callable[[list[tuple[int, T]]], bytes],
                  load: Callable[[bytes], list[tuple[int, T]]]) -> dict[int, T]:
    # Imported here: the executor and multiprocessing cost ~25 ms to import, which a run
    # with one job (a pre-commit hook on one file) never needs.
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    global _WORK
    results: dict[int, T] = {}
    for stream in (sys.stdout, sys.stderr):  # else buffered output would be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    _WORK = (batches, run, dump)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    finished = False
    try:
        try:
            pending: set[Future[bytes | None]] = {pool.submit(_work, number)
                                                   for number in range(len(batches))}
        except (OSError, BrokenProcessPool):  # no process to spare: the work is done here
            return results
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    payload = future.result()
                except BrokenProcessPool:  # a worker died: the rest is done here
                    pending = set()
                    break
                except Exception:
                    continue
                if payload is not None:
                    with contextlib.suppress(Exception), no_cyclic_gc():
                        results.update(load(payload))
        finished = True
    finally:
        _WORK = None
        if not finished:  # interrupted: leave no process behind, busy or not
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _work(number: int) -> bytes | None:  # pragma: no cover - runs in a worker
    # A tracer (coverage, a debugger) would slow the worker several times over, and what it
    # records dies with the worker anyway.
    sys.settrace(None)
    sys.setprofile(None)
    assert _WORK is not None  # set before the fork
    batches, run, dump = _WORK
    try:
        return dump([(index, run(index)) for index in batches[number]])
    except BaseException:  # noqa: BLE001 - whatever stopped it, the batch is redone there
        return None


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Parsing, and loading a child's results, allocate millions of short-lived or acyclic
    objects (reference counting frees them) while what is kept grows: the cyclic
    collector's passes over it cost ~10% of an analysis and 5x a load of built models, and
    find next to nothing."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was allocated meanwhile would be the young generation's next pass, one scan
        # of millions of objects: file it with the old ones instead (freezing resets the
        # young count; unfreezing hands them to the oldest generation, scanned rarely).
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
