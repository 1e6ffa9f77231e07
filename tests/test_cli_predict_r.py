"""`linearnet predict --interval` against R's predict.lm(fit, newdata, interval=, level=) on R's data sets
(tests/fixtures/r, made by tests/r/make_fixtures.R): fit, lower and upper to 10 digits, a row with a gap
kept empty (airquality), ids carried; weighted fits' prediction intervals for new rows of weight 1."""

from io import StringIO

import numpy as np
import pandas as pd
import pytest

from helpers import cli
from r_cases import cases, fixture

PREDICTED = cases(where=lambda c: c.get("predict"))


def _solve_takes_weights() -> bool:
    from linearnet.cli import _command_parser, build_parser

    return "--weights" in _command_parser(build_parser(), "solve")._option_string_actions


def _solve(case: dict, model, capsys) -> None:
    """The case's fit by linearnet solve, written to ``model``."""
    data = fixture(case["data"])
    if case["features"]:
        flags = ["--target", case["target"], "--features", ",".join(case["features"])]
    else:  # target ~ 1
        flags = ["--formula", f"{case['target']} ~ 1"]
    flags += [] if case["intercept"] else ["--no-intercept"]
    flags += ["--weights", case["weights"]] if case.get("weights") else []
    code, _, err = cli(capsys, "solve", data, *flags, "--missing", "drop", "--out", model)
    assert code == 0, err


@pytest.mark.parametrize("case", PREDICTED, ids=[c["name"] for c in PREDICTED])
def test_intervals_are_r_predict_lm(case, tmp_path, capsys):
    if case.get("weights") and not _solve_takes_weights():
        pytest.skip("a weighted fit needs solve --weights")
    model = tmp_path / "model.json"
    _solve(case, model, capsys)
    for entry in case["predict"]:
        argv = ["predict", "--model", model, fixture(entry["newdata"]), "--keep", "id", "--missing", "keep"]
        code, out, err = cli(capsys, *argv, "--interval", entry["interval"], "--level", entry["level"])
        assert code == 0, err
        got = pd.read_csv(StringIO(out), keep_default_na=False, na_values=[""])
        new = pd.read_csv(fixture(entry["newdata"]))
        assert got["id"].tolist() == new["id"].tolist()  # every row, with its id
        target = case["target"]
        for ours, r in [("predicted", "fit"), ("lower", "lwr"), ("upper", "upr")]:
            expected = np.array([np.nan if v is None else v for v in entry[r]], dtype=float)
            np.testing.assert_allclose(
                got[f"{target}_{ours}"], expected, rtol=1e-10, err_msg=f"{case['name']} {entry['interval']} {r}"
            )
