"""Lazy (aws/lazy.py): built once, on first use, with Python's cycle collector paused during
the build and always resumed after it, even when the build fails (a container left without
collection would grow until Lambda killed it)."""

from __future__ import annotations

import gc

import pytest

from releasewatch.aws.lazy import Lazy


def test_built_once_with_collection_paused_then_resumed_and_the_result_frozen() -> None:
    seen: list[bool] = []

    def build() -> list[str]:
        seen.append(gc.isenabled())
        return ["built"]

    lazy = Lazy(build)
    assert gc.isenabled()
    value = lazy()
    assert lazy() is value and seen == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # left out of later collections
    gc.unfreeze()


def test_a_failed_build_still_resumes_collection_and_is_tried_again() -> None:
    calls: list[int] = []

    def build() -> str:
        calls.append(1)
        raise RuntimeError("TABLE_NAME is not set")

    lazy = Lazy(build)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            lazy()
        assert gc.isenabled()
    assert len(calls) == 2
    gc.unfreeze()


def test_a_build_inside_a_build_leaves_the_pause_to_the_outer_one() -> None:
    inner = Lazy(lambda: gc.isenabled())
    outer = Lazy(lambda: (inner(), gc.isenabled()))
    assert outer() == (False, False)
    assert gc.isenabled()
    gc.unfreeze()
