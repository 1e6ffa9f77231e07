"""The engines: now :mod:`linearnet.training.engines`; these names stay importable from here."""

from .training.engines import (
    ConciseEngine,
    Engine,
    FastEngine,
    FastSoftmaxEngine,
    ScratchEngine,
    ScratchSoftmaxEngine,
    make_engine,
)

__all__ = [
    "Engine",
    "ScratchEngine",
    "ScratchSoftmaxEngine",
    "ConciseEngine",
    "FastEngine",
    "FastSoftmaxEngine",
    "make_engine",
]
