"""The statistics of R's ``plot(lm)`` (linearnet.diagnostics): leverages, standardized residuals and Cook's
distances against statsmodels' OLSInfluence, the rows R labels, the same in chunks, the sample drawn past a
size, and R's lowess (linearnet.lowess)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from cars import DIST, SPEED
from statsmodels.stats.outliers_influence import OLSInfluence

from linearnet.diagnostics import diagnostics, diagnostics_chunks, influence
from linearnet.leastsq import solve
from linearnet.lowess import lowess

DATA = Path(__file__).resolve().parent / "data"


def r_data(name, target):
    frame = pd.read_csv(DATA / f"{name}.csv", index_col=0)
    return frame.drop(columns=target).to_numpy(float), frame[target].to_numpy(float)


CASES = {
    "cars": lambda: (SPEED[:, None], DIST),
    "mtcars": lambda: r_data("mtcars", "mpg"),
    "swiss": lambda: r_data("swiss", "Fertility"),
    "LifeCycleSavings": lambda: r_data("LifeCycleSavings", "sr"),
}

# R: sort.list(abs(residuals(f)), decreasing = TRUE)[1:3], the same of rstandard(f), order(-cooks.distance(f))[1:3]
R_LABELS = {
    ("cars", True): ([49, 23, 35], [49, 23, 35], [49, 23, 39]),  # lm(dist ~ speed, cars)
    ("mtcars", True): ([18, 20, 17], [29, 18, 17], [29, 9, 17]),  # lm(mpg ~ ., mtcars)
    ("swiss", True): ([37, 47, 6], [37, 47, 6], [6, 37, 42]),  # lm(Fertility ~ ., swiss)
    ("swiss", False): ([37, 19, 3], [37, 19, 3], [19, 6, 37]),  # lm(Fertility ~ . - 1, swiss)
}


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("name", CASES)
def test_statistics_match_statsmodels(name, intercept):
    X, y = CASES[name]()
    fit = solve(X, y, fit_intercept=intercept)
    ours = influence(fit, X, y)
    ref = OLSInfluence(sm.OLS(y, sm.add_constant(X) if intercept else X).fit())
    np.testing.assert_allclose(ours["hat"], ref.hat_matrix_diag, rtol=1e-10)
    np.testing.assert_allclose(ours["std_resid"], ref.resid_studentized_internal, rtol=1e-10)
    np.testing.assert_allclose(ours["cooks"], ref.cooks_distance[0], rtol=1e-9)
    np.testing.assert_allclose(ours["resid"], ref.results.resid, rtol=1e-10, atol=1e-12 * np.abs(y).max())


@pytest.mark.parametrize("name, intercept", list(R_LABELS))
def test_the_rows_r_labels(name, intercept):
    X, y = CASES[name]()
    diag = diagnostics(solve(X, y, fit_intercept=intercept), X, y)
    resid, std_resid, cooks = R_LABELS[name, intercept]
    assert diag.labels == {"resid": resid, "std_resid": std_resid, "cooks": cooks}
    assert not diag.sampled and diag.notes == [] and list(diag.row) == list(range(1, len(y) + 1))


def test_the_q_q_panel_is_r_qqnorm():
    """Normal quantiles of ppoints(n) in the order of the standardized residuals (ties: rows 17 and 18 of cars,
    in row order as R: qqnorm(rstandard(lm(dist ~ speed, cars)))$x[17:18] is 0.1256..., 0.1763...), and R's qqline."""
    from scipy import stats

    X, y = CASES["cars"]()
    diag = diagnostics(solve(X, y), X, y)
    n = len(y)
    expected = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)[np.argsort(np.argsort(diag.std_resid, kind="stable"))]
    np.testing.assert_allclose(diag.theoretical, expected, rtol=1e-14)
    q = np.quantile(diag.std_resid, [0.25, 0.75])
    slope = (q[1] - q[0]) / (2 * stats.norm.ppf(0.75))
    assert diag.qq_line == pytest.approx((q[0] + slope * stats.norm.ppf(0.75), slope), rel=1e-12)


def _cut(X, y, size):
    return lambda: ((X[i : i + size], y[i : i + size]) for i in range(0, len(y), size))


@pytest.mark.parametrize("size", [1, 5, 7, 100])
def test_in_chunks_as_in_memory(size):
    X, y = CASES["mtcars"]()
    fit = solve(X, y)
    whole, chunked = diagnostics(fit, X, y), diagnostics_chunks(fit, _cut(X, y, size))
    assert chunked.labels == whole.labels and chunked.hat_range == pytest.approx(whole.hat_range, rel=1e-12)
    for name in ("row", "fitted", "resid", "hat", "std_resid", "cooks", "theoretical"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-10, atol=1e-13)


def test_past_the_size_a_sample_is_drawn_and_the_statistics_stay_exact():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.standard_t(3, size=2000)
    fit = solve(X, y)
    every = diagnostics(fit, X, y)
    sample = diagnostics(fit, X, y, max_points=300, seed=7)
    assert sample.sampled and 300 <= len(sample.row) <= 309 and sample.labels == every.labels
    assert sample.notes == [
        f"{len(sample.row):,} of 2,000 points drawn (a sample; the statistics and labelled rows are of every row)"
    ]
    labelled = {r for rows in every.labels.values() for r in rows}
    assert labelled <= set(sample.row.tolist())  # the labelled rows are always drawn
    at = sample.row - 1
    for name in ("fitted", "resid", "hat", "std_resid", "cooks", "theoretical"):  # Q–Q: ranks among every row
        np.testing.assert_allclose(getattr(sample, name), getattr(every, name)[at], rtol=1e-12)
    again = diagnostics_chunks(fit, _cut(X, y, 333), max_points=300, seed=7)  # the sample: of the seed alone
    np.testing.assert_array_equal(again.row, sample.row)
    np.testing.assert_allclose(again.theoretical, sample.theoretical, rtol=1e-12)
    other = diagnostics(fit, X, y, max_points=300, seed=8)
    assert not np.array_equal(other.row, sample.row)


def test_ties_are_ranked_in_row_order_in_a_sample():
    X = np.repeat(np.arange(20.0), 3)[:, None]
    y = X[:, 0] + np.tile([-1.0, 0.0, 1.0], 20)  # residuals -1, 0, 1 many times over
    fit = solve(X, y)
    every, sample = diagnostics(fit, X, y), diagnostics(fit, X, y, max_points=10, seed=1)
    np.testing.assert_allclose(sample.theoretical, every.theoretical[sample.row - 1], rtol=1e-12)


def test_rows_of_leverage_one_are_left_out_with_a_note():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=12), np.eye(12)[:, 4]])  # row 5 alone has the dummy: h = 1
    y = rng.normal(size=12)
    diag = diagnostics(solve(X, y), X, y)
    assert diag.leverage_one == [5] and diag.hat[4] == 1
    assert np.isnan(diag.std_resid[4]) and np.isnan(diag.cooks[4]) and np.isnan(diag.theoretical[4])
    assert 5 not in diag.labels["std_resid"] and 5 not in diag.labels["cooks"]
    assert diag.notes == ["not plotting 1 row of leverage one in the panels of standardized residuals (as R): 5"]
    assert np.isfinite(diag.theoretical[np.arange(12) != 4]).all()


def test_rows_given_label_the_points():
    X, y = CASES["cars"]()
    diag = diagnostics(solve(X, y), X, y, rows=np.arange(101, 151))
    assert diag.labels["resid"] == [149, 123, 135] and diag.row[0] == 101


def test_rows_that_are_not_those_fitted_are_refused():
    X, y = CASES["cars"]()
    with pytest.raises(ValueError, match="the data hold 49 rows, the fit 50"):
        diagnostics(solve(X, y), X[1:], y[1:])


def test_lowess_is_r_lowess():
    """R: g <- lm(dist ~ speed, cars); lowess(fitted(g), residuals(g))$y[c(1, 10, 25, 40, 50)]."""
    X, y = CASES["cars"]()
    fit = solve(X, y)
    x, smooth = lowess(fit.predict(X), y - fit.predict(X))
    r = [6.8149191312015756, -1.5481243109275302, -4.6493081547006501, -4.5778561990937172, 3.5975740092431092]
    np.testing.assert_allclose(smooth[[0, 9, 24, 39, 49]], r, rtol=1e-12)
    assert (np.diff(x) >= 0).all()


def test_lowess_follows_statsmodels_on_rough_data():
    from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess

    rng = np.random.default_rng(1)
    x = rng.uniform(size=400)
    y = np.sin(6 * x) + 0.3 * rng.normal(size=400)
    y[[5, 50]] = [10, -8]  # outliers the robustness steps weigh down
    _, ours = lowess(x, y)
    ref = sm_lowess(y, x, frac=2 / 3, it=3, delta=0.01 * np.ptp(x))[:, 1]
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert lowess([1.0], [2.0])[1].tolist() == [2.0]


def test_the_figure_has_r_s_four_panels(tmp_path):
    from linearnet.plot import plot_diagnostics, save_figure

    from helpers import assert_picture

    X, y = CASES["cars"]()
    fig = plot_diagnostics(diagnostics(solve(X, y), X, y), title="dist ~ speed")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Residuals vs Fitted", "Normal Q-Q", "Scale-Location", "Residuals vs Leverage"]
    shown = [t.get_text() for t in fig.axes[3].texts]
    assert {"49", "23", "39", "0.5"} <= set(shown)  # R's labels, and the contour 0.5 on the right
    save_figure(fig, tmp_path / "d.png")
    assert_picture(tmp_path / "d.png", size=(900, 900))


def test_a_weighted_fit_as_r_draws_it():
    """R: w <- 1/cars$speed; w[c(3, 10)] <- 0; f <- lm(dist ~ speed, cars, weights = w): hatvalues(f),
    rstandard(f), cooks.distance(f) of rows 1 and 27, plot(f)'s labels (rows of weight 0 left out) and
    qqnorm(rstandard(f))$x[1:3]. The fit from statsmodels' WLS, σ̂ on R's n − k = 48 − 2."""
    from types import SimpleNamespace

    w = 1 / SPEED
    w[[2, 9]] = 0
    ref = sm.WLS(DIST, sm.add_constant(SPEED), weights=w).fit()
    sigma = np.sqrt((w * ref.resid**2).sum() / 46)
    fit = SimpleNamespace(
        params=ref.params,
        normalized_cov_params=ref.normalized_cov_params,
        sigma=sigma,
        rank=2,
        n=48,
        fit_intercept=True,
    )
    diag = diagnostics(fit, SPEED[:, None], DIST, weights=w)
    assert diag.n == 48 and 3 not in diag.row and 10 not in diag.row
    at = [0, np.flatnonzero(diag.row == 27)[0]]
    np.testing.assert_allclose(diag.hat[at], [0.2528971928081654719, 0.0213271218760833006], rtol=1e-12)
    np.testing.assert_allclose(diag.std_resid[at], [-0.1375717935052696850, -0.8907037711838802219], rtol=1e-12)
    np.testing.assert_allclose(diag.cooks[at], [0.0032032618619213752, 0.0086443289356592408], rtol=1e-11)
    assert diag.labels == {"resid": [49, 23, 35], "std_resid": [23, 49, 35], "cooks": [2, 49, 23]}
    np.testing.assert_allclose(diag.theoretical[:3], [0.026113678815527654, 1.202508262925447768, 0.926537599255029987])
    chunked = diagnostics_chunks(
        fit, lambda: ((SPEED[i : i + 4, None], DIST[i : i + 4], w[i : i + 4]) for i in range(0, 50, 4))
    )
    assert chunked.labels == diag.labels and chunked.row.tolist() == diag.row.tolist()
    sampled = diagnostics(fit, SPEED[:, None], DIST, weights=w, max_points=20, seed=2)
    np.testing.assert_allclose(
        sampled.theoretical, diag.theoretical[np.searchsorted(diag.row, sampled.row)], rtol=1e-12
    )


def test_a_factor_of_the_covariance_gives_the_same_leverages():
    """A fit carrying F with (AᵀA)⁻¹ = F·Fᵀ: h = ‖Fᵀa‖², the same as from (AᵀA)⁻¹ itself."""
    from types import SimpleNamespace

    X, y = CASES["mtcars"]()
    fit = solve(X, y)
    factored = SimpleNamespace(**{k: getattr(fit, k) for k in ("params", "sigma", "rank", "n", "fit_intercept")})
    factored.cov_factor, factored.normalized_cov_params = np.linalg.cholesky(fit.normalized_cov_params), None
    for name, value in influence(factored, X, y).items():
        np.testing.assert_allclose(value, influence(fit, X, y)[name], rtol=1e-10, err_msg=name)


# --- against R: hatvalues, rstandard, cooks.distance and plot.lm's labels (tests/fixtures/r) -----------

R_PANELS = {
    "residuals_fitted": "resid",
    "qq": "std_resid",
    "scale_location": "std_resid",
    "residuals_leverage": "cooks",
}


def _r_fit(c):
    """The case's rows (and weights) and its fit: linearnet's solve, or for a weighted case statsmodels'
    WLS on the rows of weight > 0 (R's n and residual df)."""
    from types import SimpleNamespace

    from r_cases import table

    t = table(c)
    w = t.carried[c["weights"]] if c["weights"] else None
    if w is None:
        return t, None, solve(t.features, t.target, fit_intercept=c["intercept"], feature_names=t.feature_names)
    kept = w != 0
    A = np.column_stack([np.ones(len(w)), t.features]) if c["intercept"] else t.features
    ref = sm.WLS(t.target[kept], A[kept], weights=w[kept]).fit()
    fit = SimpleNamespace(
        params=ref.params,
        normalized_cov_params=ref.normalized_cov_params,
        sigma=np.sqrt(ref.scale),
        rank=A.shape[1],
        n=int(kept.sum()),
        fit_intercept=c["intercept"],
    )
    return t, w, fit


def _r_names(where=None):
    from r_cases import names

    return names(where=lambda c: "diagnostics" in c and (where is None or where(c)))


@pytest.mark.parametrize("name", _r_names())
def test_the_statistics_and_labels_are_r_s(name):
    from r_cases import case

    c = case(name)
    t, w, fit = _r_fit(c)
    d = c["diagnostics"]
    diag = diagnostics(fit, t.features, t.target, weights=w)
    assert diag.n == len(d["hatvalues"])
    for ours, r in (("fitted", "fitted"), ("resid", "residuals"), ("hat", "hatvalues"), ("std_resid", "rstandard")):
        np.testing.assert_allclose(getattr(diag, ours), d[r], rtol=1e-10, atol=1e-12, err_msg=ours)
    np.testing.assert_allclose(diag.cooks, d["cooks"], rtol=1e-9, atol=1e-15, err_msg="cooks")
    position = {int(row): i for i, row in enumerate(diag.row)}  # among the rows of the fit, as R's index
    for panel, ours in R_PANELS.items():
        r = d["plot_labels"][panel]
        if r is None:  # every leverage the same: R draws no panel 5
            assert diag.hat_range[1] - diag.hat_range[0] < 1e-10 * diag.hat_range[1]
            continue
        assert [position[row] for row in diag.labels[ours]] == r["index"], panel
    chunked = diagnostics_chunks(fit, _cut_weighted(t.features, t.target, w, 7))
    assert chunked.labels == diag.labels
    np.testing.assert_allclose(chunked.std_resid, diag.std_resid, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", _r_names(where=lambda c: c["data"] != "mtcars.csv"))
def test_points_are_labelled_as_r_labels_them_by_their_rows_in_the_file(name):
    """R labels a point by its row name: its row number in the file (the rows lm dropped for a gap
    counted, as in airquality); linearnet, given the rows' numbers in the file, the same."""
    from r_cases import case

    c = case(name)
    t, w, fit = _r_fit(c)
    rows = np.delete(np.arange(1, t.num_rows + len(t.dropped_rows) + 1), np.asarray(t.dropped_rows, dtype=int) - 1)
    diag = diagnostics(fit, t.features, t.target, weights=w, rows=rows)
    for panel, ours in R_PANELS.items():
        if c["diagnostics"]["plot_labels"][panel] is not None:
            assert [str(r) for r in diag.labels[ours]] == c["diagnostics"]["plot_labels"][panel]["label"], panel


def _cut_weighted(X, y, w, size):
    if w is None:
        return _cut(X, y, size)
    return lambda: ((X[i : i + size], y[i : i + size], w[i : i + size]) for i in range(0, len(y), size))
