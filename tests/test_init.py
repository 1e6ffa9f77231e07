"""The package (linearnet/__init__.py): every name the README uses is exported, and loading a module keeps it."""


def test_the_readme_names_are_importable_from_the_package():
    import linearnet
    import linearnet.leastsq
    import linearnet.softmax_regression

    for name in (
        "softmax",
        "cross_entropy",
        "accuracy",
        "evaluate_accuracy",
        "SoftmaxRegression",
        "fit_classifier",
        "load_digits",
        "load_fashion_mnist",
        "solve",
        "fit_arrays",
        "make_train_config",
        "synthetic_data",
        "data_iter",
        "load_array",
        "linreg",
        "squared_loss",
        "sgd",
        "run",
        "fit",
        "make_engine",
    ):
        assert callable(getattr(linearnet, name)), name
