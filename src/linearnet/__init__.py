"""linearnet: linear neural networks trained from scratch, concisely and fast.

Names are loaded on first use, so ``import linearnet`` (and the CLI's ``--help``) stays
cheap until something that needs torch is touched.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "synthetic_data": "data", "data_iter": "data", "load_array": "data", "iter_batches": "data",
    "TensorSource": "data", "BatchSource": "data", "Block": "data",
    "linreg": "models", "init_params": "models", "LinearRegressionScratch": "models",
    "linear_net": "models",
    "squared_loss": "losses", "squared_error": "losses",
    "sgd": "optim",
    "make_engine": "engines",
    "fit": "train", "History": "train", "DivergedError": "train",
    "run": "experiment", "run_experiment": "experiment", "Result": "experiment",
    "fit_arrays": "experiment", "ArrayFit": "experiment",
    "fit_classifier": "experiment", "ClassifierFit": "experiment",
    "softmax": "softmax_regression", "cross_entropy": "softmax_regression", "accuracy": "softmax_regression",
    "evaluate_accuracy": "softmax_regression", "SoftmaxRegression": "softmax_regression",
    "l2_penalty": "softmax_regression",
    "load_digits": "datasets", "load_fashion_mnist": "datasets",
    "SoftmaxModel": "modelfile",
    "solve": "leastsq", "solve_chunks": "leastsq", "OLSResult": "leastsq",
    "read_table": "tables", "write_table": "tables",
    "Model": "modelfile", "save_model": "modelfile", "load_model": "modelfile",
    "make_train_config": "presets",
    "SyntheticSpec": "config", "TrainConfig": "config", "Experiment": "config",
    "PRESETS": "presets", "make_experiment": "presets",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'linearnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
