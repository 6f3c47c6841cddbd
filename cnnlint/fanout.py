"""Spread independent tasks over forked processes that take work as they go.

Why not `concurrent.futures`: a pool's start-up and its feeder threads need the GIL while
this process is busy with its own share, so its first worker started about 0.1 s late,
and results came back through pickling and a manager thread. Here the children are plain
forks: each inherits the loaded state (nothing to send), takes batches from a shared
"ticket" pipe, and writes its results back once, through its own pipe. The parent takes
tickets too, so whoever is free does the next batch, and no share leaves a process idle.

A pipe hands each ticket to exactly one reader: every ticket is a 4-byte read from data
that was all written before the first fork, and reads of a pipe are atomic. A child that
dies or sends something unreadable costs nothing but time: the parent does the batches it
did not report.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")

TICKET = struct.Struct("=I")
# All tickets are written before the first fork, so they must fit in a pipe's buffer
# without a reader: one page, the least a pipe holds (Linux shrinks new pipes to that for a
# user over its pipe quota). More batches than that are merged.
MAX_TICKETS = 4096 // TICKET.size


def can_fork() -> bool:
    """A fork copies only the calling thread: safe when this process has just the one."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def fan_out(batches: Sequence[Sequence[int]], run: Callable[[int], T], jobs: int,
            dump: Callable[[list[tuple[int, T]]], bytes],
            load: Callable[[bytes], list[tuple[int, T]]]) -> dict[int, T]:
    """`run(i)` for every index of every batch, in this process and `jobs - 1` forked
    children. `dump` and `load` carry a child's results back; this process's own results
    are never serialised. Call only when `can_fork()`."""
    batches = _merge(batches)
    tickets, feed = os.pipe()
    children: list[tuple[int, int]] = []  # (pid, read end of its results pipe)
    results: dict[int, T] = {}
    try:
        try:
            pending = b"".join(TICKET.pack(n) for n in range(len(batches)))
            while pending:  # a signal can cut a write short
                pending = pending[os.write(feed, pending):]
        finally:
            os.close(feed)  # before any fork: the children's reads end at the last ticket
        for _ in range(min(jobs, len(batches)) - 1):  # no child without a batch to take
            try:
                children.append(_fork_child(tickets, batches, run, dump))
            except OSError:  # no process to spare: fewer hands, same results
                break
        results.update(_take_tickets(tickets, batches, run))
        while children:
            pid, source = children.pop(0)
            try:
                payload = _read_all(source)
            finally:
                code = _exit_code(pid)
            if code == 0:
                with contextlib.suppress(Exception), no_cyclic_gc():
                    results.update(load(payload))
    finally:
        os.close(tickets)
        for pid, source in children:  # interrupted: leave no process behind
            with contextlib.suppress(OSError):
                os.close(source)
                os.kill(pid, 9)
                os.waitpid(pid, 0)
    for batch in batches:  # what a failed child took and never reported
        for index in batch:
            if index not in results:
                results[index] = run(index)
    return results


def _merge(batches: Sequence[Sequence[int]]) -> list[list[int]]:
    """At most MAX_TICKETS batches, neighbours joined in order."""
    per = -(-len(batches) // MAX_TICKETS) if batches else 1
    return [[i for batch in batches[start:start + per] for i in batch]
            for start in range(0, len(batches), per)]


def _take_tickets(tickets: int, batches: list[list[int]], run: Callable[[int], T]
                  ) -> list[tuple[int, T]]:
    done: list[tuple[int, T]] = []
    while True:
        ticket = os.read(tickets, TICKET.size)
        if len(ticket) < TICKET.size:  # b"": every batch is taken
            return done
        done.extend((index, run(index)) for index in batches[TICKET.unpack(ticket)[0]])


def _fork_child(tickets: int, batches: list[list[int]], run: Callable[[int], T],
                dump: Callable[[list[tuple[int, T]]], bytes]) -> tuple[int, int]:
    source, sink = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # else buffered output would be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage data dies with it (os._exit)
        code = 1
        try:
            # A tracer (coverage, a debugger) would slow the child several times over, and
            # what it records dies with the child anyway.
            sys.settrace(None)
            sys.setprofile(None)
            os.close(source)
            payload = dump(_take_tickets(tickets, batches, run))
            with open(sink, "wb", closefd=True) as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no flushing of inherited buffers
    os.close(sink)
    return pid, source


def _read_all(fd: int) -> bytes:
    with open(fd, "rb", closefd=True) as stream:
        return stream.read()


def _exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


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
