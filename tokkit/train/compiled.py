"""numba, when installed: the one decorator every compiled kernel of tokkit uses.

Why one place: the kernels are cached on disk (``cache=True``) and release the GIL (``nogil``) the
same way everywhere, and without numba (it is the optional ``tokkit[fast]``) every module still
imports; its kernels stay plain functions that the callers never reach (:func:`available`).
"""

from __future__ import annotations

from typing import Any

try:
    import numba

    jit = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - numba is optional
    numba = None  # type: ignore[assignment]

    def jit(fn: Any) -> Any:  # the kernels stay plain functions, never called
        return fn


def available() -> bool:
    """Whether compiled kernels can run (numba importable)."""
    return numba is not None
