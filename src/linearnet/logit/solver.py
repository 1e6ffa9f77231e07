"""Fit the multinomial logit: the data checked, the design's rank, Newton's method, the result.

The design A = [1, X] is scaled by powers of two nearest 1/‖column‖ (exact), its rank is read from the
triangular factor of a QR of the data (the first pass, which also counts the classes), and columns that
are linear combinations of earlier ones are refused by name, or, with ``allow_rank_deficient``, left out
as R's ``glm`` leaves them out (its NA coefficients; here NaN, with a note). Newton starts from the
null model's optimum (the intercepts at the log-ratios of the class counts), so its first pass gives
the null log-likelihood too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..leastsq.factor import rank_and_nullspace
from ..leastsq.passes import Group, Rows, in_memory, pow2
from ..leastsq.problem import _features as as_features
from ..leastsq.problem import dependent_columns, parameter_names
from .newton import NewtonFit, newton
from .result import LogitResult
from .sums import Counts, first_pass

WARM_START_ROWS = 200_000  # data in memory from this many rows start Newton's method from a sample's optimum
SEPARATION_TOL = 1e-9  # a row's margin along a separating direction, relative to its largest possible: zero


def solve_logit(
    X,
    y,
    *,
    classes: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    fit_intercept: bool = True,
    allow_rank_deficient: bool = False,
    reference: str | None = None,
    max_iter: int = 100,
    drop_empty_classes: bool = False,
) -> LogitResult:
    """The multinomial logit of ``y`` on the columns of ``X``, to its optimum, with its statistics.

    ``y`` holds class codes 0..K−1 naming ``classes`` (their names, in order); without ``classes``, any
    labels, coded by :func:`linearnet.tables.encode_labels`' rule (whole numbers ≥ 0 are class numbers,
    anything else makes each distinct value a class, sorted). The ``reference`` class (default: the
    first) has linear predictor 0; with two classes this is logistic regression of the other class,
    R's ``glm(family = binomial)`` with the reference as failure. Computed in float64 whatever the input.
    A class with no row is refused (its probability has no finite optimum), or with ``drop_empty_classes``
    left out with a note (class numbers 1..5 number a class 0 too).
    """
    X, names = _features(X, feature_names)
    codes, classes = _labels(y, classes, len(X))
    fit = (fit_intercept, allow_rank_deficient, reference, max_iter)
    return _fit(in_memory(X, codes), names, classes, *fit, None, X, drop_empty_classes)


def solve_logit_chunks(
    chunks: Rows,
    feature_names: Sequence[str],
    *,
    classes: Sequence[str],
    fit_intercept: bool = True,
    allow_rank_deficient: bool = False,
    reference: str | None = None,
    group: Group | None = None,
    max_iter: int = 100,
    drop_empty_classes: bool = False,
) -> LogitResult:
    """:func:`solve_logit` over data read a pass at a time: ``chunks()`` yields (X, class codes) chunks
    (a :class:`linearnet.tables.TableChunks` read with ``classes=``); with a ``group``, each process passes
    over its share and the sums are added, one exchange per pass. Memory holds one chunk."""
    fit = (fit_intercept, allow_rank_deficient, reference, max_iter)
    return _fit(chunks, list(feature_names), list(classes), *fit, group, None, drop_empty_classes)


def _features(X, feature_names) -> tuple[np.ndarray, list[str]]:
    X, names = as_features(X, feature_names)  # a DataFrame's column names, a tensor as an array
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of rows and features, got shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])] if names is None else names
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {X.shape[1]} columns")
    return X, names


def _labels(y, classes, n: int) -> tuple[np.ndarray, list[str]]:
    if classes is None:
        from ..tables import encode_labels

        codes, found = encode_labels(np.asarray(y).tolist(), where="y")
        return codes, found
    classes = [str(c) for c in classes]
    codes = np.asarray(y)
    if codes.dtype.kind not in "iu" and not (codes.dtype.kind == "f" and np.all(codes == np.round(codes))):
        raise TypeError("y must hold class codes 0..K-1 when classes are given")
    codes = codes.astype(np.int64)
    if codes.shape != (n,):
        raise ValueError(f"y must hold one class code per row of X ({n}), got shape {codes.shape}")
    return codes, classes


def _fit(chunks, names, classes, fit_intercept, allow_rank_deficient, reference, max_iter, group, memory, drop_empty):
    _check_classes(classes)
    params = parameter_names(names, fit_intercept)
    sample = _Sample(memory is None and group is None)  # a file read a pass at a time: a sample as it is read
    counts = first_pass(sample.watch(chunks), fit_intercept, len(params), len(classes), group)
    _check(counts, memory, names)
    rows = sample.rows(chunks, counts.n, memory is not None)
    notes: list[str] = []
    if drop_empty and (counts.counts == 0).any():  # class numbers without a row (1..5 number a class 0 too)
        chunks, rows, classes = _without_empty(counts, classes, chunks, rows, notes)
    _refuse_empty(counts, classes)
    reference = classes[0] if reference is None else str(reference)
    if reference not in classes:
        raise ValueError(f"the reference class {reference!r} is not one of the classes ({', '.join(classes)})")
    order = [classes.index(reference), *(k for k, c in enumerate(classes) if c != reference)]
    coded = _recoded(chunks, np.argsort(order))  # code in the data -> code with the reference first
    rows = _recoded(rows, np.argsort(order)) if rows else None
    counts.counts = counts.counts[order]
    kept = _kept(_factor(coded, counts, fit_intercept, group), counts.n, params, fit_intercept, allow_rank_deficient)
    dropped = [params[j] for j in range(len(params)) if j not in kept]
    if dropped:
        notes.append(
            f"{', '.join(dropped)}: linear combination{'s' if len(dropped) > 1 else ''} of the columns before "
            f"{'them' if len(dropped) > 1 else 'it'}, left out (R's glm reports NA for "
            f"{'them' if len(dropped) > 1 else 'it'}; here NaN)"
        )
    if not fit_intercept:
        notes.append("without an intercept the null model gives every class the same probability (as R's glm)")
    in_memory_rows = memory is not None
    fit, llnull, d = _newton(coded, rows, counts, kept, fit_intercept, group, max_iter, len(classes), in_memory_rows)
    return _result(fit, llnull, d, kept, params, names, classes, order, counts, fit_intercept, dropped, notes)


def _without_empty(counts: Counts, classes: list[str], chunks: Rows, rows: Rows | None, notes: list[str]):
    """The data, their sample and the classes without the classes that have no rows (said in a note)."""
    present = np.flatnonzero(counts.counts)
    absent = [c for k, c in enumerate(classes) if counts.counts[k] == 0]
    notes.append(f"class{'es' if len(absent) > 1 else ''} {', '.join(absent)} numbered but with no rows: not fitted")
    recode = np.searchsorted(present, np.arange(len(classes)))  # absent codes: no row has them
    classes, counts.counts = [classes[k] for k in present], counts.counts[present]
    _check_classes(classes)
    return _recoded(chunks, recode), _recoded(rows, recode) if rows else None, classes


def _check_classes(classes: list[str]) -> None:
    if len(classes) < 2:
        raise ValueError(f"classification needs at least two classes, got {len(classes)}")
    if len(set(classes)) != len(classes):
        raise ValueError("the classes must be distinct")


def _recoded(chunks: Rows, recode: np.ndarray) -> Rows:
    if np.array_equal(recode, np.arange(len(recode))):
        return chunks

    def rows():
        for Xc, yc in chunks():
            codes = np.asarray(yc, dtype=np.int64)
            inside = (codes >= 0) & (codes < len(recode))
            yield Xc, np.where(inside, recode[np.where(inside, codes, 0)], codes)

    return rows


def _check(counts: Counts, memory, names) -> None:
    if not counts.finite:
        if memory is not None:
            rows, cols = np.nonzero(~np.isfinite(memory))
            raise ValueError(
                f"X must be finite; row {rows[0] + 1}, column {names[cols[0]]} is {memory[rows[0], cols[0]]}"
            )
        raise ValueError("the data hold NaN or infinite values")
    if counts.n == 0:
        raise ValueError("the data have no rows")


def _refuse_empty(counts: Counts, classes: list[str]) -> None:
    empty = [classes[k] for k in range(len(classes)) if counts.counts[k] == 0]
    if empty:
        raise ValueError(
            f"class {empty[0]!r} has no rows: its probability would go to 0 with no finite optimum; "
            f"leave it out of the classes"
        )


def _factor(coded: Rows, counts: Counts, fit_intercept: bool, group) -> np.ndarray:
    """The triangular factor R of the design (RᵀR = AᵀA): the Cholesky factor of the Gram matrix when its
    columns scaled to unit norm are well-conditioned (cond ≤ 1e6: the rank is clear), else from a QR of the
    data, one more pass (as the least-squares solver's TSQR)."""
    from ..leastsq.factor import gram_condition, tsqr

    if gram_condition(counts.G) <= 1e6:
        return np.linalg.cholesky(counts.G).T
    return tsqr(coded, np.ones(len(counts.G)), fit_intercept, group)


def _kept(R: np.ndarray, n: int, params: list[str], fit_intercept: bool, allow: bool) -> list[int]:
    """The design's columns kept: all when independent; else refused, or (``allow``) each column that is not
    a linear combination of those kept before it, in order (as R's glm keeps them)."""
    R = np.pad(R, ((0, max(0, len(params) - len(R))), (0, 0)))  # fewer rows than parameters: square all the same
    norms = np.linalg.norm(R, axis=0)
    Rs = R / np.where(norms > 0, norms, 1.0)
    rank, s, null = rank_and_nullspace(Rs, n)
    if rank == len(params):
        return list(range(len(params)))
    if not allow:
        what = _dependent(params, dependent_columns(params, null), norms, fit_intercept)
        raise ValueError(
            f"{what} (rank {rank} of {len(params)} parameters): drop {'one of them' if 'columns' in what else 'it'}, "
            f"or allow a rank-deficient design (--allow-rank-deficient) to leave out each "
            f"column that is a linear combination of those before it"
        )
    tol = 10 * math.sqrt(max(n, len(params))) * np.finfo(float).eps * s[0]
    kept: list[int] = []
    for j in range(len(params)):
        trial = Rs[:, [*kept, j]]
        if np.linalg.svd(trial, compute_uv=False)[-1] > tol:
            kept.append(j)
    return kept


def _dependent(params: list[str], involved: list[str], norms: np.ndarray, fit_intercept: bool) -> str:
    zero = [params[j] for j in range(len(params)) if norms[j] == 0]
    if zero:
        return f"column {zero[0]} is all zeros"
    if fit_intercept and len(involved) == 2 and involved[0] == params[0]:
        return f"column {involved[1]} is constant, as the intercept is"
    return f"the columns {', '.join(involved)} are linearly dependent"


def _newton(
    coded: Rows,
    sample: Rows | None,
    counts: Counts,
    kept: list[int],
    fit_intercept: bool,
    group,
    max_iter: int,
    K: int,
    in_memory_rows: bool,
):
    """Newton's method on the kept columns, from the optimum of a sample of the rows where there is one, else
    from the null model's (the intercepts at the log-ratios of the class counts); the null log-likelihood.
    In memory from WARM_START_ROWS rows, passes may leave the Hessian out; over a file, where reading is the
    most of a pass, and on fewer rows, where every pass is quick, each takes it (and the iterations are
    Newton's, as R and statsmodels count them)."""
    d = 1.0 / pow2(np.sqrt(np.diag(counts.G)[kept]))
    offset = int(fit_intercept)
    features = [j - offset for j in kept if j >= offset]
    every = len(features) == len(counts.G) - offset
    chunks = coded if every else _columns(coded, features)
    B = np.zeros((len(kept), K - 1))
    n_k = counts.counts.astype(np.float64)
    if fit_intercept:
        B[0] = np.log(n_k[1:] / n_k[0]) / d[0]
        llnull = float(sum(c * math.log(c / counts.n) for c in n_k if c > 0))
    else:
        llnull = -counts.n * math.log(K)
    col_max = counts.col_max[kept]
    options: dict[str, Any] = dict(tol=SEPARATION_TOL, col_max=col_max, max_iter=max_iter)
    if sample is not None:  # start where a sample of the rows has its optimum
        sample = sample if every else _columns(sample, features)
        B, options["hessian"] = _sample_optimum(sample, B, d, fit_intercept, counts.n, options)
    chord = in_memory_rows and counts.n >= WARM_START_ROWS  # where a Hessian costs more than a few passes without
    fit = newton(chunks, B, d, fit_intercept, group=group, chord=chord, **options)
    return fit, llnull, d


class _Sample:
    """Every k-th row of the data as a first pass reads them, k doubling as they come so that between
    WARM_START_ROWS/4 and twice that are kept (a systematic sample: row 0, k, 2k, ...); for data read a pass
    at a time, whose sample cannot be taken in memory."""

    def __init__(self, wanted: bool):
        self.wanted, self.k, self.n = wanted, 1, 0
        self.X: list[np.ndarray] = []
        self.y: list[np.ndarray] = []

    def watch(self, chunks: Rows) -> Rows:
        if not self.wanted:
            return chunks

        def rows():
            for Xc, yc in chunks():
                Xc, yc = np.asarray(Xc), np.asarray(yc)
                start = (-self.n) % self.k
                self.X.append(np.array(Xc[start :: self.k], dtype=np.float64))
                self.y.append(np.array(yc[start :: self.k], dtype=np.int64))
                self.n += len(Xc)
                if sum(map(len, self.y)) > WARM_START_ROWS // 2:  # keep every other row: a stride twice as long
                    self.X, self.y, self.k = [np.concatenate(self.X)[::2]], [np.concatenate(self.y)[::2]], 2 * self.k
                yield Xc, yc
            self.wanted = False  # the first pass alone

        return rows

    def rows(self, chunks: Rows, n: int, in_memory_rows: bool) -> Rows | None:
        """The sample as rows to pass over: the one taken, or, for data in memory, every k-th row of them;
        None below WARM_START_ROWS rows, where a start from a sample saves too little to take one, and for
        the shares of several processes."""
        if n < WARM_START_ROWS:
            return None
        if self.X:
            return in_memory(np.concatenate(self.X), np.concatenate(self.y))
        if not in_memory_rows:
            return None
        k = n // (WARM_START_ROWS // 4)
        taken = [(Xc[::k], np.asarray(yc)[::k]) for Xc, yc in chunks()]
        return in_memory(np.concatenate([r[0] for r in taken]), np.concatenate([r[1] for r in taken]))


def _sample_optimum(
    sample: Rows, B: np.ndarray, d: np.ndarray, fit_intercept: bool, n: int, options
) -> tuple[np.ndarray, np.ndarray | None]:
    """The sample's optimum and its Hessian there, scaled to all the rows: Newton's method over all the rows
    starts there, its first step taken with that Hessian (1M rows in memory, 5 classes: two passes with the
    Hessian and four without, instead of six with it); B and None where the sample has no optimum."""
    m = sum(len(yc) for _, yc in sample())
    fit = newton(sample, B, d, fit_intercept, **options)
    if not fit.converged or fit.sums.hessian is None:
        return B, None
    return fit.B, fit.sums.hessian * (n / m)


def _columns(chunks: Rows, features: list[int]) -> Rows:
    def rows():
        for Xc, yc in chunks():
            yield Xc[:, features], yc

    return rows


def _result(
    fit: NewtonFit, llnull, d, kept, params, names, classes, order, counts: Counts, fit_intercept, dropped, notes
) -> LogitResult:
    p, q = len(params), len(classes) - 1
    full = np.full((p, q), np.nan)
    full[kept] = fit.B * d[:, None]
    cov = np.full((p * q, p * q), np.nan)
    if fit.converged and fit.factor is not None:
        Uinv = np.linalg.inv(fit.factor)  # triangular: its LU needs no pivot, so this is back substitution
        scale = np.tile(d, q)
        inner = (Uinv @ Uinv.T) * np.outer(scale, scale)
        index = np.concatenate([np.asarray(kept) + k * p for k in range(q)])
        cov[np.ix_(index, index)] = inner
    separation = (
        _separation_text(fit, kept, params, classes, order, counts.n, fit_intercept) if fit.separation else None
    )
    if not fit.converged and not separation:
        notes.append(
            f"not converged in {fit.iterations} iterations: the log-likelihood was still rising (Newton decrement "
            f"{fit.decrement:.3g}); no standard errors are given"
        )
    full_counts = {classes[order[k]]: int(counts.counts[k]) for k in range(len(classes))}
    return LogitResult(
        classes=list(classes),
        reference=classes[order[0]],
        names=params,
        params=full,
        cov=cov,
        llf=fit.sums.loglik,
        llnull=llnull,
        n=counts.n,
        counts=full_counts,
        iterations=fit.iterations,
        converged=fit.converged,
        fit_intercept=fit_intercept,
        feature_names=list(names),
        separation=separation,
        dropped=dropped,
        notes=notes,
    )


def _separation_text(fit: NewtonFit, kept, params, classes, order, n: int, fit_intercept: bool) -> str:
    """What parts the classes: the rows of each class told apart, and the columns of the direction."""
    sep = fit.separation
    assert sep is not None
    columns = [params[kept[j]] for j in sep.columns if not (fit_intercept and kept[j] == 0)]
    by = f"by the column{'s' if len(columns) > 1 else ''} {', '.join(columns)}" if columns else "by the intercept"
    told = {classes[order[k]]: int(sep.strict[k]) for k in range(len(classes)) if sep.strict[k] > 0}
    told = {c: told[c] for c in classes if c in told}  # in the classes' order
    if sum(told.values()) == n:
        what = f"the classes {', '.join(map(repr, told))} are completely separated {by}"
    else:
        rows = " and ".join(f"{m} row{'s' if m > 1 else ''} of class {c!r}" for c, m in told.items())
        what = f"{rows} {'are' if sum(told.values()) > 1 else 'is'} separated from the other classes {by}"
    return (
        f"{what}: their fitted probabilities tend to 1 and the estimates grow without bound while the "
        f"log-likelihood rises toward a limit; no standard errors are given"
    )
