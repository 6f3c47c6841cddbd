"""Room on CPython's frame stack for the deep, see-sawing recursion of reading code.

CPython 3.11 to 3.14 keep the frames of Python calls in chunks of 16 KiB. A call that does
not fit in the current chunk gets a new one from the operating system (mmap), and the
chunk is unmapped when that call returns. The static reader is a recursive interpreter: its
call depth goes up and down by dozens of frames all the time, and each time it crosses a
chunk's end it pays an mmap, a munmap and the page faults of touching the new chunk. On
pytorchcv's zoo that was 340,000 mmap/munmap pairs and ~3.7 s of system time in a 25 s
run (CPython issue gh-142183; later 3.13 and 3.14 releases keep one chunk back instead).

A chunk is made as large as the frame that needs it. Calling through a function whose
frame asks for 4 MiB (a code object with a large value stack, never used) makes CPython
allocate one chunk of 8 MiB, mapped lazily: the frames of everything called inside go
into the rest of it, and no chunk is mapped or unmapped until the recursion is tens of
thousands of frames deep.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable, TypeVar

T = TypeVar("T")

# Value-stack slots (8 bytes each) of the roomy frame: just over 4 MiB, so that CPython
# rounds its chunk up to 8 MiB and leaves ~4 MiB for the frames called inside it.
_EXTRA_SLOTS = (4 << 20) // 8 + 8192


def _call(run: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return run(*args)


def _roomy() -> Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None:
    if sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info < (3, 15):
        return None  # frames live elsewhere (3.10's heap frames, PyPy): nothing to gain
    code = _call.__code__
    return types.FunctionType(code.replace(co_stacksize=code.co_stacksize + _EXTRA_SLOTS),
                              _call.__globals__, "_call_with_room")


_CALL_WITH_ROOM = _roomy()


def with_stack_room(run: Callable[..., T], *args: Any) -> T:
    """`run(*args)`, its calls placed in a frame-stack chunk of their own (see above)."""
    if _CALL_WITH_ROOM is None:
        return run(*args)
    return _CALL_WITH_ROOM(run, args)  # type: ignore[no-any-return]
