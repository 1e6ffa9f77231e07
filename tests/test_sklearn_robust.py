"""linearnet.sklearn.LinearRegression with robust standard errors (cov_type=, groups= as fit metadata)."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_leastsq_robust import heteroskedastic, robust_reference

from linearnet.leastsq import solve
from linearnet.sklearn import LinearRegression


@parametrize_with_checks(
    [LinearRegression(cov_type="HC3")],
    expected_failed_checks=lambda _: {  # 15 rows of 30 features: refused without allow_rank_deficient
        "check_sample_weight_equivalence_on_dense_data": "30 features and at most 30 rows: too few rows",
    },
)
def test_scikit_learn_estimator_checks_with_robust_errors(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
def test_robust_errors_are_statsmodels(cov_type):
    X, y, _ = heteroskedastic()
    model = LinearRegression(cov_type=cov_type).fit(X, y)
    ref = robust_reference(X, y, cov_type)
    np.testing.assert_allclose(model.bse_, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(model.pvalues_, ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(model.conf_int(), ref.conf_int(), rtol=1e-9)
    assert model.result_.se_type == cov_type and model.summary().startswith(
        f"heteroskedasticity-consistent standard errors {cov_type}"
    )


def test_clusters_are_given_to_fit_as_groups():
    X, y, g = heteroskedastic()
    model = LinearRegression(cov_type="cluster").fit(X, y, groups=g)
    np.testing.assert_allclose(model.bse_, robust_reference(X, y, "cluster", groups=g).bse, rtol=1e-10)
    assert model.result_.clusters == 12
    with pytest.raises(ValueError, match="cov_type='cluster' needs groups"):
        LinearRegression(cov_type="cluster").fit(X, y)
    with pytest.raises(ValueError, match="groups are the clusters of cov_type='cluster'"):
        LinearRegression().fit(X, y, groups=g)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LinearRegression(cov_type="cluster").fit(X, y, groups=g[:-1])
    with pytest.raises(ValueError, match="cov_type must be one of"):
        LinearRegression(cov_type="hc3").fit(X, y)


def test_groups_are_routed_through_a_pipeline_and_cross_validation_as_metadata():
    X, y, g = heteroskedastic()
    with sklearn.config_context(enable_metadata_routing=True):
        model = LinearRegression(cov_type="cluster").set_fit_request(groups=True)
        pipe = make_pipeline(StandardScaler(), model).fit(X, y, groups=g)
        assert pipe[-1].result_.clusters == 12
        scaled = solve(StandardScaler().fit_transform(X), y, cov_type="cluster", groups=g)
        np.testing.assert_allclose(pipe[-1].bse_, scaled.bse, rtol=1e-12)
        # the splitter and the fit both take the groups
        scores = cross_validate(model, X, y, cv=GroupKFold(3), params={"groups": g})
        assert len(scores["test_score"]) == 3


def test_a_saved_model_keeps_which_errors_it_shows(tmp_path):
    X, y, g = heteroskedastic()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = LinearRegression(cov_type="cluster").fit(frame, y, groups=g)
    model.save(tmp_path / "m.json", target="y")
    back = LinearRegression.load(tmp_path / "m.json")
    assert back.result_.se_type == "cluster" and back.result_.clusters == 12
    np.testing.assert_array_equal(back.bse_, model.bse_)
    assert back.summary() == model.summary()
