"""The result of an exact multinomial-logit fit, :class:`LogitResult`, and its statistics.

As R's ``summary(multinom)`` / ``summary(glm(family = binomial))`` and statsmodels' ``MNLogit`` / ``Logit``
report them: per non-reference class and parameter the estimate, its standard error from the inverse of
the Hessian of −ℓ at the optimum, z, the two-sided normal p and the 95% Wald interval; the log-likelihood,
the null model's, the deviances, AIC and BIC (counting the coefficients), the likelihood-ratio χ² of the
model against the null model with its df and p, and McFadden's pseudo-R² = 1 − ℓ/ℓ₀. The null model is
the intercept alone when one is fitted; without one, every class equally likely (η = 0, R's ``glm``
null deviance; statsmodels fits an intercept even then).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Z_975 = 1.959963984540054  # the 0.975 quantile of the standard normal


def normal_two_sided(z: np.ndarray) -> np.ndarray:
    """2·P(Z > |z|) for a standard normal Z, as erfc(|z|/√2) (the math module's, accurate to the last digits
    far into the tail; scipy.special's ``ndtr`` gives the same and costs a tenth of a second to import)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.full(z.shape, np.nan)
    finite = ~np.isnan(z)
    out[finite] = [math.erfc(abs(v) / math.sqrt(2.0)) for v in z[finite].tolist()]
    return out


def chi2_sf(x: float, df: int) -> float:
    """P(χ² > x) on a whole number ``df`` of degrees of freedom, in closed form: with m = ⌊df/2⌋, the sum of
    the Poisson(x/2) probabilities of 0..m−1 (even df), or erfc(√(x/2)) and the half-integer terms (odd),
    each term's logarithm by lgamma and the sum by log-sum-exp, so that neither a large x nor a large df
    overflows. Against 50-digit arithmetic: within 1e-13 relative up to 250 degrees of freedom, 2e-12 at
    5,000 (the rounding of lgamma's large values); scipy.special, which does better there, takes a tenth
    of a second to import for one number."""
    if not math.isfinite(x):
        return 0.0 if x > 0 else math.nan
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        logs = [-half + j * math.log(half) - math.lgamma(j + 1) for j in range(df // 2)]
        base = 0.0
    else:
        logs = [-half + (j - 0.5) * math.log(half) - math.lgamma(j + 0.5) for j in range(1, df // 2 + 1)]
        base = math.erfc(math.sqrt(half))
    if not logs:
        return base
    top = max(logs)
    return min(1.0, base + math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


@dataclass
class LogitResult:
    """A multinomial logit fitted to its optimum (two classes: logistic regression).

    ``params``, ``bse``, ``zvalues``, ``pvalues`` are (p, K−1): a row per parameter (the intercept first
    when fitted, then the features) and a column per non-reference class, as statsmodels' MNLogit lays
    them out; ``coef`` (K−1, d) and ``intercept`` (K−1,) are the same numbers as scikit-learn's
    binary/multinomial faces read them against the reference. ``cov_params()`` is class-major (the
    parameters of the first non-reference class, then the next's). Where the fit has no finite optimum
    (``separation``) or did not converge, the standard errors and everything made from them are NaN.
    """

    classes: list[str]  # all K classes, in their order
    reference: str  # the class whose linear predictor is 0
    names: list[str]  # the parameters: "intercept" (if fitted), then the features
    params: np.ndarray  # (p, K−1)
    cov: np.ndarray  # (p(K−1), p(K−1)), class-major; NaN without a finite optimum
    llf: float
    llnull: float
    n: int
    counts: dict[str, int]  # rows per class
    iterations: int
    converged: bool
    fit_intercept: bool
    feature_names: list[str] = field(default_factory=list)
    separation: str | None = None  # what parts the classes, when no finite optimum exists
    dropped: list[str] = field(default_factory=list)  # features left out as linear combinations of others
    notes: list[str] = field(default_factory=list)

    @property
    def others(self) -> list[str]:
        """The non-reference classes, in order: the columns of ``params``."""
        return [c for c in self.classes if c != self.reference]

    @property
    def bse(self) -> np.ndarray:
        p, q = self.params.shape
        return np.sqrt(np.diag(self.cov)).reshape(q, p).T

    @property
    def zvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    tvalues = zvalues  # statsmodels' name

    @property
    def pvalues(self) -> np.ndarray:
        return normal_two_sided(self.zvalues)

    @property
    def conf_int(self) -> np.ndarray:
        """(p, K−1, 2): the 95% Wald intervals."""
        half = Z_975 * self.bse
        return np.stack([self.params - half, self.params + half], axis=-1)

    def cov_params(self) -> np.ndarray:
        return self.cov

    @property
    def coef(self) -> np.ndarray:
        return (self.params[1:] if self.fit_intercept else self.params).T

    @property
    def intercept(self) -> np.ndarray:
        return self.params[0] if self.fit_intercept else np.zeros(self.params.shape[1])

    @property
    def df_model(self) -> int:
        """The parameters estimated beyond the null model's."""
        return self.k - (self.params.shape[1] if self.fit_intercept else 0)

    lr_df = df_model  # the likelihood-ratio test's degrees of freedom, as --json names them

    @property
    def k(self) -> int:
        """The parameters estimated (those of dropped columns not counted)."""
        return (self.params.shape[0] - len(self.dropped)) * self.params.shape[1]

    @property
    def deviance(self) -> float:
        return -2 * self.llf

    @property
    def null_deviance(self) -> float:
        return -2 * self.llnull

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * self.k

    @property
    def bic(self) -> float:
        return -2 * self.llf + math.log(self.n) * self.k

    @property
    def lr_chi2(self) -> float:
        return 2 * (self.llf - self.llnull)

    llr = lr_chi2  # statsmodels' name

    @property
    def lr_p(self) -> float:
        return chi2_sf(self.lr_chi2, self.df_model) if self.df_model > 0 else math.nan

    llr_pvalue = lr_p

    @property
    def pseudo_r2(self) -> float:
        return 1 - self.llf / self.llnull if self.llnull != 0 else math.nan

    prsquared = pseudo_r2

    def predict_proba(self, X) -> np.ndarray:
        """P(class | x) for each row of X (n, d): (n, K), the classes in order."""
        X = np.asarray(X, dtype=np.float64)
        params = np.nan_to_num(self.params, nan=0.0)  # a column left out counts 0, as R's predict does
        eta = X @ (params[1:] if self.fit_intercept else params) + (params[0] if self.fit_intercept else 0.0)
        ref = self.classes.index(self.reference)
        full = np.insert(eta, ref, 0.0, axis=1)
        full = np.exp(full - full.max(axis=1, keepdims=True))
        return full / full.sum(axis=1, keepdims=True)

    def predict(self, X) -> list[str]:
        return [self.classes[k] for k in self.predict_proba(X).argmax(axis=1)]

    def table(self, cls: str) -> list[dict]:
        """One row per parameter of class ``cls``: name, estimate, stderr, z, p, ci_low, ci_high."""
        j = self.others.index(cls)
        ci = self.conf_int
        return [
            {
                "name": name,
                "estimate": float(self.params[i, j]),
                "stderr": float(self.bse[i, j]),
                "z": float(self.zvalues[i, j]),
                "p": float(self.pvalues[i, j]),
                "ci_low": float(ci[i, j, 0]),
                "ci_high": float(ci[i, j, 1]),
            }
            for i, name in enumerate(self.names)
        ]

    def summary(self) -> str:
        """A table per non-reference class (log-odds against the reference), then ℓ, deviances, AIC, BIC,
        the likelihood-ratio test and the pseudo-R²; without a finite optimum, what separates the classes."""
        kind = "logistic regression" if len(self.classes) == 2 else "multinomial logit"
        lines = [f"{kind}: log-odds of each class against the reference class {self.reference!r}"]
        if self.separation:
            lines.append(f"no finite optimum: {self.separation}")
        width = max(9, *(len(n) for n in self.names))
        for cls in self.others:
            lines += ["", f"class {cls!r} ({self.counts[cls]} rows)", *self._rows(cls, width)]
        lines += [
            "",
            f"reference {self.reference!r} ({self.counts[self.reference]} rows)   n {self.n}   {self._ending()}",
        ]
        lines.append(
            f"log-likelihood {self.llf:.6g}   null {self.llnull:.6g}   deviance {self.deviance:.6g}   "
            f"AIC {self.aic:.6g}   BIC {self.bic:.6g}"
        )
        if self.df_model > 0 and self.converged:  # a test of an optimum, where there is one
            lines.append(
                f"LR χ² {self.lr_chi2:.6g} on {self.df_model} df, p {self.lr_p:.4g}   "
                f"McFadden pseudo-R² {self.pseudo_r2:.6f}"
            )
        return "\n".join(lines)

    def _rows(self, cls: str, width: int) -> list[str]:
        """The table of a class: estimates with their statistics; only the estimates where no optimum was
        reached (the estimates where the iteration stopped: no statistics belong to them)."""
        if not self.converged:
            head = f"{'':<{width}} {'coef':>12}   (where the iteration stopped)"
            rows = [f"{r['name']:<{width}} {r['estimate']:>12.6g}" for r in self.table(cls)]
            return [head, "-" * len(head), *rows]
        head = f"{'':<{width}} {'coef':>12} {'std err':>12} {'z':>9} {'P>|z|':>7} {'[0.025':>12} {'0.975]':>12}"
        lines = [head, "-" * len(head)]
        for r in self.table(cls):
            lines.append(
                f"{r['name']:<{width}} {r['estimate']:>12.6g} {r['stderr']:>12.6g} {r['z']:>9.3f} "
                f"{r['p']:>7.3f} {r['ci_low']:>12.6g} {r['ci_high']:>12.6g}"
            )
        return lines

    def _ending(self) -> str:
        if self.converged:
            return f"converged in {self.iterations} iterations"
        if self.separation:
            return f"stopped after {self.iterations} iterations: the estimates grow without bound"
        return f"not converged in {self.iterations} iterations"

    def to_dict(self) -> dict:
        """The statistics as JSON-ready values (a number JSON has not as "NaN", "Infinity", "-Infinity")."""
        from ..leastsq.result import _json_number

        keys = ("estimate", "stderr", "z", "p", "ci_low", "ci_high")
        classes = {}
        for cls in self.others:
            rows = [{k: _json_number(r[k]) for k in keys} for r in self.table(cls)]
            classes[cls] = {
                "intercept": rows[0] if self.fit_intercept else None,
                "coefficients": dict(zip(self.feature_names, rows[int(self.fit_intercept) :], strict=True)),
            }
        return {
            "model": "softmax",
            "reference": self.reference,
            "classes": classes,
            "loglik": _json_number(self.llf),
            "null_loglik": _json_number(self.llnull),
            "deviance": _json_number(self.deviance),
            "aic": _json_number(self.aic),
            "bic": _json_number(self.bic),
            "lr_chi2": _json_number(self.lr_chi2),
            "lr_df": self.df_model,
            "lr_p": _json_number(self.lr_p),
            "pseudo_r2": _json_number(self.pseudo_r2),
            "n": self.n,
            "counts": dict(self.counts),
            "iterations": self.iterations,
            "converged": self.converged,
            "separation": self.separation,
            "dropped": list(self.dropped),
        }
