"""The result of a solve, :class:`OLSResult`, and the statistics R's ``summary(lm)`` reports, computed for it.

From Cov(β) = σ̂²·(AᵀA)⁻¹: standard errors, t, two-sided p, 95% intervals, σ̂, and the condition
numbers of the design unscaled and scaled. As R computes them: R² centred when an intercept is
fitted and uncentred (1 − RSS/Σy²) without one, the F statistic of the model against the intercept
alone (against the zero model without one), and the Gaussian log-likelihood with AIC and BIC
counting the coefficients and σ (as ``logLik.lm`` does; statsmodels counts the coefficients only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .factor import Factor, solve_triangular, unit_condition
from .passes import residual_pass, rss_in_memory
from .problem import Problem
from .robust import Robust, robust_fit


@dataclass
class OLSResult:
    """A least-squares fit with the statistics statsmodels' OLS reports.

    ``params``, ``bse``, ``tvalues``, ``pvalues`` and ``conf_int`` hold the intercept first
    (when fitted) and then the coefficients in column order; ``coef`` and ``intercept``
    are the same numbers split apart.
    """

    names: list[str]  # "intercept" (if fitted; "(intercept)" beside a column of that name), then the feature names
    params: np.ndarray  # (k,)
    bse: np.ndarray  # standard errors
    tvalues: np.ndarray
    pvalues: np.ndarray  # two-sided
    conf_int: np.ndarray  # (k, 2): 95% intervals
    sigma: float  # residual standard deviation σ̂ = sqrt(RSS / (n − rank))
    r2: float
    adj_r2: float
    n: int
    rank: int
    condition_number: float  # of the unscaled design, as statsmodels reports it
    scaled_condition_number: float  # of the design with unit-norm columns: what accuracy depends on
    fit_intercept: bool
    method: str  # "cholesky", "qr", "qr-augmented", "tsqr" or "pinv"
    refinement_steps: int = 0
    feature_names: list[str] = field(default_factory=list)
    weights: str | None = None  # what weighted the rows (R's lm(weights=)); None: unweighted
    zero_weights: int = 0  # rows of weight 0, left out of n and the residual df (as R does)
    ssr: float = math.nan  # the residual sum of squares
    df_model: int = 0  # rank − 1 with an intercept, the rank without one
    fvalue: float = math.nan  # F of the model against the intercept alone (the zero model without one)
    f_pvalue: float = math.nan
    llf: float = math.nan  # the Gaussian log-likelihood at the fit, as R's logLik()
    aic: float = math.nan  # −2·llf + 2·(rank + 1): σ counts as a parameter, as in R
    bic: float = math.nan  # −2·llf + log(n)·(rank + 1)
    normalized_cov_params: np.ndarray | None = None  # (AᵀA)⁻¹, (k, k): Cov(β) = σ̂²·this (inf past float64's range)
    se_type: str = "classical"  # the covariance of bse, t, p, intervals and F: "classical", "HC0".."HC3", "cluster"
    robust_cov: np.ndarray | None = None  # the robust Cov(β) when se_type is not "classical"
    clusters: int | None = None  # G, the number of clusters, for cluster-robust errors
    cov_factor: np.ndarray | None = None  # F, (k, k), with (AᵀA)⁻¹ = F·Fᵀ: R⁻¹ of the Gram factor AᵀA = RᵀR
    notes: list[str] = field(default_factory=list)  # what the solve did beyond one pass over data in chunks

    @property
    def centered(self) -> bool:
        """Whether R² is centred (an intercept is fitted) or uncentred, 1 − RSS/Σy² (as R reports it)."""
        return self.fit_intercept

    def cov_params(self) -> np.ndarray:
        """The Cov(β) the standard errors come from, (k, k), intercept first: σ̂²·(AᵀA)⁻¹, or the robust
        one of ``se_type`` (:mod:`linearnet.leastsq.robust`)."""
        if self.robust_cov is not None:
            return self.robust_cov
        if self.normalized_cov_params is None:
            raise ValueError("this result carries no covariance matrix (it was read from a model file's statistics)")
        return self.sigma**2 * self.normalized_cov_params

    @property
    def coef(self) -> np.ndarray:
        return self.params[1:] if self.fit_intercept else self.params

    @property
    def intercept(self) -> float:
        return float(self.params[0]) if self.fit_intercept else 0.0

    @property
    def df_resid(self) -> int:
        return self.n - self.rank

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return X @ self.coef + self.intercept

    def table(self) -> list[dict]:
        """One row per parameter: name, estimate, stderr, t, p, ci_low, ci_high."""
        return [
            {
                "name": name,
                "estimate": float(e),
                "stderr": float(s),
                "t": float(t),
                "p": float(p),
                "ci_low": float(lo),
                "ci_high": float(hi),
            }
            for name, e, s, t, p, (lo, hi) in zip(
                self.names, self.params, self.bse, self.tvalues, self.pvalues, self.conf_int, strict=True
            )
        ]

    def summary(self) -> str:
        """The coefficient table with standard errors, t, p and 95% intervals, then R², σ̂, n, rank."""
        width = max(9, *(len(n) for n in self.names))
        head = f"{'':<{width}} {'coef':>12} {'std err':>12} {'t':>9} {'P>|t|':>7} {'[0.025':>12} {'0.975]':>12}"
        lines = [*self._se_header(), head, "-" * len(head)]
        for r in self.table():
            lines.append(
                f"{r['name']:<{width}} {r['estimate']:>12.6g} {r['stderr']:>12.6g} {r['t']:>9.3f} "
                f"{r['p']:>7.3f} {r['ci_low']:>12.6g} {r['ci_high']:>12.6g}"
            )
        lines.append("-" * len(head))
        r2 = "R²" if self.centered else "R² (uncentred)"
        lines.append(
            f"{r2} {self.r2:.6f}   adj. R² {self.adj_r2:.6f}   σ̂ {self.sigma:.6g}   n {self.n}   "
            f"rank {self.rank}   condition number {self.condition_number:.3g}"
        )
        if self.df_model > 0 and self.df_resid > 0:
            lines.append(self._f_line())
        lines.append(f"log-likelihood {self.llf:.6g}   AIC {self.aic:.6g}   BIC {self.bic:.6g}")
        return "\n".join(lines)

    def _f_line(self) -> str:
        """The F test's line of the summary: the classical F, or the Wald test with the robust covariance."""
        if self.se_type == "classical":
            return f"F {self.fvalue:.6g} on {self.df_model} and {self.df_resid} df, p {self.f_pvalue:.4g}"
        name = "cluster-robust" if self.se_type == "cluster" else self.se_type
        if self.clusters is not None and self.clusters - 1 < self.df_model:
            return (
                f"Wald F ({name}): not defined, {self.clusters} clusters give a covariance of rank "
                f"{self.clusters - 1} for {self.df_model} coefficients tested"
            )
        return f"Wald F ({name}) {self.fvalue:.6g} on {self.df_model} and {self.df_resid} df, p {self.f_pvalue:.4g}"

    def _se_header(self) -> list[str]:
        """A line naming the robust standard errors shown (none for the classical ones)."""
        if self.se_type == "classical":
            return []
        if self.se_type == "cluster":
            return [f"cluster-robust standard errors, {self.clusters} clusters (sandwich::vcovCL, type HC1)"]
        return [f"heteroskedasticity-consistent standard errors {self.se_type} (sandwich::vcovHC)"]

    def to_dict(self) -> dict:
        """The statistics as JSON-ready values; ``intercept`` is None without one.

        JSON has no NaN or infinity: a statistic that is not a finite number is written as the
        string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (which Python's ``float()`` and
        JavaScript's ``Number()`` read back), so that t of a coefficient known exactly (±inf: its
        standard error is 0) and one that is undefined (NaN: no residual degrees of freedom) differ.
        """
        rows = [
            {k: _json_number(r[k]) for k in ("estimate", "stderr", "t", "p", "ci_low", "ci_high")} for r in self.table()
        ]  # by position: a feature may be named "intercept" too
        return {
            "intercept": rows[0] if self.fit_intercept else None,
            "coefficients": dict(zip(self.feature_names, rows[int(self.fit_intercept) :], strict=True)),
            "sigma": _json_number(self.sigma),
            "r2": _json_number(self.r2),
            "adj_r2": _json_number(self.adj_r2),
            "r2_centered": self.centered,
            "n": self.n,
            "rank": self.rank,
            "df_resid": self.df_resid,
            "condition_number": _json_number(self.condition_number),
            "f_statistic": self.f_statistic(),
            "loglik": _json_number(self.llf),
            "aic": _json_number(self.aic),
            "bic": _json_number(self.bic),
            "rss": _json_number(self.ssr),
            "se_type": self.se_type,
            **({"clusters": self.clusters} if self.se_type == "cluster" else {}),
            **({"weights": self.weights, "zero_weights": self.zero_weights} if self.weights else {}),
        }

    def f_statistic(self) -> dict | None:
        """F of the model against the intercept alone (the zero model without one), the Wald test with
        the robust covariance when ``se_type`` is not "classical", as JSON-ready values: ``value``,
        ``df_model``, ``df_resid``, ``p``; None when there is nothing to test (no coefficient beside
        the intercept) or no residual degree of freedom."""
        if self.df_model <= 0 or self.df_resid <= 0:
            return None
        return {
            "value": _json_number(self.fvalue),
            "df_model": self.df_model,
            "df_resid": self.df_resid,
            "p": _json_number(self.f_pvalue),
        }

    def to_model(self, *, target: str | None = None, data: str | None = None, table=None):
        """The model file record of this fit, as :func:`linearnet.records.linear_model` builds it (the
        solver itself knows nothing of files: the record is made there, imported only when asked for)."""
        from ..records import linear_model

        return linear_model(self, target=target, data=data, table=table)


def _json_number(x) -> float | str:
    """``x`` as a JSON number, or the string "NaN", "Infinity" or "-Infinity" for one JSON has not."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def finish(
    p: Problem,
    factor: Factor,
    beta,
    cov_unscaled,
    method: str,
    steps: int,
    extended: bool,
    rss: float | None = None,
    robust: Robust | None = None,
    notes: list[str] | None = None,
) -> OLSResult:
    """The statistics of coefficients ``beta`` with (AᵀA)⁻¹ = ``cov_unscaled``: one more pass for the RSS,
    unless a refinement pass left it (``rss``).

    ``extended``: sum the residuals in double-double (the accurate paths, and small problems).
    ``robust``: the robust errors to compute (one more pass), in place of the classical ones.
    ``notes``: what the solve did beyond one pass over data in chunks (refinement passes), said to the user.
    """
    from ..distributions import t_ppf, t_sf

    if rss is None and p.memory is not None and not extended and p.group is None:
        rss = rss_in_memory(*p.memory, beta, p.fit_intercept)
    if rss is None:
        _, rss = residual_pass(p.chunks, beta / p.d, p.d, p.fit_intercept, extended, gradient=False, group=p.group)
    n, rank, first = p.n, factor.rank, p.first
    df = n - rank
    sigma2 = rss / df if df > 0 else math.nan
    bse = np.sqrt(np.maximum(np.diag(cov_unscaled), 0) * sigma2)
    robustly = None if robust is None else robust_fit(robust, p, factor.R, beta, cov_unscaled)
    if robustly is not None:
        bse = robustly.bse
    # back to the units of the data (the identity unless tiny units were rescaled): powers of two, exact
    beta, bse = beta * p.unit, bse * p.unit
    with np.errstate(divide="ignore", invalid="ignore"):
        tvalues = beta / bse
    if df > 0:
        pvalues = 2 * t_sf(np.abs(tvalues), df)
        q = t_ppf(0.975, df)
    else:
        pvalues = np.full_like(beta, math.nan)
        q = math.nan
    conf = np.column_stack([beta - q * bse, beta + q * bse])
    tss = first.tss_centered if p.fit_intercept else first.tss_uncentered  # R's; see OLSResult.centered
    fit = likelihood(n, rank, p.fit_intercept, rss, tss, log_unit=2 * math.log(p.y_unit))  # in the units solved for
    if robustly is not None:  # the Wald test with the robust covariance, in place of the classical F
        fit.update(fvalue=robustly.fvalue, f_pvalue=robustly.f_pvalue)
    # unscaled condition number: singular values of A = (AD)·D⁻¹ = Q·R·D⁻¹ (and of the data's units)
    sv = np.linalg.svd(factor.R / (p.d * p.col_unit)[None, :], compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    sigma = math.sqrt(sigma2) * p.y_unit if sigma2 == sigma2 else math.nan
    with np.errstate(over="ignore"):  # (AᵀA)⁻¹ of the data's units: inf beyond float64 (features in units of 1e-170)
        cov = cov_unscaled * np.outer(p.col_unit, p.col_unit)
    return OLSResult(
        names=p.names,
        params=beta,
        bse=bse,
        tvalues=tvalues,
        pvalues=pvalues,
        conf_int=conf,
        sigma=sigma,
        n=n,
        rank=rank,
        condition_number=cond,
        scaled_condition_number=unit_condition(factor.R),
        fit_intercept=p.fit_intercept,
        method=method,
        refinement_steps=steps,
        feature_names=list(p.feature_names),
        normalized_cov_params=cov,
        se_type="classical" if robust is None else robust.cov_type,
        robust_cov=None if robustly is None else robustly.cov,
        clusters=None if robustly is None else robustly.clusters,
        cov_factor=cov_factor(factor.R, p.d * p.col_unit, cov if method == "pinv" else None),
        notes=list(notes or []),
        **fit,
    )


def cov_factor(R: np.ndarray, scale: np.ndarray, pinv_cov: np.ndarray | None = None) -> np.ndarray | None:
    """F with (AᵀA)⁻¹ = F·Fᵀ in the data's units: diag(scale)·R⁻¹ for the scaled triangular factor R of the
    design (AD = QR; ``scale`` = D and the units, powers of two). x₀ᵀ(AᵀA)⁻¹x₀ = ‖Fᵀx₀‖² is then as accurate
    as R's ``predict.lm`` makes it, where x₀ᵀCx₀ from C rounded loses cond(A)·ε. A rank-deficient fit's
    (``pinv_cov``, its pseudo-inverse) is its eigenvectors scaled by the roots of its eigenvalues. None where
    F is not finite in float64 (features in units of 1e-170)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if pinv_cov is None:
            F = scale[:, None] * solve_triangular(R, np.eye(len(R)))
        elif np.isfinite(pinv_cov).all():
            lam, V = np.linalg.eigh(pinv_cov)
            F = V * np.sqrt(np.maximum(lam, 0.0))
        else:
            return None
    return F if np.isfinite(F).all() else None


def likelihood(
    n: int, rank: int, fit_intercept: bool, rss: float, tss: float, sum_log_w: float = 0.0, log_unit: float = 0.0
) -> dict:
    """R², adjusted R², the F test and the Gaussian log-likelihood with AIC and BIC, as R's ``summary.lm``,
    ``logLik.lm``, ``AIC`` and ``BIC`` compute them from the residual sum of squares ``rss`` and the total
    ``tss`` (centred with an intercept, uncentred without); ``sum_log_w``: Σ log wᵢ of a weighted fit.
    ``log_unit``: log of the unit of the sums of squares (those of the data are ``rss``·exp(log_unit),
    which need not be a float64: a target in units of 1e-170)."""
    from ..distributions import f_sf

    df = n - rank
    df_model = rank - int(fit_intercept)
    # the intercept alone fits no variation: R² is 0 exactly, as R's mss / (mss + rss) with mss = 0 gives it
    r2 = (0.0 if df_model == 0 and fit_intercept else 1 - rss / tss) if tss > 0 else math.nan
    adj = 1 - (n - int(fit_intercept)) / df * (1 - r2) if df > 0 else math.nan
    fvalue = f_p = math.nan
    if df > 0 and df_model > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            fvalue = float(np.float64(tss - rss) / df_model / (np.float64(rss) / df))
        f_p = float(f_sf(fvalue, df_model, df)) if fvalue == fvalue else math.nan
    with np.errstate(divide="ignore"):
        llf = 0.5 * (sum_log_w - n * (math.log(2 * math.pi) + 1 - math.log(n) + float(np.log(rss)) + log_unit))
    params = rank + 1  # the coefficients and σ
    with np.errstate(over="ignore", under="ignore"):
        ssr = float(np.float64(rss) * np.exp(log_unit)) if log_unit else rss
    return dict(
        r2=r2,
        adj_r2=adj,
        ssr=ssr,
        df_model=df_model,
        fvalue=fvalue,
        f_pvalue=f_p,
        llf=llf,
        aic=-2 * llf + 2 * params,
        bic=-2 * llf + math.log(n) * params,
    )
