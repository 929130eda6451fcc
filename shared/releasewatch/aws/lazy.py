"""Build once per container, on first use: not at import, so a handler module imports fast and
tests can build inside a moto mock.

What is built lives as long as the container (modules, models, clients), so Python's cycle
collector is paused while it is built (otherwise it scans those objects again and again as they
are made: ~50 ms of the poller's cold start, tests/bench), then what exists is frozen
(gc.freeze: left out of every later collection, warm invocations' included) and collection
resumes. The few cycles the build leaves as garbage (~1,000 objects of the ~100,000 frozen
after the poller's build) are not collected: a one-off cost of some kilobytes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = _built_without_collection(self._factory)
        return self._value

    @property
    def built(self) -> bool:
        return self._value is not None

    def reset(self) -> None:
        with self._lock:
            self._value = None


_paused = threading.Lock()


def _built_without_collection(factory: Callable[[], T]) -> T:
    # (a build inside another, or on another thread, leaves the pause to the first one)
    if not _paused.acquire(blocking=False):
        return factory()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return factory()
    finally:
        gc.freeze()  # (tests unfreeze at each test's start: tests/conftest.py)
        if was_enabled:
            gc.enable()
        _paused.release()
