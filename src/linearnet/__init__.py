"""linearnet: linear neural networks trained from scratch, concisely and fast.

Names are loaded on first use, so ``import linearnet`` (and the CLI's ``--help``) stays
cheap until something that needs torch is touched.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # settings and presets (torch-free)
    "SyntheticSpec": "config",
    "TrainConfig": "config",
    "Experiment": "config",
    "PRESETS": "presets",
    "make_experiment": "presets",
    "make_train_config": "presets",
    # rows and batches
    "synthetic_data": "synthetic",
    "data_iter": "batches",
    "load_array": "batches",
    "iter_batches": "batches",
    "TensorSource": "batches",
    "BatchSource": "batches",
    "Block": "batches",
    # the models, their losses, the optimizer
    "linreg": "linear_regression",
    "init_params": "linear_regression",
    "LinearRegressionScratch": "linear_regression",
    "linear_net": "linear_regression",
    "squared_loss": "linear_regression",
    "squared_error": "linear_regression",
    "absolute_loss": "linear_regression",
    "huber_loss": "linear_regression",
    "softmax": "softmax_regression",
    "cross_entropy": "softmax_regression",
    "accuracy": "softmax_regression",
    "evaluate_accuracy": "softmax_regression",
    "SoftmaxRegression": "softmax_regression",
    "l2_penalty": "softmax_regression",
    "sgd": "optim",
    # training: engines, the loop, whole runs
    "make_engine": "training",
    "fit": "training",
    "History": "training",
    "DivergedError": "training",
    "run": "experiment",
    "run_experiment": "experiment",
    "Result": "experiment",
    "fit_arrays": "training",
    "ArrayFit": "training",
    "fit_chunks": "training",
    "fit_classifier": "training",
    "ClassifierFit": "training",
    # the analytic solution
    "solve": "leastsq",
    "solve_chunks": "leastsq",
    "OLSResult": "leastsq",
    "solve_logit": "logit",
    "solve_logit_chunks": "logit",
    "LogitResult": "logit",
    # data sets, tables and model files
    "load_digits": "datasets",
    "load_fashion_mnist": "datasets",
    "read_table": "tables",
    "table_chunks": "tables",
    "write_table": "tables",
    "Model": "modelfile",
    "SoftmaxModel": "modelfile",
    "save_model": "modelfile",
    "load_model": "modelfile",
    # seeing and timing
    "Timer": "bench",
    "LiveLoss": "plot",
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
