"""R's transforms given what R refuses, and formulas and categories a chunked read cannot take: each refused
in one line naming what to write instead, never a traceback, never another fit."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from linearnet.tables import read_table, table_chunks
from linearnet.tables.transforms import check_state

from helpers import cli

ROWS = 40


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small table: numbers x, z, a text column g of three levels, and a Parquet copy."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("refusals")
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=ROWS).round(6),
            "z": rng.normal(size=ROWS).round(6),
            "g": rng.choice(["a", "b", "c"], ROWS),
        }
    )
    frame["y"] = (1 + 2 * frame.x - frame.z + (frame.g == "b") + rng.normal(size=ROWS) * 0.1).round(6)
    frame.to_csv(folder / "t.csv", index=False)
    frame.to_parquet(folder / "t.parquet", index=False)
    return folder


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ poly(x, 2.5)", "'degree' must be a whole number, got 2.5"),
        ("y ~ poly(x, 0)", "'degree' must be at least 1"),
        ("y ~ poly(x, 2, raw = 3)", "raw must be True or False, got 3"),
        ("y ~ poly(x, 40)", "'degree' must be less than number of unique points"),
        ("y ~ scale(x, center = 'mean')", "center must be TRUE, FALSE or a number, got 'mean'"),
        ("y ~ scale(x, scale = 'sd')", "scale must be TRUE, FALSE or a number, got 'sd'"),
        ("y ~ bs(x, df = 4, intercept = 1)", "intercept must be True or False, got 1"),
    ],
)
def test_poly_refuses_what_r_s_poly_refuses_in_one_line(data, formula, message):
    with pytest.raises(ValueError, match=f"t.csv: the formula .* cannot be applied: .*{message}") as caught:
        read_table(data / "t.csv", formula=formula)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("state", "why"),
    [
        ([1, 2], "must be an object"),
        ({"alpha": [1.0], "norm": [1.0]}, 'must hold "alpha" and "norm2"'),
        ({"alpha": [], "norm2": [1.0, 2.0]}, "alpha must be a list of 1 to"),
        ({"alpha": [1.0], "norm2": [1.0, 2.0, -3.0]}, "norm2 must be a list of 3 positive"),
        ({"center": "0", "scale": 1.0}, "center must be a finite number or null"),
        ({"center": 0.0, "scale": 0}, "scale must be a finite number other than 0"),
        ({"lower_bound": float("inf"), "upper_bound": 1.0, "knots": [0.0, 1.0]}, "lower_bound and upper_bound"),
        ({"lower_bound": 0.0, "upper_bound": 1.0, "knots": [0.0]}, "knots must be a list of 2 to"),
        ({"lower_bound": 0.0, "upper_bound": 1.0, "knots": [1.0, 0.0]}, "knots must be in increasing order"),
    ],
)
def test_a_model_file_s_transform_state_is_checked_before_it_is_applied(state, why):
    assert why in check_state(state, 3)
    assert check_state({"alpha": [1.0, 2.0], "norm2": [1.0, 40.0, 2.0, 3.0]}, 3) is None


def test_a_model_s_poly_of_another_degree_is_refused(data):
    fitted = read_table(data / "t.csv", formula="y ~ poly(x, 2)")
    factors = {"poly(x, 3)": fitted.factors["poly(x, 2)"]}
    with pytest.raises(ValueError, match=r"the model's poly\(\) has degree 2, not 3"):
        read_table(data / "t.csv", formula="y ~ poly(x, 3)", factors=factors, require_target=False)


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_r_s_dot_in_chunks_is_the_file_s_columns_as_read_whole(data, name):
    whole = read_table(data / name, formula="y ~ .")
    chunks, names = table_chunks(data / name, formula="y ~ .", chunk_rows=7)
    assert names == whole.feature_names == ["x", "z", "g[T.b]", "g[T.c]"]
    assert chunks.formula == whole.formula == "y ~ x + z + g"
    X = np.vstack([c[0] for c in chunks()])
    np.testing.assert_array_equal(X, whole.features)


def test_in_chunks_a_transform_that_learns_is_refused_and_a_formula_with_columns_too(data):
    with pytest.raises(ValueError, match=r"poly\(x, 2\) in the formula learns from the whole column.*raw = TRUE"):
        table_chunks(data / "t.csv", formula="y ~ poly(x, 2) + g", chunk_rows=7)
    _, names = table_chunks(data / "t.csv", formula="y ~ poly(x, 2, raw = TRUE)", chunk_rows=7)
    assert names == ["poly(x, 2, raw = TRUE)[1]", "poly(x, 2, raw = TRUE)[2]"]
    with pytest.raises(ValueError, match="give a formula, or a target and features, not both"):
        table_chunks(data / "t.csv", formula="y ~ x", target="y", chunk_rows=7)


def test_in_chunks_a_level_the_model_does_not_know_is_refused_with_its_row(data, tmp_path):
    lines = (data / "t.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",d," + lines[5].rsplit(",", 1)[1]
    (tmp_path / "new.csv").write_text("\n".join(lines) + "\n")
    for route in ({"formula": "y ~ x + g"}, {"target": "y", "features": ["x", "g"]}):
        chunks, _ = table_chunks(tmp_path / "new.csv", chunk_rows=7, levels={"g": ["a", "b", "c"]}, **route)
        with pytest.raises(ValueError, match=r"new.csv: .*row 5 .*'d'.* \(a, b, c\)"):
            list(chunks())


def test_in_chunks_a_category_with_one_level_is_refused(tmp_path):
    (tmp_path / "one.csv").write_text("y,g\n" + "".join(f"{i},same\n" for i in range(20)))
    with pytest.raises(ValueError, match="column 'g' holds the single value 'same': a category with one level"):
        table_chunks(tmp_path / "one.csv", target="y", features=["g"], chunk_rows=5)


def test_r_s_scale_with_a_given_centre_and_scale_is_that_arithmetic(data):
    table = read_table(data / "t.csv", formula="y ~ scale(x, center = 1, scale = 2) + center(z)")
    frame = pd.read_csv(data / "t.csv")
    np.testing.assert_allclose(table.features[:, 0], (frame.x - 1) / 2, rtol=1e-15)
    np.testing.assert_allclose(table.features[:, 1], frame.z - frame.z.mean(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["solve", "T", "--target", "y", "--features", "x,g", "--reference", "g=a", "--reference", "g=b"],
            "--reference names two levels for column 'g': give one",
        ),
        (
            ["solve", "T", "--target", "g", "--model", "softmax", "--reference", "a", "--reference", "b"],
            "--reference names one class, got 'a', 'b'",
        ),
        (
            ["train", "--data", "T", "--target", "y", "--features", "x,g", "--reference", "g"],
            "--reference takes COL=LEVEL, the reference level of a category, got 'g'",
        ),
    ],
)
def test_a_reference_level_given_wrongly_is_one_line(data, capsys, argv, message):
    code, out, err = cli(capsys, *[data / "t.csv" if a == "T" else a for a in argv])
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x | z", "has parts separated by |; write a single formula such as 'y ~ x + a'"),
        ("x ~ x + z", "has on the left of ~ only columns of its right side; write the target's column on the left"),
    ],
)
def test_a_formula_of_several_parts_or_without_a_target_of_its_own_is_refused(data, formula, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        read_table(data / "t.csv", formula=formula)


def test_files_whose_term_holds_numbers_in_one_and_words_in_another_are_refused(tmp_path):
    (tmp_path / "a.csv").write_text("y,x,g\n1,2,1\n2,3,2\n3,5,1\n")
    (tmp_path / "b.csv").write_text("y,x,g\n1,2,u\n2,3,v\n3,5,u\n")
    with pytest.raises(
        ValueError, match=r"b.csv: the formula's term 'C\(g\)' holds the level 'u', which .*a.csv does not"
    ):
        read_table(tmp_path, formula="y ~ x + C(g)")


def test_a_parsed_formula_reads_as_written_and_copies(data):
    import copy

    from linearnet.tables.formula import _parse_formula

    parsed = _parse_formula("y ~ log(x) + g", True)[0]
    twin = copy.deepcopy(parsed)
    assert str(twin) == str(parsed) == "y ~ log(x) + g" and twin.target_name == "y"
    assert _parse_formula("~ x + g", False)[0].target_name is None


def test_a_factor_of_a_parquet_number_column_with_gaps_drops_their_rows(tmp_path):
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0, 5.5, 6.0], "k": [4.0, 6.0, None, 4.0, 6.0, 8.0]})
    frame.to_parquet(tmp_path / "k.parquet", index=False)
    table = read_table(tmp_path / "k.parquet", formula="y ~ factor(k)", missing="drop")
    assert table.feature_names == ["factor(k)[T.6]", "factor(k)[T.8]"] and len(table.target) == 5


def test_in_chunks_a_category_without_levels_given_or_a_term_formulaic_cannot_apply_is_refused(data):
    with pytest.raises(ValueError, match=r"no levels are given for the categories g"):
        table_chunks(data / "t.csv", target="y", features=["x", "g"], levels={"x": []}, chunk_rows=7)
    with pytest.raises(ValueError, match=r"t.csv: the formula 'y ~ log\(g\)' cannot be applied"):
        table_chunks(data / "t.csv", formula="y ~ log(g)", chunk_rows=7)


def test_the_first_pass_of_a_table_without_categories_reads_nothing(data):
    from linearnet.tables import category_levels

    assert category_levels(data / "t.csv", target="y", features=["x", "z"]).coded() == ({}, [])
