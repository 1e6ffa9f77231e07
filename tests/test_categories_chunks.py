"""Categories and formulas in chunks, from folders and under torchrun: the levels come from one first pass
over the category columns (:mod:`linearnet.tables.levels`), every chunk is coded by them, and the fit is the
in-memory fit of the same rows to 1e-10, with the same names and the same model file."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.cli import main
from linearnet.leastsq import solve, solve_chunks
from linearnet.tables import CategoryLevels, category_levels, read_table, table_chunks

N = 3000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """One table as a Parquet file (row groups of 400 rows), a CSV, and a folder of three Parquet files: a text
    category (levels met out of order, one level only in a row dropped for a missing target), a boolean, a
    dictionary column (pandas' category, its categories not sorted), a column of whole numbers and two of
    numbers."""
    folder = tmp_path_factory.mktemp("categories")
    rng = np.random.default_rng(20)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "z": rng.normal(size=N),
            "region": rng.choice(["south", "north", "east", "west", "centre"], N),
            "member": rng.random(N) < 0.4,
            "size": pd.Categorical(
                rng.choice(["small", "large", "medium"], N), categories=["small", "medium", "large"]
            ),
            "k": rng.integers(1, 4, N).astype(np.int64),
        }
    )
    effect = frame["region"].map({"south": 0.0, "north": 1.0, "east": -1.0, "west": 0.5, "centre": 2.0})
    frame["y"] = 1 + 2 * frame["x"] + effect + frame["member"] * 0.7 + frame["size"].cat.codes * 0.3
    frame["y"] += frame["x"] * (frame["region"] == "north") + rng.normal(size=N)
    frame.loc[17, ["region", "y"]] = ["nowhere", np.nan]  # a level only in a row dropped under --missing drop
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "t.parquet", row_group_size=400)
    frame.to_csv(folder / "t.csv", index=False)
    (folder / "parts").mkdir()
    for i, cut in enumerate(np.array_split(np.arange(N), 3)):
        part = pa.Table.from_pandas(frame.iloc[cut], preserve_index=False)
        pq.write_table(part, folder / "parts" / f"p{i}.parquet", row_group_size=300)
    return folder


FEATURES = ["x", "region", "member", "size", "k"]


def fitted(table_or_chunks, features=None):
    """The fit of a table read whole, or of chunks (with the names they give)."""
    if features is None:
        t = table_or_chunks
        return solve(t.features, t.target, feature_names=t.feature_names, fit_intercept=t.intercept)
    return solve_chunks(table_or_chunks, features, fit_intercept=table_or_chunks.intercept)


def assert_same(one, other):
    assert one.names == other.names and one.n == other.n
    for a, b in [(one.params, other.params), (one.bse, other.bse), (one.sigma, other.sigma), (one.r2, other.r2)]:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "parts"])
def test_categories_in_chunks_agree_with_the_whole_read(data, name):
    path = data / name
    whole = read_table(path, target="y", features=FEATURES, missing="drop")
    chunks, names = table_chunks(path, target="y", features=FEATURES, missing="drop", chunk_rows=350)
    assert names == whole.feature_names and chunks.coding == whole.coding and chunks.columns == whole.columns
    assert "nowhere" not in whole.coding["region"]  # only in a dropped row: not a level
    assert whole.coding["region"] == ["centre", "east", "north", "south", "west"]
    if name != "t.csv":  # a dictionary keeps its order, that of pandas' categories
        assert whole.coding["size"] == ["small", "medium", "large"]
    assert_same(fitted(chunks, names), fitted(whole))


def test_a_formula_with_categorical_terms_and_an_interaction_in_chunks(data):
    formula = "y ~ x * C(region) + member + size + C(k)"
    for path in (data / "t.parquet", data / "parts"):
        whole = read_table(path, formula=formula, missing="drop")
        chunks, names = table_chunks(path, formula=formula, missing="drop", chunk_rows=700)
        assert names == whole.feature_names and chunks.factors == whole.factors
        assert "C(k)[T.3.0]" in names and "x:C(region)[T.north]" in names
        assert_same(fitted(chunks, names), fitted(whole))


def test_a_formula_without_an_intercept_in_chunks(data):
    formula = "y ~ C(region) + x - 1"
    whole = read_table(data / "t.parquet", formula=formula, missing="drop")
    chunks, names = table_chunks(data / "t.parquet", formula=formula, missing="drop", chunk_rows=500)
    assert not chunks.intercept and names == whole.feature_names and "C(region)[centre]" in names
    assert_same(fitted(chunks, names), fitted(whole))


@pytest.mark.parametrize(
    "options",
    [{"intercept": False}, {"reference": {"region": "west", "size": "large", "member": "TRUE"}}],
    ids=["no-intercept", "reference"],
)
def test_without_an_intercept_or_with_a_reference_level_chunks_code_as_the_whole_read(data, options):
    path = data / "t.parquet"
    whole = read_table(path, target="y", features=FEATURES, missing="drop", **options)
    chunks, names = table_chunks(path, target="y", features=FEATURES, missing="drop", chunk_rows=350, **options)
    assert names == whole.feature_names and chunks.coding == whole.coding
    assert chunks.notes == [n for n in whole.notes if not n.startswith("dropped")]  # the whole read's: rows dropped
    if options.get("intercept") is False:
        assert names[1:6] == [f"region[{r}]" for r in ["centre", "east", "north", "south", "west"]]
    else:
        assert whole.coding["size"] == ["large", "small", "medium"] and "region[T.centre]" in names
    fit = options.get("intercept", True)
    one = solve(whole.features, whole.target, feature_names=whole.feature_names, fit_intercept=fit)
    assert_same(solve_chunks(chunks, names, fit_intercept=fit), one)


def test_the_first_pass_reads_the_categories_and_the_shares_join_in_file_order(data):
    path = data / "parts"
    shares = [
        category_levels(path, target="y", features=FEATURES, missing="drop", share=(r, 3), chunk_rows=200)
        for r in range(3)
    ]
    joined = CategoryLevels.union(shares).coded()
    alone = category_levels(path, target="y", features=FEATURES, missing="drop").coded()
    assert joined == alone and list(alone[0]) == ["region", "member", "size"]
    assert alone[0]["member"] == ["FALSE", "TRUE"]  # a boolean's levels, as R's logical
    with pytest.raises(ValueError, match="found over every share"):
        table_chunks(path, target="y", features=FEATURES, share=(0, 2))


def test_a_dictionary_merged_over_row_groups_and_an_ordered_one_noted(tmp_path):
    """Row groups whose dictionaries differ: the levels in the order first met, those of rows kept; an
    ordered dictionary (an ordered factor) coded by treatment contrasts, with a note saying how to ask for R's."""
    path = tmp_path / "d.parquet"
    schema = pa.schema([("y", pa.float64()), ("g", pa.dictionary(pa.int8(), pa.string(), ordered=True))])
    rng = np.random.default_rng(3)
    with pq.ParquetWriter(path, schema) as writer:
        for levels in (["lo", "mid"], ["hi", "lo", "unused"]):
            g = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 2, 50), pa.int8()), levels, ordered=True)
            writer.write_table(pa.table({"y": rng.normal(size=50), "g": g}, schema=schema))
    whole = read_table(path, target="y", features=["g"])
    chunks, _ = table_chunks(path, target="y", features=["g"], chunk_rows=30)
    assert whole.coding == chunks.coding == {"g": ["lo", "mid", "hi"]}
    note = (
        "column 'g' is an ordered factor: coded by treatment contrasts, as an unordered one (R codes an ordered "
        "factor by polynomial contrasts: ask for them with --formula and C(g, contr.poly, levels=['lo', 'mid', 'hi']))"
    )
    assert note in whole.notes and note in chunks.notes
    poly = "y ~ C(g, contr.poly, levels=['lo', 'mid', 'hi'])"
    assert read_table(path, formula=poly).feature_names[0].endswith("[.L]")
    assert_same(fitted(*table_chunks(path, formula=poly, chunk_rows=30)), fitted(read_table(path, formula=poly)))


def test_an_id_like_column_is_refused_within_the_budget_and_gaps_named(tmp_path):
    path = tmp_path / "ids.csv"
    pd.DataFrame({"id": [f"u{i}" for i in range(400)], "y": np.arange(400.0)}).to_csv(path, index=False)
    with pytest.raises(ValueError) as info:
        category_levels(path, target="y", features=["id"], chunk_rows=100, budget=100 * 8 * 50)
    assert str(info.value).startswith(f"{path}: column 'id' has over 51 levels: coded as categories, a chunk of ")
    assert str(info.value).endswith("an id-like column cannot be a feature: leave it out of the features")


def test_solve_in_chunks_writes_the_model_file_of_the_whole_read(data, tmp_path):
    """The command line: --chunk-rows reads the file in chunks; the model file is that of the whole read."""
    for argv in (
        ["--target", "y", "--features", ",".join(FEATURES)],
        ["--target", "y", "--features", ",".join(FEATURES), "--no-intercept", "--reference", "size=large"],
        ["--formula", "y ~ x * C(region) + size"],
    ):
        args = ["solve", str(data / "t.parquet"), *argv, "--missing", "drop"]
        assert main([*args, "--out", str(tmp_path / "whole.json")]) == 0
        assert main([*args, "--chunk-rows", "350", "--out", str(tmp_path / "chunks.json")]) == 0
        whole, chunks = (json.loads((tmp_path / f).read_text()) for f in ("whole.json", "chunks.json"))
        for key in ("features", "coding", "columns", "formula", "factors", "fit_intercept"):
            assert whole.get(key) == chunks.get(key), key
        np.testing.assert_allclose(chunks["coefficients"], whole["coefficients"], rtol=1e-10)


def test_solve_under_torchrun_codes_the_categories_of_every_share(data, tmp_path):
    formula = "y ~ x * C(region) + member + size"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    argv = ["-m", "linearnet", "solve", "parts", "--formula", formula, "--missing", "drop", "--timeout", "60"]
    argv += ["--out", str(tmp_path / "two.json")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen(
        [*command, *argv], cwd=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    end = time.monotonic() + 90
    try:
        _, err = p.communicate(timeout=max(1.0, end - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("torchrun did not finish within 90 s")
    assert p.returncode == 0, err
    assert "2 processes, each reading its share of the rows" in err
    two = json.loads((tmp_path / "two.json").read_text())
    whole = read_table(data / "parts", formula=formula, missing="drop")
    one = fitted(whole)
    assert two["features"] == whole.feature_names and two["factors"] == whole.factors
    np.testing.assert_allclose(two["coefficients"], one.params[1:], rtol=1e-10)
    assert two["statistics"]["n"] == one.n and two["statistics"]["r2"] == pytest.approx(one.r2, rel=1e-10)


def test_the_multinomial_logit_in_chunks_codes_its_categories_as_read_whole(tmp_path, capsys):
    """Class labels as text, a category and a row dropped for a gap: the exact logit in chunks is the whole one."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(size=1500), "g": rng.choice(["a", "b", "c"], 1500)})
    frame["label"] = np.where(frame["x"] + (frame["g"] == "b") + rng.normal(size=1500) > 0.5, "yes", "no")
    frame.loc[5, "x"] = np.nan
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    argv = ["solve", str(path), "--model", "softmax", "--target", "label", "--features", "x,g", "--missing", "drop"]
    fits = []
    for extra in ([], ["--chunk-rows", "400"]):
        assert main([*argv, *extra, "--json"]) == 0
        fits.append(json.loads(capsys.readouterr().out))
    whole, chunks = fits
    assert list(chunks["classes"]["yes"]["coefficients"]) == ["x", "g[T.b]", "g[T.c]"] and chunks["n"] == 1499
    assert numbers(chunks["classes"]) == pytest.approx(numbers(whole["classes"]), rel=1e-8, abs=1e-12)


def numbers(tree, at=""):
    """The numbers of a JSON object, by their path."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in numbers(value, f"{at}/{key}").items()}
    return {at: tree} if isinstance(tree, (int, float)) else {}


def test_a_c_column_of_numbers_and_a_word_is_a_category_in_chunks_as_read_whole(tmp_path):
    """Cars93's Cylinders (3, 4, 5, 6, 8 and rotary): inside C() the user has said it is a category."""
    rng = np.random.default_rng(3)
    cylinders = rng.choice(["4", "6", "8", "rotary"], 300)
    x = rng.normal(size=300)
    lines = [f"{v:.6f},{c},{1 + v + (c == 'rotary'):.6f}" for v, c in zip(x, cylinders, strict=True)]
    (tmp_path / "c.csv").write_text("x,cyl,y\n" + "\n".join(lines) + "\n")
    whole = read_table(tmp_path / "c.csv", formula="y ~ x + C(cyl)")
    chunks, names = table_chunks(tmp_path / "c.csv", formula="y ~ x + C(cyl)", chunk_rows=40)
    assert names == whole.feature_names == ["x", "C(cyl)[T.6]", "C(cyl)[T.8]", "C(cyl)[T.rotary]"]
    np.testing.assert_array_equal(np.vstack([c[0] for c in chunks()]), whole.features)
