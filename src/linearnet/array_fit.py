"""SGD on the user's arrays: now :mod:`linearnet.training` (``arrays``, ``classifier``, ``stopping``);
these names stay importable from here."""

from .training.arrays import ArrayFit, fit_arrays, fit_chunks
from .training.classifier import ClassifierFit, fit_classifier
from .training.scaling import standard_scale
from .training.stopping import StoppingRule, held_out_rows, with_stopping

__all__ = [
    "ArrayFit",
    "fit_arrays",
    "fit_chunks",
    "ClassifierFit",
    "fit_classifier",
    "StoppingRule",
    "held_out_rows",
    "standard_scale",
    "with_stopping",
]
