"""linearnet.sklearn.LogisticRegression: scikit-learn's estimator checks, statsmodels' Logit and MNLogit and
scikit-learn's unpenalized LogisticRegression as references, labels, pandas, pipelines, model files."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from linearnet.sklearn import LogisticRegression, SeparationWarning


# The checks' blobs are separable: the fit warns (SeparationWarning, a ConvergenceWarning) and predicts all
# the same, as the checks allow; no check is expected to fail.
@parametrize_with_checks([LogisticRegression(), LogisticRegression(fit_intercept=False)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    return X, pd.Series(names[y], name="species")


@pytest.fixture(scope="module")
def iris2(iris):
    """Versicolor against virginica: overlapping, a finite optimum."""
    X, y = iris
    keep = (y != "setosa").to_numpy()
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def three():
    """A synthetic 3-class set with known coefficients (classes "a", "b", "c"), no separation."""
    rng = np.random.default_rng(7)
    n, d = 600, 3
    X = rng.normal(size=(n, d))
    B = np.array([[0.5, -1.0, 0.8], [1.2, 0.4, -0.6]])  # classes b, c against a
    eta = np.column_stack([np.zeros(n), X @ B.T + [0.3, -0.2]])
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    codes = np.array([rng.choice(3, p=row) for row in p])
    return pd.DataFrame(X, columns=["u", "v", "w"]), np.array(["a", "b", "c"])[codes]


def test_binary_matches_statsmodels_logit_on_iris(iris2):
    import statsmodels.api as sm

    X, y = iris2
    model = LogisticRegression().fit(X, y)
    ref = sm.Logit((y == "virginica").astype(float).to_numpy(), sm.add_constant(X.to_numpy())).fit(
        method="newton", tol=1e-10, maxiter=100, disp=0
    )
    assert model.classes_.tolist() == ["versicolor", "virginica"]
    assert model.coef_.shape == (1, 4) and model.intercept_.shape == (1,)
    np.testing.assert_allclose(np.r_[model.intercept_, model.coef_[0]], ref.params, rtol=1e-12)
    r = model.result_
    np.testing.assert_allclose(r.bse[:, 0], ref.bse, rtol=1e-10)
    np.testing.assert_allclose(r.llf, ref.llf, rtol=1e-12)
    assert model.converged_ and model.n_iter_.shape == (1,) and model.n_iter_[0] >= 1
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], ref.predict(), rtol=1e-10, atol=1e-14)


def test_multinomial_matches_statsmodels_mnlogit(three):
    import statsmodels.api as sm

    X, y = three
    model = LogisticRegression().fit(X, y)
    codes = np.searchsorted(["a", "b", "c"], y)
    ref = sm.MNLogit(codes, sm.add_constant(X.to_numpy())).fit(method="newton", tol=1e-10, maxiter=100, disp=0)
    assert model.coef_.shape == (3, 3) and model.intercept_.shape == (3,)
    np.testing.assert_array_equal(model.coef_[0], 0.0)  # the reference's row
    assert model.intercept_[0] == 0.0
    params = np.vstack([model.intercept_[1:], model.coef_[1:].T])  # (p, K-1), statsmodels' layout
    np.testing.assert_allclose(params, ref.params, rtol=1e-12)
    np.testing.assert_allclose(model.result_.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(model.result_.llf, ref.llf, rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict(), rtol=1e-10, atol=1e-14)


def test_reference_orders_the_result_not_the_probabilities(three):
    X, y = three
    first = LogisticRegression().fit(X, y)
    last = LogisticRegression(reference="c").fit(X, y)
    assert last.result_.reference == "c" and last.result_.others == ["a", "b"]
    np.testing.assert_array_equal(last.coef_[2], 0.0)
    np.testing.assert_allclose(last.predict_proba(X), first.predict_proba(X), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(last.coef_ - last.coef_[0], first.coef_, rtol=1e-9, atol=1e-12)


def test_binary_coef_is_of_the_second_class_whatever_the_reference(iris2):
    X, y = iris2
    a = LogisticRegression().fit(X, y)
    b = LogisticRegression(reference="virginica").fit(X, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-10)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=1e-10)
    np.testing.assert_allclose(b.result_.coef, -a.coef_, rtol=1e-10)


@pytest.mark.parametrize("data", ["iris2", "three"])
def test_probabilities_match_scikit_learn_unpenalized(data, request):
    X, y = request.getfixturevalue(data)
    ours = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # compare only where scikit-learn converges
        sk = SkLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_array_equal(sk.classes_, ours.classes_)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.predict_log_proba(X), sk.predict_log_proba(X), rtol=1e-5, atol=1e-6)
    z, zs = ours.decision_function(X), sk.decision_function(X)
    if z.ndim == 2:  # scikit-learn's rows sum to 0 over the classes, ours are 0 for the reference
        z, zs = z - z.mean(axis=1, keepdims=True), zs - zs.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(z, zs, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert ours.score(X, y) == sk.score(X, y)


def test_separated_classes_warn_and_still_predict(iris):
    X, y = iris
    with pytest.warns(SeparationWarning, match="no finite optimum: .*'setosa'"):
        model = LogisticRegression().fit(X, y)
    assert not model.converged_ and model.result_.separation
    assert np.isnan(model.result_.bse).all()
    assert "no finite optimum" in model.summary()
    assert model.score(X, y) > 0.97
    assert issubclass(SeparationWarning, UserWarning)


def test_any_labels(iris2):
    X, y = iris2
    flag = (y == "virginica").to_numpy()
    for labels in (flag, flag.astype(int) + 3, np.where(flag, "yes", "no")):
        model = LogisticRegression().fit(X, labels)
        np.testing.assert_array_equal(model.classes_, np.unique(labels))
        assert model.predict(X).dtype == np.asarray(labels).dtype
        assert model.score(X, labels) > 0.95
    for reference in (4, "4", np.int64(4)):  # a class by its value, or as text
        model = LogisticRegression(reference=reference).fit(X, flag.astype(int) + 3)
        assert model.result_.reference == "4" and model.result_.others == ["3"]


def test_pipeline_with_a_scaler(iris2):
    X, y = iris2
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    plain = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(X), plain.predict_proba(X), rtol=1e-9, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)  # some folds of 80 rows are separable
        assert cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5).mean() > 0.9


def test_pandas_feature_names_in_the_summary(iris2):
    X, y = iris2
    model = LogisticRegression().fit(X, y)
    assert model.feature_names_in_.tolist() == X.columns.tolist() and model.n_features_in_ == 4
    assert "petal width (cm)" in model.summary()
    assert model.result_.feature_names == X.columns.tolist()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"fit_intercept": "False"}, TypeError),
        ({"allow_rank_deficient": "True"}, TypeError),
        ({"max_iter": 0}, ValueError),
        ({"max_iter": 2.5}, TypeError),
        ({"reference": "setosa"}, ValueError),
    ],
)
def test_bad_parameters_are_refused_by_fit(iris2, params, error):
    X, y = iris2
    with pytest.raises(error, match=next(iter(params))):
        LogisticRegression(**params).fit(X, y)


def test_dependent_columns_refused_or_left_out(iris2):
    X, y = iris2
    X = X.assign(twice=2 * X["petal width (cm)"])
    with pytest.raises(ValueError, match="linearly dependent"):
        LogisticRegression().fit(X, y)
    with pytest.warns(UserWarning, match="twice"):
        model = LogisticRegression(allow_rank_deficient=True).fit(X, y)
    assert model.coef_[0, -1] == 0.0 and np.isnan(model.result_.params[-1, 0])
    plain = LogisticRegression().fit(X.drop(columns="twice"), y)
    np.testing.assert_allclose(model.predict_proba(X), plain.predict_proba(X.drop(columns="twice")), rtol=1e-10)


def test_max_iter_reached_warns(three):
    X, y = three
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = LogisticRegression(max_iter=1).fit(X, y)
    assert not model.converged_ and model.n_iter_[0] == 1


def test_summary_before_fit_says_so():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LogisticRegression().summary()


@pytest.mark.parametrize("reference", [None, "c"])
def test_saved_and_loaded(three, tmp_path, reference):
    X, y = three
    model = LogisticRegression(reference=reference).fit(X, y)
    model.save(tmp_path / "m.json", target="label")
    back = LogisticRegression.load(tmp_path / "m.json")
    np.testing.assert_array_equal(back.classes_, model.classes_)
    np.testing.assert_allclose(back.coef_, model.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X), rtol=1e-12)
    assert back.feature_names_in_.tolist() == ["u", "v", "w"]
    with pytest.raises(AttributeError, match="no statistics"):
        back.summary()


def test_saved_binary_model_predicts_through_the_model_file(iris2, tmp_path):
    from linearnet.modelfile import load_model

    X, y = iris2
    model = LogisticRegression().fit(X, y)
    model.save(tmp_path / "m.json")
    np.testing.assert_allclose(load_model(tmp_path / "m.json").predict_proba(X), model.predict_proba(X), rtol=1e-12)
    back = LogisticRegression.load(tmp_path / "m.json")
    np.testing.assert_allclose(back.coef_, model.coef_, rtol=1e-12)
