"""Give the memory a finished phase freed back to the system before the next phase takes its own.

glibc's allocator keeps freed heap memory resident for reuse: at the nation scale, after the drafts and column
generation, about 0.25 GB of the process's resident set was free heap (numpy temporaries of the county oracle's
chunks), and the exact phase's second search, in a thread of its own, allocates from another arena and cannot
reuse it, so the two added up at the peak (docs/benchmarks.md, issue 22). ``malloc_trim`` hands the free pages
back. Elsewhere than on glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_free_memory() -> bool:
    """Return the allocator's free heap pages to the system; True when it could (glibc)."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
