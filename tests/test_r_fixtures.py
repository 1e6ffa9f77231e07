"""The values R computes (tests/fixtures/r/, made by tests/r/make_fixtures.R): that they are well-formed,
hold together as R's own definitions say, agree with statsmodels where it computes the same thing, and
that what linearnet's solver computes today matches them for every unweighted case.

Tolerance rtol 1e-10 (10 significant digits): R (lm's Householder QR, LINPACK's dqrdc2) and linearnet
(a refined Cholesky/QR of the scaled design) each solve these well-conditioned designs (scaled condition
numbers 1 to 50) to about 1e-13 relative or better (measured: within 6e-15), so 1e-10 leaves room for
either's rounding while a wrong formula (a degree of freedom off by one moves σ̂ by percents) fails at once.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from linearnet.leastsq import solve

from r_cases import FIXTURES, carried, case, cases, columns, expected, fixture, names, table

RTOL = 1e-10
SE_TYPES = ["classical", "HC0", "HC1", "HC2", "HC3"]
UNWEIGHTED = names(where=lambda c: c["weights"] is None)
OLS_NAMES = {"loglik": "llf", "rss": "ssr"}  # OLSResult's names for R's statistics


def close(actual, desired, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(desired, dtype=float), rtol=rtol, atol=0)


# ---- well-formed ------------------------------------------------------------------------------------


def test_the_versions_that_made_them_are_recorded():
    doc = expected()
    assert doc["r_version"].startswith("R version ")
    assert set(doc["packages"]) >= {"sandwich", "lmtest"}
    assert len({c["name"] for c in cases()}) == len(cases()) >= 15


@pytest.mark.parametrize("name", names())
def test_each_case_is_well_formed(name):
    c = case(name)
    assert fixture(c["data"]).is_file()
    k = len(c["features"]) + c["intercept"]
    assert c["coefficients"]["names"][: int(c["intercept"])] == (["(Intercept)"] if c["intercept"] else [])
    assert c["coefficients"]["names"][int(c["intercept"]) :] == c["features"]
    assert len(c["coefficients"]["values"]) == k
    robust = SE_TYPES + (["CL"] if c["cluster"] else [])
    for field in ("se", "t", "p", "ci_lower", "ci_upper"):
        assert list(c[field]) == robust
        assert all(len(v) == k for v in c[field].values())
    assert list(c["wald"]) == robust[1:]
    assert c["n"] - c["df_resid"] == k
    assert c["df_loglik"] == k + 1  # σ counts as a parameter
    for p in c["predict"]:
        assert p["interval"] in ("confidence", "prediction") and p["level"] in (0.95, 0.9)
        assert fixture(p["newdata"]).is_file()
        assert len(p["fit"]) == len(p["lwr"]) == len(p["upr"])


@pytest.mark.parametrize("name", names())
def test_the_statistics_agree_with_each_other_as_r_defines_them(name):
    """t = β/se, p two-sided on the residual df, intervals β ± t₀.₉₇₅·se, AIC and BIC from logLik."""
    c = case(name)
    beta, df = np.array(c["coefficients"]["values"]), c["df_resid"]
    q = stats.t.ppf(0.975, df)
    for kind, se in c["se"].items():
        se = np.array(se)
        close(c["t"][kind], beta / se, 1e-12)
        close(c["p"][kind], 2 * stats.t.sf(np.abs(beta / se), df), 1e-9)
        close(c["ci_lower"][kind], beta - q * se, 1e-12)
        close(c["ci_upper"][kind], beta + q * se, 1e-12)
    close(c["aic"], -2 * c["loglik"] + 2 * c["df_loglik"], 1e-13)
    close(c["bic"], -2 * c["loglik"] + math.log(c["n"]) * c["df_loglik"], 1e-13)
    close(c["sigma"] ** 2 * df, c["rss"], 1e-12)
    if c["fstatistic"] is not None:  # the classical Wald F is summary's F
        w, f = c["wald_classical"], c["fstatistic"]
        close(w["F"], f["value"], 1e-9)
        assert (w["df_model"], w["df_resid"]) == (f["df_model"], f["df_resid"]) == (len(c["features"]), df)
        close(f["p"], stats.f.sf(f["value"], f["df_model"], f["df_resid"]), 1e-9)


def test_the_known_values_r_prints():
    """A few numbers as R's own printed output shows them (summary(lm(dist ~ speed, cars)) and
    plot(lm(dist ~ speed, cars)), which labels the cars 49, 23, 35 and 49, 23, 39)."""
    c = case("cars")
    close(c["coefficients"]["values"], [-17.5791, 3.9324], 1e-4)
    close(c["se"]["classical"], [6.7584, 0.4155], 1e-4)
    close([c["sigma"], c["r2"], c["fstatistic"]["value"]], [15.38, 0.6511, 89.57], 1e-3)
    labels = c["diagnostics"]["plot_labels"]
    assert labels["residuals_fitted"]["label"] == ["49", "23", "35"]
    assert labels["residuals_leverage"]["label"] == ["49", "23", "39"]
    assert labels["residuals_fitted"]["index"] == [48, 22, 34]


def test_rows_of_weight_zero_leave_n_and_the_residual_df():
    c, full = case("mtcars_weighted_zero"), case("mtcars_weighted")
    assert (c["n"], c["df_resid"]) == (30, 27) and (full["n"], full["df_resid"]) == (32, 29)
    assert len(c["diagnostics"]["hatvalues"]) == 30


def test_airquality_drops_the_rows_with_a_gap_and_predicts_none_for_one():
    c = case("airquality")
    assert c["n"] == 111 and len(c["rows_dropped"]) == 153 - 111
    assert table(c).num_rows == 111
    for p in c["predict"]:
        assert [v is None for v in p["fit"]] == [False, True, False, False]


def test_the_fixture_files_are_written_as_r_writes_them():
    mtcars = fixture("mtcars.csv").read_text().splitlines()
    assert mtcars[0].startswith('"","mpg",')  # row names: a first column without a name
    assert mtcars[1].startswith('"Mazda RX4",21,')
    assert "NA" in fixture("airquality.csv").read_text()
    assert json.loads(fixture("expected.json").read_text()) == expected()
    linear = (p.name for p in FIXTURES.glob("*.csv") if not p.name.startswith("logit-"))  # make_logit_fixtures.R's
    assert sorted(linear) == sorted(
        {c["data"] for c in cases()} | {p["newdata"] for c in cases() for p in c["predict"]}
    )


@pytest.mark.parametrize("name", names())
def test_every_column_a_case_names_is_read(name):
    c = case(name)
    t = table(c)
    assert t.feature_names == c["features"] and list(t.carried) == carried(c)
    zero_weights = int(np.sum(t.carried[c["weights"]] == 0)) if c["weights"] else 0
    assert t.num_rows - zero_weights == c["n"]  # lm leaves rows of weight 0 out of n
    as_features = table(c, features=columns(c)).features[:, len(c["features"]) :]  # the same values either way
    for i, name in enumerate(carried(c)):
        np.testing.assert_array_equal(as_features[:, i], t.carried[name])


# ---- linearnet's solver against R ------------------------------------------------------------------


@pytest.fixture(scope="module")
def fits():
    out = {}
    for c in cases(where=lambda c: c["weights"] is None):
        t = table(c)
        out[c["name"]] = solve(t.features, t.target, fit_intercept=c["intercept"], feature_names=t.feature_names)
    return out


@pytest.mark.parametrize("name", UNWEIGHTED)
def test_solve_matches_r(name, fits):
    c, fit = case(name), fits[name]
    close(fit.params, c["coefficients"]["values"])
    close(fit.bse, c["se"]["classical"])
    close(fit.tvalues, c["t"]["classical"])
    close(fit.conf_int[:, 0], c["ci_lower"]["classical"])
    close(fit.conf_int[:, 1], c["ci_upper"]["classical"])
    statistics = ("sigma", "r2", "adj_r2", "loglik", "aic", "bic", "rss")
    close([getattr(fit, OLS_NAMES.get(k, k)) for k in statistics], [c[k] for k in statistics])
    assert (fit.n, fit.df_resid) == (c["n"], c["df_resid"])
    f = c["fstatistic"]
    if f is None:
        assert fit.df_model == 0 and fit.f_statistic() is None
    else:
        assert (fit.df_model, fit.df_resid) == (f["df_model"], f["df_resid"])
        close([fit.fvalue, fit.f_pvalue], [f["value"], f["p"]])


# ---- statsmodels, an independent oracle, against the stored values ---------------------------------
# What statsmodels computes the same way: robust and cluster-robust covariances (cov_type "HC0".."HC3",
# "cluster", whose default correction is vcovCL's G/(G−1)·(n−1)/(n−k)), WLS, prediction intervals and the
# influence measures. It agrees with R to about 1e-12 (its pinv solve loses a few digits on mtcars,
# scaled condition number ~1e2 before its own scaling); 1e-10 checks the fixtures hold what R's
# definitions say, not one program's accidents.


def _statsmodels(c: dict):
    """statsmodels' model of the case on the rows R fitted (rows of weight 0 left out), its cluster groups."""
    t = table(c)
    X, y = t.features, t.target
    if c["intercept"]:
        X = sm.add_constant(X, has_constant="add")
    keep = np.ones(len(y), dtype=bool)
    if c["weights"]:
        w = t.carried[c["weights"]]
        keep = w != 0
        model = sm.WLS(y[keep], X[keep], weights=w[keep])
    else:
        model = sm.OLS(y, X)
    groups = t.carried[c["cluster"]][keep].astype(np.int64) if c["cluster"] else None
    return model, groups


@pytest.mark.parametrize("name", names())
def test_statsmodels_computes_the_same(name):
    c = case(name)
    model, groups = _statsmodels(c)
    fit = model.fit()
    close(fit.params, c["coefficients"]["values"])
    close([np.sqrt(fit.scale), fit.llf], [c["sigma"], c["loglik"]])
    assert fit.rsquared == pytest.approx(c["r2"], abs=1e-12)  # 0 for the intercept alone: 1 − RSS/TSS rounds
    close(fit.bse, c["se"]["classical"])
    for kind in SE_TYPES[1:]:
        close(model.fit(cov_type=kind).bse, c["se"][kind])
    if groups is not None:
        close(model.fit(cov_type="cluster", cov_kwds={"groups": groups}).bse, c["se"]["CL"])
    if "diagnostics" in c:
        influence = sm.OLS(model.wendog, model.wexog).fit().get_influence()  # R's: of √w·X, √w·y
        d = c["diagnostics"]
        close(influence.hat_matrix_diag, d["hatvalues"])
        close(influence.cooks_distance[0], d["cooks"])
        close(influence.resid_studentized_internal, d["rstandard"])


@pytest.mark.parametrize("name", names(where=lambda c: c["features"] != []))
def test_statsmodels_predicts_the_same_intervals(name):
    c = case(name)
    fit = _statsmodels(c)[0].fit()
    for p in c["predict"]:
        new = pd.read_csv(fixture(p["newdata"]))[c["features"]].to_numpy(dtype=float)
        rows = ~np.isnan(new).any(axis=1)
        X = np.column_stack([np.ones(len(new)), new]) if c["intercept"] else new
        frame = fit.get_prediction(X[rows], weights=1.0).summary_frame(alpha=1 - p["level"])
        kind = "mean" if p["interval"] == "confidence" else "obs"
        for got, stored in ((frame["mean"], p["fit"]), (frame[f"{kind}_ci_lower"], p["lwr"])):
            assert [v is None for v in stored] == list(~rows)
            close(got, [v for v in stored if v is not None])
        close(frame[f"{kind}_ci_upper"], [v for v in p["upr"] if v is not None])


@pytest.mark.parametrize("name", names(where=lambda c: "diagnostics" in c))
def test_plot_labels_are_the_largest_as_plot_lm_orders_them(name):
    d = case(name)["diagnostics"]

    def largest(values):  # sort.list(abs(x), decreasing = TRUE)[1:3]: ties keep row order
        return [int(i) for i in np.argsort(-np.abs(np.asarray(values, dtype=float)), kind="stable")[:3]]

    labels = d["plot_labels"]
    assert labels["residuals_fitted"]["index"] == largest(d["residuals"])
    assert labels["qq"]["index"] == labels["scale_location"]["index"] == largest(d["rstandard"])
    assert labels["cooks_distance"]["index"] == labels["cooks_leverage"]["index"] == largest(d["cooks"])
    if np.ptp(d["hatvalues"]) < 1e-10 * np.mean(d["hatvalues"]):  # plot.lm draws no panel 5 then
        assert labels["residuals_leverage"] is None
    else:
        assert labels["residuals_leverage"]["index"] == largest(d["cooks"])
    assert len(d["fitted"]) == len(d["hatvalues"]) == len(d["cooks"]) == len(d["rstandard"])


def test_the_loader_selects_cases_by_a_test_or_by_fields():
    assert names(where={"weights": None}) == UNWEIGHTED == names(where=lambda c: c["weights"] is None)
    assert names(where={"cluster": "cyl"}) == ["mtcars_cyl", "mtcars_weighted_cyl"]
    cases()[0]["n"] = -1  # a copy: the next caller sees R's value
    assert case("cars")["n"] == 50
    with pytest.raises(KeyError, match="no R case named 'car'"):
        case("car")
    with pytest.raises(FileNotFoundError, match=r"make_fixtures\.R"):
        fixture("nothing.csv")
