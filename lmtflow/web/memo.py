"""Results computed from product files, kept while those files are unchanged.

Products change only when a reduction rewrites them (atomically: a new inode, a new mtime),
so a value derived from files -- a channel map's PNG, a spectrum's JSON -- is keyed by the
files' (path, inode, mtime_ns, size) and the arguments; a rewritten file is a new key, and its
old entries age out. A file modified within the last :data:`RACY_S` is not cached (the file
system's clock is coarse: a second write in the same tick could keep the same mtime). Every
cache is bounded by an entry count and a byte total (least recently used dropped first), so
the server's memory does not grow with the run.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
RACY_S = 1.0


def file_key(paths: Iterable[Path | None]) -> tuple[tuple, bool]:
    """(path, inode, mtime_ns, size) of each file (None for a missing one) and whether all
    are older than :data:`RACY_S`; raises nothing."""
    out, settled = [], True
    recent = time.time_ns() - int(RACY_S * 1e9)
    for path in paths:
        if path is None:
            out.append(None)
            continue
        try:
            st = os.stat(path)
        except OSError:
            out.append((str(path), None))
            continue
        out.append((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
        settled = settled and st.st_mtime_ns < recent
    return tuple(out), settled


class Memo(Generic[T]):
    """A bounded, thread-safe LRU of values derived from files (see the module docstring)."""

    def __init__(self, max_items: int, max_bytes: int = 1 << 62,
                 size: Callable[[T], int] = lambda _v: 1) -> None:  # fmt: skip
        self.max_items, self.max_bytes, self.size = max_items, max_bytes, size
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, files: Iterable[Path | None], args: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``args`` over ``files``, computed (outside the lock) on a miss."""
        files_key, settled = file_key(files)
        key = (files_key, args)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return hit[0]
            self.misses += 1
        value = compute()
        nbytes = self.size(value)
        if nbytes > self.max_bytes // 4 or not settled:  # one huge value would evict the rest
            return value
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, nbytes)
            self._bytes += nbytes
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
