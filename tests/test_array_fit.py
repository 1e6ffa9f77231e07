"""Training on arrays (linearnet.training): fit_arrays against the analytic solution, fit_classifier's labels."""

import json

import numpy as np
import pytest
import torch

from linearnet import fit_arrays, make_train_config, synthetic_data
from linearnet.leastsq import solve
from linearnet.training import fit_classifier

from helpers import IMPLS


@pytest.mark.parametrize("impl", IMPLS)
def test_sgd_converges_to_the_analytic_solution(impl):
    g = torch.Generator().manual_seed(4)
    X, y = synthetic_data([2, -3.4], 4.2, 1000, generator=g)
    exact = solve(X, y)
    sgd = fit_arrays(X.numpy(), y.numpy(), make_train_config(impl=impl, epochs=10, lr=0.01), seed=1)
    # SGD at lr 0.01, batch 10 jitters around the optimum by about sqrt(lr·σ²/batch) ≈ 3e-4
    np.testing.assert_allclose(sgd.w, exact.coef, atol=1.5e-3)
    assert sgd.b == pytest.approx(exact.intercept, abs=1.5e-3)
    assert abs(sgd.w[0] - exact.coef[0]) < abs(sgd.w[0] - 2.0) + 1.5e-3  # closer to the solve than noise allows


def test_standardized_training_reports_original_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 300, (400, 2)) + [0, 1000]
    y = X @ [0.5, -2.0] + 7 + rng.standard_normal(400) * 0.1
    exact = solve(X, y)
    sgd = fit_arrays(X, y, make_train_config(impl="fast", epochs=60, lr=0.05), standardize=True)
    np.testing.assert_allclose(sgd.w, exact.coef, rtol=2e-3)
    assert sgd.b == pytest.approx(exact.intercept, rel=2e-2)
    assert sgd.standardization["mean"] == pytest.approx(X.mean(axis=0).tolist())


@pytest.mark.parametrize(
    "y, message",
    [
        ([0, 1, 12], "y has class 12 but the model has 10 classes (0..9)"),
        ([0, -1, 2], "y has class -1; classes are numbered from 0"),
        ([0.0, 1.5, 2.0], "y must hold whole class numbers, found fractions such as 1.5"),
        ([0.0, float("nan"), 1.0], "y must hold class numbers, found NaN or inf"),
    ],
)
def test_bad_labels(y, message):
    X = np.zeros((3, 2))
    with pytest.raises(ValueError) as info:
        fit_classifier(X, np.array(y), make_train_config("digits-softmax"), num_classes=10)
    assert str(info.value) == message


def test_a_single_class_is_refused():
    with pytest.raises(ValueError, match=r"^y holds a single class \(4\); classification needs at least two$"):
        fit_classifier(np.zeros((3, 2)), np.array([4, 4, 4]), make_train_config("digits-softmax"))


def exact_line(n=200):
    """Rows of y = 3·x1 − 2·x2 + 5, without noise, on features of different units."""
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (n, 2)) * [1.0, 100.0] + [0.0, 50.0]
    return X, X @ [3.0, -2.0] + 5.0


@pytest.mark.parametrize("standardize", [False, True], ids=["raw", "standardized"])
def test_predict_and_to_dict_speak_the_features_original_units(standardize):
    X, y = exact_line()
    config = make_train_config(impl="fast", epochs=40, lr=0.5 if standardize else 1e-5)
    fit = fit_arrays(X, y, config, feature_names=["a", "b"], seed=3, standardize=standardize)
    # predict(X) is what the coefficients say in the units of X, standardized during training or not
    np.testing.assert_allclose(fit.predict(X), X @ fit.w + fit.b, rtol=1e-12, atol=1e-9)
    record = fit.to_dict()
    assert json.loads(json.dumps(record)) == record  # `linearnet train --json` prints it as it is
    assert record == {
        "history": fit.history.as_records(),
        "features": ["a", "b"],
        "w": fit.w,
        "b": fit.b,
        "seconds": fit.history.seconds,
        "rows_per_second": fit.history.rows_per_second,
        "impl": "fast",
        "seed": 3,
        "standardize": standardize,
        "epochs_run": 40,
        "converged": None,  # no stopping rule: a fixed number of epochs
    }
    assert [r["epoch"] for r in record["history"]] == list(range(1, 41))
    if standardize:  # standardized, SGD gets to the line; raw, the rows' scales keep it far
        np.testing.assert_allclose(fit.predict(X), y, atol=1e-3)


@pytest.mark.parametrize(
    "X, y, kwargs, message",
    [
        (
            np.ones(4),
            np.ones(4),
            {},
            "X must be 2-D (n_examples, n_features), got shape (4,); use X.reshape(-1, 1) for one feature",
        ),
        (np.ones((4, 2)), np.ones(3), {}, "y must have shape (4,) to match X's rows, got (3,)"),
        (np.ones((4, 2)), np.ones((4, 2)), {}, "y must have shape (4,) to match X's rows, got (4, 2)"),
        (np.ones((0, 2)), np.ones(0), {}, "X must have at least one row, got 0"),
        (np.array([[1.0, np.nan], [2, 3]]), np.ones(2), {}, "features must be finite; found NaN or inf"),
        (np.ones((2, 2)), np.array([1.0, -np.inf]), {}, "labels must be finite; found NaN or inf"),
        (
            np.ones((2, 2)),
            np.array([1.0, 1e20]),
            {},
            "labels hold values up to 1e+20, too large for float32 training (at most 1.84e+19); "
            "rescale them, or use solve",
        ),
        (np.ones((2, 2)), np.ones(2), {"feature_names": ["a"]}, "feature_names has 1 names but X has 2 columns"),
    ],
)
def test_fit_arrays_refuses_bad_arrays(X, y, kwargs, message):
    with pytest.raises(ValueError) as info:
        fit_arrays(X, y, make_train_config(epochs=1), **kwargs)
    assert str(info.value) == message


def test_a_column_vector_y_is_taken_as_the_labels():
    X, y = exact_line(50)
    config = make_train_config(impl="fast", epochs=2, lr=1e-5)
    column, flat = fit_arrays(X, y.reshape(-1, 1), config), fit_arrays(X, y, config)
    assert column.w == flat.w and column.b == flat.b


def labelled(n=60, seed=0):
    """Two well separated classes in two features."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return rng.standard_normal((n, 2)) * 0.3 + np.where(y[:, None] == 1, 2.0, -2.0), y


def test_fit_classifier_without_test_data():
    X, y = labelled()
    fit = fit_classifier(X, y, make_train_config("digits-softmax", epochs=3), classes=["no", "yes"], seed=1)
    assert fit.history.test_acc == [] and fit.history.train_acc[-1] == 1.0
    assert fit.to_dict()["test_acc"] is None and fit.to_model().training["test_acc"] is None
    assert fit.classes == ["no", "yes"] and fit.feature_names == ["x1", "x2"]
    assert fit.to_model().predict(X) == [["no", "yes"][k] for k in y]


def test_whole_numbers_stored_as_floats_are_class_numbers():
    """Labels read from a file arrive as floats: 0.0 and 1.0 train exactly as 0 and 1 do."""
    X, y = labelled()
    config = make_train_config("digits-softmax", epochs=2)
    as_floats = fit_classifier(X, y.astype(np.float64), config, X_test=X, y_test=y.astype(np.float32))
    as_ints = fit_classifier(X, y, config, X_test=X, y_test=y)
    assert as_floats.W == as_ints.W and as_floats.b == as_ints.b and as_floats.classes == ["0", "1"]
    assert as_floats.history.test_acc == as_ints.history.test_acc


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(config=make_train_config()),
            "fit_classifier needs a softmax config (model='softmax'), got model='linear'",
        ),
        (dict(X=np.zeros((0, 2)), y=np.zeros(0)), "y has no labels"),
        (dict(X_test=np.zeros((0, 2)), y_test=np.zeros(0, dtype=np.int64)), "y_test has no labels"),
        (dict(X_test=np.zeros((2, 3)), y_test=np.array([0, 1])), "X_test has 3 features but X has 2"),
        (
            dict(X_test=np.zeros((2, 2)), y_test=np.array([0, 2])),
            "y_test has class 2 but the model has 2 classes (0..1)",
        ),
    ],
)
def test_fit_classifier_refuses(kwargs, message):
    X, y = labelled(8)
    args = dict(X=X, y=y, config=make_train_config("digits-softmax", epochs=1)) | kwargs
    with pytest.raises(ValueError) as info:
        fit_classifier(args.pop("X"), args.pop("y"), args.pop("config"), **args)
    assert str(info.value) == message


def test_fit_classifier_refuses_features_too_large_for_float32_training():
    X = np.array([[1e25, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError) as info:
        fit_classifier(X, [0, 1, 0, 1], make_train_config("digits-softmax", epochs=1))
    assert str(info.value) == (
        "features hold values up to 1e+25, too large for float32 training (at most 1.84e+19); "
        "rescale them, or use solve"
    )


def _noisy_file(tmp_path, n=20_000, scale=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)):
    """A CSV of y = 4.2 + 2a − 3.4b + 0.5c + N(0, 0.1²) and its arrays."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 3)) * scale + offset
    y = X @ [2.0, -3.4, 0.5] + 4.2 + 0.1 * rng.standard_normal(n)
    path = tmp_path / "noisy.csv"
    path.write_text(
        "a,b,c,y\n" + "".join(f"{a!r},{b!r},{c!r},{t!r}\n" for (a, b, c), t in zip(X.tolist(), y.tolist(), strict=True))
    )
    return path, X, y


@pytest.mark.parametrize("impl", ["fast", "concise"])
def test_streaming_sgd_reaches_the_loss_floor_and_fit_of_sgd_in_memory_and_of_solve(tmp_path, impl):
    from linearnet.tables import read_table, table_chunks
    from linearnet.training import fit_chunks

    path, X, y = _noisy_file(tmp_path)
    config = make_train_config(impl=impl, epochs=3, lr=0.03, batch_size=10)
    chunks, names = table_chunks(path, target="y", chunk_rows=1000)
    streamed = fit_chunks(chunks, config, feature_names=names, seed=3, buffer_rows=2000)
    table = read_table(path, target="y")
    in_memory = fit_arrays(table.features, table.target, config, feature_names=names, seed=3)
    exact = solve(X, y)
    floor = 0.1**2 / 2  # the half squared loss of the noise alone
    assert streamed.n == in_memory.n == 20_000 and streamed.feature_names == ["a", "b", "c"]
    assert streamed.history.losses != in_memory.history.losses  # another order of rows, another trajectory
    for fit in (streamed, in_memory):
        assert fit.history.losses[-1] == pytest.approx(floor, rel=0.1)
        # SGD at lr 0.03, batch 10 jitters about the optimum by about sqrt(lr·σ²/batch) ≈ 0.006
        np.testing.assert_allclose(fit.w, exact.coef, atol=0.02)
        assert fit.b == pytest.approx(exact.intercept, abs=0.02)
    assert streamed.history.losses[-1] == pytest.approx(in_memory.history.losses[-1], rel=0.1)


def test_streaming_sgd_standardizes_with_the_whole_file_moments_and_reports_original_units(tmp_path):
    from linearnet.tables import table_chunks
    from linearnet.training import fit_chunks

    path, X, y = _noisy_file(tmp_path, scale=(300.0, 0.01, 1.0), offset=(1000.0, 5.0, -2.0))
    chunks, names = table_chunks(path, target="y", chunk_rows=1000)
    config = make_train_config(impl="fast", epochs=4, lr=0.03, batch_size=10)
    streamed = fit_chunks(chunks, config, feature_names=names, seed=0, standardize=True, buffer_rows=2000)
    np.testing.assert_allclose(streamed.standardization["mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(streamed.standardization["scale"], X.std(axis=0), rtol=1e-12)
    exact = solve(X, y)
    np.testing.assert_allclose(np.asarray(streamed.w) * X.std(axis=0), exact.coef * X.std(axis=0), atol=0.02)
    assert streamed.to_model().predict(X[:5]) == pytest.approx(exact.predict(X[:5]), abs=0.05)


def test_the_stopping_rule_waits_for_patience_epochs_without_relative_improvement():
    from linearnet.training import StoppingRule

    rule = StoppingRule(0.01, patience=2)
    assert [rule(x) for x in (10.0, 9.0, 8.95, 8.92, 8.0)] == [False, False, False, True, False]
    relative = StoppingRule(0.01, patience=2)  # a loss falling towards 0 by halves improves 50% each time
    assert not any(relative(x) for x in (1e-3, 5e-4, 2.5e-4, 1.25e-4))
    nats = StoppingRule(0.01, patience=2, floor=1.0)  # cross-entropy: improvements below 0.01 nat are no progress
    assert [nats(x) for x in (1e-3, 5e-4, 2.5e-4)] == [False, False, True]
    assert not any(StoppingRule(None)(x) for x in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0))


def test_a_classifier_trained_standardized_reports_weights_in_the_features_units():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2)) * [1000.0, 0.001] + [5000.0, 2.0]
    y = ((X[:, 0] - 5000) / 1000 + (X[:, 1] - 2) / 0.001 > 0).astype(int)
    config = make_train_config("digits-softmax", impl="concise", epochs=30, lr=0.5)
    fit = fit_classifier(X, y, config, seed=0, standardize=True)
    scores = X @ np.asarray(fit.W) + np.asarray(fit.b)  # the weights apply to X as it is
    assert (scores.argmax(axis=1) == y).mean() > 0.95
    np.testing.assert_allclose(fit.predict_proba(X).argmax(axis=1), scores.argmax(axis=1))


def test_early_stopping_holds_out_the_same_rows_for_the_same_seed_and_stops_on_them():
    from linearnet.training import StoppingRule, held_out_rows

    kept, held = held_out_rows(200, 0.1, seed=3)
    assert len(held) == 20 and sorted([*kept, *held]) == list(range(200))
    assert held.tolist() == held_out_rows(200, 0.1, seed=3)[1].tolist() != held_out_rows(200, 0.1, seed=4)[1].tolist()
    X, y = exact_line()
    config = make_train_config(impl="fast", epochs=300, lr=0.1)
    fit = fit_arrays(X, y, config, seed=3, standardize=True, stopping=StoppingRule(1e-4), validation_fraction=0.1)
    assert fit.n == 180 and fit.converged is True and len(fit.history.val_loss) == len(fit.history.losses) < 300
    with pytest.raises(ValueError, match="validation_fraction must be between 0 and 1, got 0"):
        held_out_rows(10, 0.0, seed=0)


def test_a_class_only_among_the_rows_held_out_is_still_a_class():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.array([0, 1] * 9 + [0, 2])
    config = make_train_config("digits-softmax", epochs=2)
    for seed in range(5):  # some seeds hold class 2's only row out
        fit = fit_classifier(X, y, config, validation_fraction=0.1, seed=seed)
        assert fit.classes == ["0", "1", "2"] and len(fit.b) == 3


def test_too_few_rows_to_hold_some_out_is_said_in_rows():
    from linearnet.training import held_out_rows

    with pytest.raises(ValueError, match=r"^200 rows are too few to hold 0.999 of them out for early stopping$"):
        held_out_rows(200, 0.999, seed=0)
