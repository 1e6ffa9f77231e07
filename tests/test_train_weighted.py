"""SGD with weighted rows (fit_arrays, fit_classifier, the scikit-learn faces): each row's loss times its weight,
as scikit-learn's SGDRegressor takes sample_weight; weights of 1 follow today's trajectory bit for bit."""

import numpy as np
import pytest
import statsmodels.api as sm

from linearnet.leastsq import solve
from linearnet.presets import make_train_config
from linearnet.sklearn import LinearRegression, SGDRegressor, SoftmaxRegression
from linearnet.training import fit_arrays, fit_classifier


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, 2.0, 3.0] + 1.0 + rng.normal(size=n)
    w = rng.uniform(0, 3, size=n)
    w[:5] = 0
    return X, y, w


def classes(n=300):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 0] > 1)
    return X, y, rng.uniform(0.5, 2, size=n)


@pytest.mark.parametrize("impl", ["scratch", "concise", "fast"])
def test_weights_of_one_follow_the_unweighted_trajectory_bit_for_bit(impl):
    X, y, _ = data()
    config = make_train_config(None, impl=impl, lr=0.03, batch_size=10, epochs=3)
    plain, weighted = fit_arrays(X, y, config, seed=1), fit_arrays(X, y, config, seed=1, weights=np.ones(len(y)))
    assert weighted.history.losses == plain.history.losses
    assert (weighted.w, weighted.b) == (plain.w, plain.b)
    softmax = make_train_config(None, model="softmax", loss="cross_entropy", impl=impl, lr=0.1, epochs=3)
    Xc, yc, _ = classes()
    a, b = fit_classifier(Xc, yc, softmax, seed=2), fit_classifier(Xc, yc, softmax, seed=2, weights=np.ones(len(yc)))
    assert (a.history.losses, a.W, a.b) == (b.history.losses, b.W, b.b)


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_a_weight_of_two_everywhere_is_a_learning_rate_twice_as_large(impl):
    X, y, _ = data()
    config = make_train_config(None, impl=impl, lr=0.01, batch_size=10, epochs=3)
    doubled = make_train_config(None, impl=impl, lr=0.02, batch_size=10, epochs=3)
    weighted, ref = fit_arrays(X, y, config, seed=1, weights=np.full(len(y), 2.0)), fit_arrays(X, y, doubled, seed=1)
    assert (weighted.w, weighted.b) == (ref.w, ref.b)
    assert weighted.history.losses == [2 * loss for loss in ref.history.losses]  # Σ w·½(ŷ − y)² / n


def test_weighted_sgd_lands_on_the_weighted_least_squares_fit():
    X, y, w = data()
    fit = fit_arrays(X, y, seed=0, standardize=True, weights=w)
    exact = solve(X, y, weights=w)
    assert fit.config.impl == "scratch"  # the library's engine for weighted rows
    np.testing.assert_allclose(fit.w, exact.coef, atol=0.05)
    assert fit.b == pytest.approx(exact.intercept, abs=0.05)
    assert fit.history.losses[-1] == pytest.approx(0.5 * exact.ssr / len(y), rel=0.01)  # Σ w·½e² / n at best


def test_the_fast_engine_weights_the_rows_as_scratch_does():
    X, y, w = data()
    runs = {
        impl: fit_arrays(X, y, make_train_config(None, impl=impl, lr=0.02, batch_size=8, epochs=4), seed=3, weights=w)
        for impl in ("scratch", "concise", "fast")
    }
    for impl in ("concise", "fast"):
        np.testing.assert_allclose(runs[impl].history.losses, runs["scratch"].history.losses, rtol=1e-4)
        np.testing.assert_allclose(runs[impl].w, runs["scratch"].w, atol=1e-5)
    unweighted = fit_arrays(X, y, make_train_config(None, impl="fast", lr=0.02, batch_size=8, epochs=4), seed=3)
    assert not np.allclose(unweighted.w, runs["fast"].w, atol=1e-3)


def test_the_fast_softmax_engine_is_refused_for_weighted_rows_rather_than_ignoring_them():
    X, y, w = classes()
    config = make_train_config(None, model="softmax", loss="cross_entropy", impl="fast")
    with pytest.raises(
        ValueError, match=r"the fast engine does not weight the rows of softmax regression; .*'scratch'"
    ):
        fit_classifier(X, y, config, weights=w)
    with pytest.raises(ValueError, match="does not weight the rows"):
        SoftmaxRegression(impl="fast").fit(X, y, sample_weight=w)
    assert fit_classifier(X, y, seed=0, weights=w).config.impl == "scratch"  # the library's choice for them


@pytest.mark.parametrize(
    "bad, match",
    [
        (-1.0, r"weights, row 3: -1 is negative; weights must be finite numbers >= 0"),
        (np.nan, r"row 3: nan is missing"),
    ],
)
def test_bad_weights_are_refused_by_their_row(bad, match):
    X, y, w = data()
    w[2] = bad
    with pytest.raises(ValueError, match=match):
        fit_arrays(X, y, weights=w)
    with pytest.raises(ValueError, match="every one of the 400 weights is zero"):
        fit_arrays(X, y, weights=np.zeros(len(y)))


def test_linear_regression_sample_weight_is_statsmodels_wls():
    X, y, w = data()
    model = LinearRegression().fit(X, y, sample_weight=w)
    keep = w > 0
    ref = sm.WLS(y[keep], sm.add_constant(X[keep]), weights=w[keep]).fit()
    np.testing.assert_allclose(model.coef_, ref.params[1:], rtol=1e-12)
    np.testing.assert_allclose(model.bse_, ref.bse, rtol=1e-12)
    assert model.rsquared_ == pytest.approx(ref.rsquared, rel=1e-12)
    assert model.result_.n == 395 and model.result_.zero_weights == 5
    assert model.score(X, y, sample_weight=w) == pytest.approx(ref.rsquared, rel=1e-9)  # the weighted R² again


def test_sgd_regressor_sample_weight_lands_near_the_weighted_fit():
    X, y, w = data()
    model = SGDRegressor(random_state=0).fit(X, y, sample_weight=w)
    exact = solve(X, y, weights=w)
    np.testing.assert_allclose(model.coef_, exact.coef, atol=0.05)
    assert model._settings.impl == "scratch"
    plain = SGDRegressor(random_state=0).fit(X, y)
    assert not np.allclose(plain.coef_, model.coef_, atol=1e-4)  # the weights were not ignored


def test_softmax_sample_weight_tilts_the_classes_toward_the_heavy_rows():
    X, y, _ = classes()
    w = np.where(y == 2, 20.0, 1.0)
    plain = SoftmaxRegression(random_state=0, max_epochs=50, tol=None).fit(X, y)
    heavy = SoftmaxRegression(random_state=0, max_epochs=50, tol=None).fit(X, y, sample_weight=w)
    assert heavy.predict_proba(X)[:, 2].mean() > plain.predict_proba(X)[:, 2].mean() + 0.05
