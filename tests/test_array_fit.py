"""Training on arrays (linearnet.array_fit): fit_arrays against the analytic solution, fit_classifier's labels."""

import numpy as np
import pytest
import torch

from linearnet import fit_arrays, make_train_config, synthetic_data
from linearnet.array_fit import fit_classifier
from linearnet.leastsq import solve

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
