"""The training loop: now :mod:`linearnet.training.loop`; these names stay importable from here."""

from .training.loop import DIVERGENCE_FACTOR, DivergedError, EpochCallback, History, RowsCallback, fit

__all__ = ["History", "DivergedError", "DIVERGENCE_FACTOR", "EpochCallback", "RowsCallback", "fit"]
