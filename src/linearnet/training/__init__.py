"""Training by minibatch SGD: one run setup for every way in.

- :mod:`~linearnet.training.engines`: the engine protocol and the scratch, concise and fast engines.
- :mod:`~linearnet.training.loop`: :func:`fit`, the only training loop, and its :class:`History`.
- :mod:`~linearnet.training.run`: :func:`train`, the run written once: initial weights → engine →
  data-parallel → the loop → weights in data units.
- :mod:`~linearnet.training.stopping`: the stopping rule and the one validation split.
- :mod:`~linearnet.training.scaling`: the one standardizer and the way back to data units.
- :mod:`~linearnet.training.arrays` and :mod:`~linearnet.training.classifier`: the fits on the user's
  data (:func:`fit_arrays`, :func:`fit_chunks`, :func:`fit_classifier`).

The synthetic experiment (:mod:`linearnet.experiment`), ``linearnet train``, the scikit-learn estimators
(:mod:`linearnet.sklearn`) and the distributed path all train through :func:`train`.
"""

from __future__ import annotations

from .arrays import ArrayFit, fit_arrays, fit_chunks
from .classifier import ClassifierFit, fit_classifier
from .engines import Engine, make_engine
from .loop import DIVERGENCE_FACTOR, DivergedError, EpochCallback, History, RowsCallback, fit
from .run import Trained, train
from .scaling import Standardization, standard_scale
from .stopping import StoppingRule, held_out_rows, with_stopping

__all__ = [
    "ArrayFit",
    "ClassifierFit",
    "DIVERGENCE_FACTOR",
    "DivergedError",
    "Engine",
    "EpochCallback",
    "History",
    "RowsCallback",
    "Standardization",
    "StoppingRule",
    "Trained",
    "fit",
    "fit_arrays",
    "fit_chunks",
    "fit_classifier",
    "held_out_rows",
    "make_engine",
    "standard_scale",
    "train",
    "with_stopping",
]
