"""What R computes for linear models on its own data sets, as stored in ``tests/fixtures/r/`` by
``tests/r/make_fixtures.R`` (the fields are described in ``tests/r/README.md``), for the tests to compare with.

    from r_cases import cases, fixture, table

    for case in cases(where=lambda c: c["weights"] is None):
        t = table(case)  # the case's data read by linearnet, rows with a gap dropped as lm does
        fit = solve(t.features, t.target, fit_intercept=case["intercept"], feature_names=t.feature_names)
        assert fit.params == approx(case["coefficients"]["values"], rel=1e-10)

``cases()`` returns fresh copies: a test may change what it is given.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "r"


@functools.cache
def expected() -> dict:
    """The whole of ``expected.json``: ``r_version``, ``packages`` and ``cases`` (read once)."""
    return json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


Where = Callable[[dict], bool] | Mapping[str, object] | None


def cases(*, where: Where = None) -> list[dict]:
    """Every case in the order R wrote them, or those for which ``where(case)`` is true, or (a mapping)
    whose fields have the values given.

    Examples: ``cases(where=lambda c: c["cluster"] is not None)``, ``cases(where={"weights": None})``.
    """
    if isinstance(where, Mapping):
        wanted = dict(where)
        where = lambda c: all(c.get(k) == v for k, v in wanted.items())  # noqa: E731
    every = copy.deepcopy(expected()["cases"])
    return [c for c in every if where is None or where(c)]


def case(name: str) -> dict:
    """The case named ``name`` (e.g. ``"cars"``, ``"mtcars_cyl"``)."""
    found = cases(where=lambda c: c["name"] == name)
    if not found:
        raise KeyError(f"no R case named {name!r}; there are {[c['name'] for c in cases()]}")
    return found[0]


def names(*, where: Where = None) -> list[str]:
    """The names of the cases (for ``pytest.mark.parametrize(..., ids=...)``)."""
    return [c["name"] for c in cases(where=where)]


def fixture(name: str) -> Path:
    """The path of a file in ``tests/fixtures/r/`` (``fixture(case["data"])``, ``fixture("new-cars.csv")``)."""
    path = FIXTURES / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: regenerate with `Rscript tests/r/make_fixtures.R`")
    return path


def columns(case: dict) -> list[str]:
    """The columns of the case's file that are read: the features, then weights and cluster if any."""
    return [*case["features"], *(c for c in carried(case) if c not in case["features"])]


def carried(case: dict) -> list[str]:
    """The case's weights and cluster columns (those it has), which :func:`table` carries beside the features."""
    return [c for c in dict.fromkeys((case.get("weights"), case.get("cluster"))) if c is not None]


def table(case: dict, *, features: list[str] | None = None):
    """The case's data read by :func:`linearnet.tables.read_table`: its target and features (``features``
    to read others), rows with a missing value dropped as R's ``lm`` drops them (airquality), and its
    weights and cluster columns carried as columns in use: ``table(c).carried[c["weights"]]``."""
    from linearnet.tables import read_table

    return read_table(
        fixture(case["data"]),
        target=case["target"],
        features=case["features"] if features is None else features,
        missing="drop",
        carry=carried(case),
        carried_in_use=True,
    )
