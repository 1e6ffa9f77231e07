"""linearnet.sklearn: scikit-learn's estimator checks, statsmodels and scikit-learn as references, model files
both ways through the CLI."""

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from linearnet import DivergedError
from linearnet.leastsq import solve
from linearnet.modelfile import load_model
from linearnet.sklearn import LinearRegression, SGDRegressor, SoftmaxRegression

from helpers import FLOWERS, HOUSES, cli, statsmodels_houses

FEATURES = ["area", "rooms", "age"]


@pytest.fixture(scope="module")
def houses():
    d = pd.read_csv(HOUSES)
    return d[FEATURES], d["price"]


@pytest.fixture(scope="module")
def flowers():
    d = pd.read_csv(FLOWERS)
    return d[["sepal", "petal"]], d["species"]


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks an estimator is known not to pass, and why; every other check (every sample_weight one
    among them) passes."""
    if isinstance(estimator, LinearRegression) and not estimator.allow_rank_deficient:
        return {  # 15 rows of 30 features: refused by default; with allow_rank_deficient=True it passes
            "check_sample_weight_equivalence_on_dense_data": "30 features and at most 30 rows: too few rows",
        }
    if isinstance(estimator, (SGDRegressor, SoftmaxRegression)):  # as for scikit-learn's own SGDRegressor
        return {"check_sample_weight_equivalence_on_dense_data": "SGD on repeated rows takes other steps"}
    return {}


# The checks' data sets are small; 200 epochs is what they need (every check passes with it, as with the
# default 1000) and keeps the checks to seconds. Where SGD stops at max_epochs it warns, as the checks allow.
@parametrize_with_checks(
    [
        LinearRegression(),
        LinearRegression(allow_rank_deficient=True),
        SGDRegressor(max_epochs=200),
        SoftmaxRegression(max_epochs=200),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --- LinearRegression ----------------------------------------------------------------------


def test_linear_regression_matches_statsmodels_ols_on_houses(houses):
    X, y = houses
    ref = statsmodels_houses()
    model = LinearRegression().fit(X, y)
    params = np.r_[model.intercept_, model.coef_]
    np.testing.assert_allclose(params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(model.bse_, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(model.tvalues_, ref.tvalues, rtol=1e-10)
    np.testing.assert_allclose(model.pvalues_, ref.pvalues, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(model.conf_int(), ref.conf_int(), rtol=1e-10)
    np.testing.assert_allclose(model.conf_int(alpha=0.1), ref.conf_int(alpha=0.1), rtol=1e-10)
    assert model.rsquared_ == pytest.approx(ref.rsquared, rel=1e-10)
    assert model.rsquared_adj_ == pytest.approx(ref.rsquared_adj, rel=1e-10)
    assert model.sigma_ == pytest.approx(np.sqrt(ref.scale), rel=1e-10)
    np.testing.assert_allclose(model.predict(X), ref.fittedvalues, rtol=1e-10)
    assert list(model.feature_names_in_) == FEATURES and model.n_features_in_ == 3


def test_linear_regression_without_intercept_matches_statsmodels(houses, tmp_path):
    import statsmodels.api as sm

    X, y = houses
    ref = sm.OLS(y, X).fit()
    model = LinearRegression(fit_intercept=False).fit(X.to_numpy(), y.to_numpy())
    assert model.intercept_ == 0.0
    np.testing.assert_allclose(model.coef_, ref.params, rtol=1e-10)
    np.testing.assert_allclose(model.bse_, ref.bse, rtol=1e-10)
    assert not hasattr(model, "feature_names_in_")
    model.save(tmp_path / "m.json")  # columns without names are x1, x2, x3 in the file, and none again here
    loaded = LinearRegression.load(tmp_path / "m.json")
    assert not hasattr(loaded, "feature_names_in_") and loaded.n_features_in_ == 3 and not loaded.fit_intercept
    np.testing.assert_allclose(loaded.bse_, ref.bse, rtol=1e-12)


def test_summary_is_the_table_linearnet_solve_prints(houses, capsys):
    X, y = houses
    summary = LinearRegression().fit(X, y).summary()
    assert summary == solve(X, y).summary()
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price")
    assert code == 0 and summary in out


def test_linear_regression_refuses_too_few_rows_and_bad_alpha(houses):
    X, y = houses
    with pytest.raises(ValueError, match="at least 4 samples for 3 features and an intercept, got 2 samples"):
        LinearRegression().fit(X[:2], y[:2])
    with pytest.raises(ValueError, match="alpha must be below 1"):
        LinearRegression().fit(X, y).conf_int(alpha=1.5)


# --- SGDRegressor --------------------------------------------------------------------------


def test_sgd_regressor_with_defaults_lands_within_a_standard_error_of_the_exact_solve(houses):
    X, y = houses
    exact = LinearRegression().fit(X, y)
    sgd = SGDRegressor(random_state=0).fit(X, y)
    assert sgd.converged_ and sgd.n_iter_ < sgd.max_epochs
    params = np.r_[sgd.intercept_, sgd.coef_]
    exact_params = np.r_[exact.intercept_, exact.coef_]
    assert np.all(np.abs(params - exact_params) < exact.bse_), (params, exact_params)
    assert sgd.score(X, y) == pytest.approx(exact.score(X, y), abs=1e-4)


def test_sgd_same_seed_same_fit_and_every_engine_follows_it(houses):
    X, y = houses
    a = SGDRegressor(random_state=3, max_epochs=20, tol=None).fit(X, y)
    b = SGDRegressor(random_state=3, max_epochs=20, tol=None).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    for impl in ("concise", "fast"):
        other = SGDRegressor(random_state=3, max_epochs=20, tol=None, impl=impl).fit(X, y)
        np.testing.assert_allclose(other.coef_, a.coef_, rtol=1e-4)


def test_sgd_stops_by_the_rule_and_warns_when_max_epochs_comes_first(houses):
    X, y = houses
    with pytest.warns(ConvergenceWarning, match="stopped at max_epochs=3"):
        short = SGDRegressor(random_state=0, max_epochs=3).fit(X, y)
    assert short.n_iter_ == 3 and not short.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no tol, no rule to miss
        unbounded = SGDRegressor(random_state=0, max_epochs=30, tol=None).fit(X, y)
    assert unbounded.n_iter_ == 30 and not unbounded.converged_
    stopped = SGDRegressor(random_state=0, tol=1e-2, n_iter_no_change=2).fit(X, y)
    assert stopped.converged_ and stopped.n_iter_ == _first_stop(stopped.loss_curve_, 1e-2, 2) < 1000


def _first_stop(curve, tol, patience):
    """The epoch scikit-learn's rule stops at: the loss fails to beat its best by tol·|best| ``patience`` times."""
    best, stale = float("inf"), 0
    for epoch, loss in enumerate(curve, start=1):
        stale = stale + 1 if best < float("inf") and loss > best - tol * abs(best) else 0
        best = min(best, loss)
        if stale >= patience:
            return epoch
    return None


def test_early_stopping_judges_on_held_out_rows(houses, tmp_path):
    X, y = houses
    model = SGDRegressor(random_state=0, early_stopping=True, validation_fraction=0.2).fit(X, y)
    assert model.converged_
    model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").training["n"] == 160  # trained on the 80% not held out
    with pytest.raises(ValueError, match="leaves none to train on"):
        SGDRegressor(early_stopping=True, validation_fraction=0.9).fit(X[:1], y[:1])


def test_partial_fit_is_one_epoch_that_keeps_the_parameters(houses):
    X, y = houses
    # a small rate and large batches, whose noise stays below the gains of 100 epochs at a time
    one = SGDRegressor(random_state=0, lr=0.01, batch_size=32).partial_fit(X, y)
    epoch = SGDRegressor(random_state=0, lr=0.01, batch_size=32, max_epochs=1, tol=None).fit(X, y)
    np.testing.assert_array_equal(one.coef_, epoch.coef_)
    assert one.n_iter_ == 1
    scores = [one.score(X, y)]
    for _ in range(3):
        for _ in range(100):
            one.partial_fit(X, y)
        scores.append(one.score(X, y))
    assert scores == sorted(scores) and scores[-1] == pytest.approx(LinearRegression().fit(X, y).score(X, y), abs=1e-3)
    with pytest.raises(ValueError, match="features"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fitted with names, given none: warned before refused
        one.partial_fit(X.to_numpy()[:, :2], y)


def test_a_rate_too_large_diverges_with_the_loops_message(houses):
    X, y = houses
    with pytest.raises(DivergedError, match="the learning rate 100 is too large for these data; try a smaller one"):
        SGDRegressor(lr=100, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"lr": -1}, "lr must be > 0"),
        ({"impl": "gpu"}, "impl must be one of scratch, concise, fast"),
        ({"loss": "cross_entropy"}, "use SoftmaxRegression"),
        ({"max_epochs": 0}, "max_epochs must be a whole number >= 1"),
        ({"tol": -1}, "tol must be >= 0"),
        ({"validation_fraction": 1.0}, "validation_fraction must be below 1"),
    ],
)
def test_bad_settings_are_refused_by_fit_with_their_name(houses, settings, match):
    X, y = houses
    model = SGDRegressor(**settings)  # stored, not checked: scikit-learn's convention
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(X, y)


# --- SoftmaxRegression ---------------------------------------------------------------------


def test_softmax_accuracy_is_within_002_of_logistic_regression_on_flowers(flowers):
    X, y = flowers
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    ours = SoftmaxRegression(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    ref = LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= ref - 0.02, (ours, ref)


@pytest.mark.parametrize("labels", [["cat", "dog", "emu"], [10, 20, 30], [-1, 1]])
def test_classes_of_any_type_come_back_as_given(flowers, labels):
    X, species = flowers
    codes = np.minimum(pd.factorize(species)[0], len(labels) - 1)  # two classes: setosa and the others
    y = np.asarray(labels)[codes]
    model = SoftmaxRegression(random_state=0, max_epochs=50, tol=None).fit(X, y)
    assert model.classes_.tolist() == sorted(labels)
    assert set(model.predict(X).tolist()) <= set(labels) and model.predict(X).dtype == y.dtype
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decision = model.decision_function(X)
    assert decision.shape == ((len(X),) if len(labels) == 2 else (len(X), len(labels)))
    assert model.score(X, y) > 0.7


def test_softmax_partial_fit_needs_the_classes_first(flowers):
    X, y = flowers
    model = SoftmaxRegression(random_state=0)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[:50], y[:50], classes=["setosa", "versicolor", "virginica"])
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"] and model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="holds the class 'lily', not among the classes"):
        model.partial_fit(X[:2], ["lily", "setosa"])
    with pytest.raises(ValueError, match="differ from those of the first call"):
        model.partial_fit(X[:2], ["setosa", "setosa"], classes=["setosa", "lily"])


def test_labels_too_large_for_float32_training_are_refused(houses):
    X, y = houses
    with pytest.raises(ValueError, match=r"y holds values up to 7.061e\+30, too large for float32 training"):
        SGDRegressor().fit(X, y * 1e28)


def test_one_class_is_refused(flowers):
    X, _ = flowers
    with pytest.raises(ValueError, match="needs at least two classes, got 1 class"):
        SoftmaxRegression().fit(X, ["setosa"] * len(X))


# --- scikit-learn's tools ------------------------------------------------------------------


def test_estimators_work_in_a_pipeline(houses, flowers):
    X, y = houses
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), LinearRegression().fit(X, y).predict(X), rtol=1e-10)
    Xf, species = flowers
    clf = make_pipeline(StandardScaler(), SoftmaxRegression(random_state=0, standardize=False)).fit(Xf, species)
    assert clf.score(Xf, species) > 0.9


def test_grid_search_picks_a_learning_rate(houses):
    X, y = houses
    search = GridSearchCV(SGDRegressor(random_state=0, max_epochs=30, tol=None), {"lr": [1e-4, 0.03]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"lr": 0.03}  # 30 epochs at 1e-4 leave the weights near their start


def test_cross_val_score_of_softmax_regression(flowers):
    X, y = flowers
    scores = cross_val_score(SoftmaxRegression(random_state=0, max_epochs=100, tol=None), X, y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.85


# --- model files, both ways ----------------------------------------------------------------


def _predicted(out: str) -> np.ndarray:
    lines = out.splitlines()
    return np.array([float(v) for v in lines[1:]])


@pytest.mark.parametrize(
    "estimator",
    [
        LinearRegression(),
        SGDRegressor(random_state=0),
        SGDRegressor(random_state=0, lr=np.float32(0.01), batch_size=np.int64(16), max_epochs=np.int64(20), tol=None),
    ],
)  # settings given as NumPy numbers (a grid from np.arange) are written as JSON numbers
def test_a_regressor_saved_in_python_is_used_by_linearnet_predict(houses, tmp_path, capsys, estimator):
    X, y = houses
    model = estimator.fit(X, y)
    model.save(tmp_path / "m.json", target="price")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", HOUSES)
    assert code == 0, err
    assert out.splitlines()[0] == "price_predicted"
    np.testing.assert_allclose(_predicted(out), model.predict(X), rtol=1e-12)
    again = type(model).load(tmp_path / "m.json")
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert list(again.feature_names_in_) == FEATURES


def test_a_solve_model_file_loads_with_its_statistics(houses, tmp_path, capsys):
    X, y = houses
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--out", tmp_path / "m.json")
    assert code == 0
    loaded = LinearRegression.load(tmp_path / "m.json")
    fitted = LinearRegression().fit(X, y)
    assert loaded.summary() == fitted.summary() and loaded.summary() in out
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-12)
    np.testing.assert_allclose(loaded.conf_int(alpha=0.1), fitted.conf_int(alpha=0.1), rtol=1e-12)
    sgd = SGDRegressor.load(tmp_path / "m.json")  # any linear model: partial_fit goes on from it
    np.testing.assert_allclose(sgd.predict(X), fitted.predict(X), rtol=1e-12)


def test_a_train_model_file_loads_and_predicts_as_linearnet_predict(flowers, tmp_path, capsys):
    X, _ = flowers
    path = tmp_path / "m.json"
    code, _, err = cli(
        capsys, "train", "--model", "softmax", "--data", FLOWERS, "--target", "species", "--epochs", "5", "--out", path
    )
    assert code == 0, err
    code, out, err = cli(capsys, "predict", "--model", path, FLOWERS)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    model = SoftmaxRegression.load(path)
    assert model.predict(X).tolist() == table["species_predicted"].tolist()
    np.testing.assert_allclose(model.predict_proba(X), table[[f"p_{c}" for c in model.classes_]], rtol=1e-12)


def test_a_softmax_model_saved_in_python_is_used_by_linearnet_predict(tmp_path, capsys, flowers):
    X, species = flowers
    y = pd.factorize(species, sort=True)[0] + 1  # int classes 1, 2, 3
    model = SoftmaxRegression(random_state=0, max_epochs=100, tol=None).fit(X, y)
    model.save(tmp_path / "m.json")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", FLOWERS)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert table["prediction"].tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(table[["p_1", "p_2", "p_3"]], model.predict_proba(X), rtol=1e-12)
    again = SoftmaxRegression.load(tmp_path / "m.json")
    assert again.classes_.tolist() == [1, 2, 3] and again.predict(X).tolist() == model.predict(X).tolist()


def test_loading_the_wrong_kind_of_model_is_refused(houses, tmp_path):
    X, y = houses
    LinearRegression().fit(X, y).save(tmp_path / "m.json")
    with pytest.raises(ValueError, match="holds a Model model; this estimator reads softmax_regression models"):
        SoftmaxRegression.load(tmp_path / "m.json")


def test_an_sgd_model_file_gives_linear_regression_its_coefficients_but_no_statistics(houses, tmp_path):
    X, y = houses
    sgd = SGDRegressor(random_state=0).fit(X, y)
    sgd.save(tmp_path / "m.json")
    loaded = LinearRegression.load(tmp_path / "m.json")
    np.testing.assert_allclose(loaded.predict(X), sgd.predict(X), rtol=1e-12)
    with pytest.raises(AttributeError, match="loaded from a model file without statistics"):
        loaded.summary()


def test_a_model_with_coded_text_columns_is_refused_by_load(tmp_path, capsys):
    data = tmp_path / "homes.csv"
    data.write_text("area,city,price\n50,Lyon,100\n60,Paris,150\n70,Lyon,140\n80,Paris,190\n90,Lyon,180\n")
    code, _, err = cli(capsys, "solve", data, "--formula", "price ~ area + C(city)", "--out", tmp_path / "m.json")
    assert code == 0, err
    with pytest.raises(ValueError, match=r"codes text columns or applies a formula.*use `linearnet predict`"):
        LinearRegression.load(tmp_path / "m.json")


# --- one set of defaults -------------------------------------------------------------------


def test_sgd_regressor_with_defaults_follows_linearnet_train_step_for_step(houses, capsys):
    # the library's defaults for a user's data serve both: the rate for standardized features
    # (min(0.03, 1/(d + 1))), the batch, the engine, the stopping rule, and the seed
    X, y = houses
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--json", "--no-compare-exact")
    assert code == 0, err
    cli_run = json.loads(out)
    sgd = SGDRegressor(random_state=0).fit(X, y)
    assert sgd.loss_curve_ == [r["loss"] for r in cli_run["history"]]
    assert sgd.n_iter_ == cli_run["epochs_run"] < 100 and sgd.converged_ and cli_run["converged"]
    assert sgd.coef_.tolist() == cli_run["w"] and sgd.intercept_ == cli_run["b"]
    assert (sgd._settings.lr, sgd._settings.batch_size, sgd._settings.impl) == (0.03, 10, "scratch")


def test_the_estimators_pick_the_engine_as_the_library_does():
    from linearnet.config import AUTO_FAST_DATA_VALUES

    rng = np.random.default_rng(0)
    n = AUTO_FAST_DATA_VALUES // 2
    X = rng.standard_normal((n, 2))
    y = X @ [1.0, -2.0] + 0.5 + 0.1 * rng.standard_normal(n)
    big = SGDRegressor(random_state=0, max_epochs=2, tol=None).fit(X, y)
    small = SGDRegressor(random_state=0, max_epochs=2, tol=None).fit(X[: n // 2], y[: n // 2])
    assert big._settings.impl == "fast" and small._settings.impl == "scratch"
    scratch = SGDRegressor(random_state=0, max_epochs=2, tol=None, impl="scratch").fit(X, y)
    np.testing.assert_allclose(big.loss_curve_, scratch.loss_curve_, rtol=1e-5)  # float32's rounding apart
    np.testing.assert_allclose(big.coef_, scratch.coef_, rtol=1e-5)


def test_partial_fit_keeps_the_engine_its_first_call_picked(houses):
    X, y = np.asarray(houses[0]), np.asarray(houses[1])
    big = np.tile(X, (20, 1)), np.tile(y, 20)  # 12,000 values: the fast engine, by the library's rule
    model = SGDRegressor(random_state=0).partial_fit(*big)
    first = model._settings.impl
    model.partial_fit(X[:5], y[:5])  # 15 values alone would get another engine
    assert first == "fast" and model._settings.impl == first


def test_too_few_samples_to_hold_some_out_is_said_in_scikit_learn_s_words():
    X, y = np.arange(4.0).reshape(2, 2), np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"of 2 samples leaves none to train on; give more rows or early_stopping"):
        SGDRegressor(early_stopping=True, validation_fraction=0.9).fit(X, y)
