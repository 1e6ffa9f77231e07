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
        "fit_chunks",
        "table_chunks",
        "solve_chunks",
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
        "Timer",
        "LiveLoss",
        "save_model",
        "load_model",
    ):
        assert callable(getattr(linearnet, name)), name


def test_every_exported_name_loads_from_the_module_named_for_it():
    import linearnet

    for name in linearnet.__all__:
        value = getattr(linearnet, name)
        assert value is not None, name
    assert linearnet.Timer().stop() >= 0.0  # the book's Timer: started when made, stop() returns seconds


def test_dir_lists_the_names_before_they_are_loaded():
    import importlib.util

    spec = importlib.util.find_spec("linearnet")
    fresh = importlib.util.module_from_spec(spec)  # the package as first imported: no name loaded yet
    spec.loader.exec_module(fresh)
    lazy = set(fresh.__all__) - {"__version__"}
    assert not lazy & set(vars(fresh))
    names = dir(fresh)
    assert lazy <= set(names) and names == sorted(names)  # tab completion sees every name


def test_the_modules_renamed_by_concept_still_import_the_same_objects():
    """``linearnet.engines`` and ``linearnet.train`` (now ``linearnet.training.engines`` and ``.loop``) keep
    every name they exported, the same objects, for code written against them."""
    import linearnet.engines
    import linearnet.train
    from linearnet.training import engines, loop

    for old, new in ((linearnet.engines, engines), (linearnet.train, loop)):
        assert old.__all__ and all(getattr(old, name) is getattr(new, name) for name in old.__all__)
