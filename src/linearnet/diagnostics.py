"""What R's ``plot(lm)`` draws for a least-squares fit: the residuals, leverages, standardized
residuals and Cook's distances of its rows, the rows R labels, and the points to draw.

For a fit with (AᵀA)⁻¹ = ``normalized_cov_params`` (A the design, intercept column first when fitted),
σ̂ and rank k, row i with residual eᵢ has

- leverage hᵢ = aᵢᵀ(AᵀA)⁻¹aᵢ (R's ``hatvalues``; above 1 − 10ε it is 1, as R sets it),
- standardized residual rᵢ = eᵢ / (σ̂·√(1 − hᵢ)) (R's ``rstandard``),
- Cook's distance Dᵢ = eᵢ²·hᵢ / (k·σ̂²·(1 − hᵢ)²) (R's ``cooks.distance``).

Rows of leverage 1 have neither (NaN): R leaves them out of the panels that need 1 − h, with a
warning, and so does the figure, with a note. R labels ``id.n = 3`` rows in each panel: the largest
|eᵢ| against the fitted values, the largest |rᵢ| in the Q–Q and scale–location panels, the largest
Dᵢ against the leverage (ties: the first row first).

The statistics come from one pass over the rows, in memory or in chunks, and are exact over all of
them; past ``max_points`` rows, the points drawn are a sample of that size (drawn from ``seed``, the
labelled rows always among them), placed in the Q–Q panel at the normal quantiles of their ranks
among all the rows (one more pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Diagnostics", "influence", "diagnostics", "diagnostics_chunks", "MAX_POINTS", "ID_N"]

MAX_POINTS = 5000  # points drawn past this many rows: a sample
ID_N = 3  # rows labelled in each panel, as R's id.n
LEVERAGE_ONE = 1 - 10 * np.finfo(float).eps  # a leverage above this is 1, as R's lm.influence takes it
PANELS = ("resid", "std_resid", "cooks")  # which statistic picks a panel's labels (by its size)


def influence(result, X, y, weights=None) -> dict[str, np.ndarray]:
    """For the rows ``X`` (n, p), ``y`` (n,) of the fit ``result`` (an :class:`~linearnet.leastsq.OLSResult`):
    ``fitted``, ``resid``, ``hat``, ``std_resid`` and ``cooks``, each (n,).

    Of a weighted fit (``weights`` wᵢ > 0, ``result`` holding (AᵀWA)⁻¹), as R's ``lm.influence``,
    ``rstandard`` and ``cooks.distance``: hᵢ = wᵢ·aᵢᵀ(AᵀWA)⁻¹aᵢ, and the residuals in rᵢ and Dᵢ are
    √wᵢ·eᵢ; ``resid`` stays eᵢ, as R's ``plot(lm)`` draws it."""
    factor = getattr(result, "cov_factor", None)  # F with (AᵀA)⁻¹ = F·Fᵀ: h = ‖Fᵀa‖² keeps more digits
    cov = result.normalized_cov_params
    if factor is None and cov is None:
        raise ValueError("the fit carries no (AᵀA)⁻¹, which the leverages need")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).reshape(-1)
    A = np.column_stack([np.ones(len(X)), X]) if result.fit_intercept else X  # (n, k)
    fitted = A @ result.params
    resid = y - fitted
    hat = ((A @ factor) ** 2).sum(axis=1) if factor is not None else ((A @ cov) * A).sum(axis=1)
    e = resid
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        hat, e = hat * w, resid * np.sqrt(w)
    hat[hat > LEVERAGE_ONE] = 1.0
    sigma = result.sigma
    with np.errstate(divide="ignore", invalid="ignore"):
        std_resid = np.where(hat < 1, e / (sigma * np.sqrt(1 - hat)), np.nan)
        cooks = np.where(hat < 1, e**2 * hat / (result.rank * sigma**2 * (1 - hat) ** 2), np.nan)
    std_resid[~np.isfinite(std_resid)] = np.nan  # σ̂ = 0 (an exact fit) or undefined: none, as R's Cook's distance
    cooks[~np.isfinite(cooks)] = np.nan
    return dict(fitted=fitted, resid=resid, hat=hat, std_resid=std_resid, cooks=cooks)


@dataclass
class Diagnostics:
    """The points to draw and what the panels need besides.

    Arrays are of the points drawn, in row order: ``row`` their numbers (from 1, among the rows of the
    fit unless row numbers were given), ``fitted``, ``resid``, ``hat``, ``std_resid``, ``cooks``, and
    ``theoretical`` their normal quantiles in the Q–Q panel (NaN where the leverage is 1).
    """

    row: np.ndarray
    fitted: np.ndarray
    resid: np.ndarray
    hat: np.ndarray
    std_resid: np.ndarray
    cooks: np.ndarray
    theoretical: np.ndarray
    labels: dict[str, list[int]]  # panel statistic ("resid", "std_resid", "cooks") -> the rows it labels
    n: int  # rows of the fit
    rank: int
    hat_range: tuple[float, float]  # of every row
    qq_line: tuple[float, float]  # (intercept, slope) through the quartiles (of the points drawn, when sampled)
    leverage_one: list[int] = field(default_factory=list)  # rows of leverage 1, left out where 1 − h is needed
    sigma: float = np.nan  # σ̂ of the fit

    @property
    def sampled(self) -> bool:
        return len(self.row) < self.n

    @property
    def notes(self) -> list[str]:
        """What the figure leaves out or samples, one line each."""
        said = []
        if not self.sigma > 0:
            said.append(
                f"σ̂ is {'0' if self.sigma == 0 else 'not defined'} (the fit is exact, or has no residual degree of "
                f"freedom): the standardized residuals and Cook's distances are not defined, and not drawn"
            )
        elif self.leverage_one:
            rows = ", ".join(map(str, self.leverage_one[:10])) + (", ..." if len(self.leverage_one) > 10 else "")
            said.append(
                f"not plotting {len(self.leverage_one)} row{'s' if len(self.leverage_one) > 1 else ''} of leverage "
                f"one in the panels of standardized residuals (as R): {rows}"
            )
        if self.sampled:
            said.append(
                f"{len(self.row):,} of {self.n:,} points drawn (a sample; the statistics and labelled rows are of "
                f"every row)"
            )
        return said


def diagnostics(result, X, y, *, weights=None, rows=None, max_points: int = MAX_POINTS, seed: int = 0) -> Diagnostics:
    """The diagnostics of ``result`` for its rows ``X``, ``y`` in memory (and ``weights``, of a weighted fit:
    rows of weight 0 are left out, as R leaves them); ``rows``: their numbers (from 1) to label them by,
    such as their rows in the file (default 1, 2, ...)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).reshape(-1)
    chunk = (X, y) if weights is None else (X, y, np.asarray(weights, dtype=np.float64).reshape(-1))
    return diagnostics_chunks(result, lambda: iter([chunk]), rows=rows, max_points=max_points, seed=seed)


def diagnostics_chunks(
    result,
    chunks: Callable[[], Iterable[tuple[np.ndarray, ...]]],
    *,
    rows=None,
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> Diagnostics:
    """:func:`diagnostics` over rows that arrive in chunks: ``chunks()`` starts a pass yielding ``(X, y)``,
    or ``(X, y, w)`` of a weighted fit.

    One pass; a second when the points drawn are a sample (for their ranks in the Q–Q panel). The
    sample depends on ``seed`` and the number of rows alone, not on how they are cut into chunks.
    """
    n = result.n
    keep = (
        np.arange(n) if n <= max_points else np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    )
    scan = _Scan(keep)
    for part, end in _rows(result, chunks):
        scan.add(part)
        scan.rows = end
    if n not in (scan.seen, scan.rows):  # a weighted fit may count its rows of weight 0 or not
        raise ValueError(f"the data hold {scan.rows:,} rows, the fit {n:,}: draw the diagnostics of the rows fitted")
    drawn = scan.drawn()
    finite = np.isfinite(drawn["std_resid"])
    if scan.sampled:
        ranks = _ranks(result, chunks, drawn["std_resid"], drawn["index"])
    else:
        ranks = np.full(len(finite), np.nan)
        ranks[finite] = np.argsort(np.argsort(drawn["std_resid"][finite], kind="stable"), kind="stable") + 1
    count = scan.finite  # the Q–Q panel's points: those with a standardized residual
    a = 3 / 8 if count <= 10 else 1 / 2  # R's ppoints
    from .distributions import norm_ppf

    theoretical = norm_ppf((ranks - a) / (count + 1 - 2 * a))
    given = None if rows is None else np.asarray(rows)

    def number(i) -> np.ndarray:  # positions among the rows fitted -> the rows' numbers
        i = np.asarray(i, dtype=np.int64)
        return i + 1 if given is None else given[i]

    return Diagnostics(
        row=number(drawn["index"]),
        fitted=drawn["fitted"],
        resid=drawn["resid"],
        hat=drawn["hat"],
        std_resid=drawn["std_resid"],
        cooks=drawn["cooks"],
        theoretical=theoretical,
        labels={panel: [int(r) for r in number(scan.top[panel]["index"])] for panel in PANELS},
        n=scan.seen,
        rank=result.rank,
        hat_range=(scan.hat_min, scan.hat_max),
        qq_line=_qq_line(drawn["std_resid"][finite]),
        leverage_one=[int(r) for r in number(scan.leverage_one)],
        sigma=float(result.sigma),
    )


def _rows(result, chunks) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    """A pass: the statistics of each chunk's rows (those of weight > 0), with ``index`` their positions
    among every row; and the rows passed so far."""
    at = 0
    for chunk in chunks():
        X, y, w = chunk if len(chunk) == 3 else (*chunk, None)
        index = np.arange(at, at + len(X))
        at += len(X)
        if w is not None:
            w = np.asarray(w, dtype=np.float64).reshape(-1)
            kept = w != 0
            X, y, w, index = X[kept], np.asarray(y).reshape(-1)[kept], w[kept], index[kept]
        yield {**influence(result, X, y, w), "index": index}, at


class _Scan:
    """What one pass keeps: the sampled rows, the ``ID_N`` largest of each panel's statistic, the range
    of the leverages, the rows of leverage one."""

    def __init__(self, keep: np.ndarray):
        self.keep, self.sampled = keep, False
        self.seen = self.finite = 0  # rows of weight > 0 (every row of an unweighted fit); of them, with an r
        self.rows = 0  # every row
        self.hat_min, self.hat_max = np.inf, -np.inf
        self.parts: list[dict[str, np.ndarray]] = []
        self.top: dict[str, dict[str, np.ndarray]] = {}
        self.leverage_one: list[int] = []

    def add(self, stats: dict[str, np.ndarray]) -> None:
        m, index = len(stats["hat"]), stats["index"]
        lo, hi = np.searchsorted(self.keep, [self.seen, self.seen + m])
        self.parts.append({k: v[self.keep[lo:hi] - self.seen] for k, v in stats.items()})
        self.sampled = self.sampled or hi - lo < m
        for panel in PANELS:
            size = np.abs(stats[panel])
            pick = _largest(size, index)
            if panel in self.top:
                both = {k: np.concatenate([self.top[panel][k], stats[k][pick]]) for k in stats}
                both_size = np.abs(both[panel])
                self.top[panel] = {k: v[_largest(both_size, both["index"])] for k, v in both.items()}
            else:
                self.top[panel] = {k: v[pick] for k, v in stats.items()}
        if m:
            self.hat_min, self.hat_max = min(self.hat_min, stats["hat"].min()), max(self.hat_max, stats["hat"].max())
        self.leverage_one += index[stats["hat"] >= 1].tolist()
        self.finite += int(np.isfinite(stats["std_resid"]).sum())
        self.seen += m

    def drawn(self) -> dict[str, np.ndarray]:
        """The sampled rows and the labelled ones, in row order, each once."""
        parts = [*self.parts, *self.top.values()]
        both = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        _, first = np.unique(both["index"], return_index=True)  # sorted by row
        return {k: v[first] for k, v in both.items()}


def _largest(size: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Positions of the ``ID_N`` largest ``size`` (NaN last; ties: the first row first), as R's
    ``sort.list(decreasing = TRUE)`` and ``order(-x)`` pick them."""
    key = np.where(np.isnan(size), -np.inf, size)
    nan_last = np.isnan(size)
    return np.lexsort((index, -key, nan_last))[:ID_N]


def _ranks(result, chunks, values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The ranks (from 1; ties in row order) of ``values`` (rows ``index``) among the standardized
    residuals of every row with one: a second pass."""
    finite = np.isfinite(values)
    order = np.lexsort((index[finite], values[finite]))
    drawn, drawn_rows = values[finite][order], index[finite][order]
    before = np.zeros(len(drawn) + 1, dtype=np.int64)  # before[p]: rows below drawn[p], once summed up to p
    tied = np.zeros(len(drawn), dtype=np.int64)  # rows equal to drawn[p], of an earlier row
    for part, _ in _rows(result, chunks):
        r, rows = part["std_resid"], part["index"]
        r, rows = r[np.isfinite(r)], rows[np.isfinite(r)]
        left, right = np.searchsorted(drawn, r, side="left"), np.searchsorted(drawn, r, side="right")
        before += np.bincount(right, minlength=len(before))  # r < drawn[p] for every p >= right
        for j in np.flatnonzero(left < right):  # r equals drawn[left:right]: before those of later rows
            p = np.arange(left[j], right[j])
            tied[p[drawn_rows[p] > rows[j]]] += 1
    ranks = np.full(len(values), np.nan)
    ranks[np.flatnonzero(finite)[order]] = np.cumsum(before)[:-1] + tied + 1
    return ranks


def _qq_line(values: np.ndarray) -> tuple[float, float]:
    """R's ``qqline``: the line through the quartiles of ``values`` and of the normal distribution."""
    from .distributions import norm_ppf

    if not len(values):
        return (np.nan, np.nan)
    y = np.quantile(values, [0.25, 0.75])  # R's type 7
    x = norm_ppf([0.25, 0.75])
    slope = (y[1] - y[0]) / (x[1] - x[0])
    return (float(y[0] - slope * x[0]), float(slope))
