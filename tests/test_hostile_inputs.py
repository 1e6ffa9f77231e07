"""Hostile files through the commands that read them: generated CSV text, Parquet bytes and model JSON.

Whatever the bytes, ``linearnet solve``, ``train --data`` (linear and softmax), ``predict`` and
:func:`linearnet.modelfile.load_model` answer with a result or one clear refusal: exit code 0 or 2
(1 only for a diverged training run, with its one line), never a traceback, at most three lines on
stderr (notes, warnings, the error), and an existing ``--out`` file either replaced by a complete one
or left byte for byte as it was, with no temporary file left beside it.
"""

import bz2
import csv
import gzip
import io
import json
import math
import re
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearnet.modelfile import Model, SoftmaxModel, load_model, save_model
from linearnet.tables import NA_TOKENS, read_table

from helpers import cli

EXAMPLES = 100  # per command: the five properties together run in about 10 s

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # capsys is drained by every cli() call, and each example writes into a folder of its own
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- cells ------------------------------------------------------------------------------------

PLAIN = st.one_of(st.integers(-9, 9).map(str), st.floats(-5, 5).map(repr))  # a learning rate of 0.03 fits these
EXTREME = st.sampled_from(
    [
        "1e308",
        "-1e308",
        "1.7976931348623157e308",
        "1e309",
        "-1e400",
        "1e-320",
        "4.9e-324",
        "-0",
        "-0.0",
        "1" * 5000,
        "-" + "9" * 5000,
        "0." + "0" * 4000 + "1",
        "1e-5000",
        "1e5000",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "123456789012345678901234567890",
        "inf",
        "-inf",
        "Infinity",
        "+7",
        ".5",
        "5.",
        " 4 ",
        "\t5",
        "1E3",
    ]
)
NA = st.sampled_from([*NA_TOKENS, "NA ", " ", "na", "N.A.", "?", "-", "."])
NEAR = st.sampled_from(
    ["0x1A", "1_000", "1,000", "1 000", "1.500", "1.500,25", "$5", "5%", "3,5", "١٢", "1e", "--1", "1.2.3", "½", "true"]
)
TEXT = st.sampled_from(
    [
        "a",
        "b",
        "Paris",
        "Lyon",
        "x,y",
        "x;y",
        "x|y",
        "x\ty",
        'say "hi"',
        '"',
        '""',
        "line\nbreak",
        "cr\rhere",
        "é",
        "\u200b",
        "\ufeff",
        "😀",
        "=1+1",
        "'",
        "\\",
        "y",
        "x" * 3000,
        "2024-01-02",
        "12:30:00",
        "2024-01-02T03:04:05",
    ]
)
LABEL = st.one_of(st.integers(0, 3).map(str), st.sampled_from(["cat", "dog", "-1", "1.5", "2.0", "1e300", "NA", ""]))
HOSTILE = st.one_of(EXTREME, NA, NEAR, TEXT, LABEL)
NAMES = st.sampled_from(["x", "a", "city", "y", "", " y", "y ", "\ufeffy", "x,y", 'q"x', "1", "NA", "名", "a\nb"])

# a column of a file, by kind: how its cells are drawn
CELLS = {
    "number": PLAIN,
    "integer": st.integers(-5, 5).map(str),
    "category": st.sampled_from(["a", "b", "c"]),
    "classes": st.sampled_from(["0", "1", "2"]),
    "words": st.sampled_from(["cat", "dog", "emu"]),
    "extreme": st.one_of(PLAIN, EXTREME),
    "missing": st.one_of(PLAIN, NA),
    "near": st.one_of(PLAIN, NEAR),
    "text": TEXT,
    "labels": LABEL,
    "anything": st.one_of(PLAIN, HOSTILE),
}
SPOILED_KINDS = ["extreme", "missing", "near", "text", "labels", "anything", "category", "integer"]

# --- CSV files --------------------------------------------------------------------------------

# what may be wrong with a file: a few of these at a time, none in a clean file
CSV_DAMAGE = [
    *["cell", "cell", "column", "name", "extra", "drop", "ragged", "blank", "rows", "copy", "constant", "scale"],
    *["sep", "quoting", "eol", "no-final-eol", "encoding", "junk", "cut", "suffix", "whole"],
]


# whole files: empty, a BOM alone, blank lines, a header alone, Excel's sep= line, one column, a gzip header...
WHOLE_FILES = [b"", b"\xef\xbb\xbf", b"\n\n  \n", b"y\n", b"PAR1", b"sep=;\nx;y\n1;2\n3;4\n5;7\n", b"x,y\n" * 3]
WHOLE_FILES += [b"y\n1\n2\n3\n", b"x y\n1 2\n3 4\n5 7\n", b'"x","y"\n"1","2"\n"3","4"\n"5","7', b"\x1f\x8b\x08\x00"]


def _quoted(cell: str, sep: str, style: str) -> str:
    if style == "raw":  # no quoting at all: separators and line breaks in a cell break the row
        return cell
    if style == "all" or any(c in cell for c in (sep, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def csv_bytes(draw, *, columns: dict[str, str]) -> tuple[bytes, str]:
    """A CSV file of ``columns`` (name -> kind of cells), with a few things wrong with it; (bytes, suffix)."""
    damage = draw(st.lists(st.sampled_from(CSV_DAMAGE), max_size=4))
    kinds = dict(columns)
    if "classes" in kinds.values() and draw(st.booleans()):  # class labels as words
        kinds = {name: "words" if kind == "classes" else kind for name, kind in kinds.items()}
    names = list(kinds)
    n = draw(st.integers(3, 12))
    table = [[draw(CELLS[kinds[name]]) for name in names] for _ in range(n)]

    def column(j: int, kind: str) -> None:
        for row in table:
            row[j] = draw(CELLS[kind])

    for what in sorted(damage, key=lambda what: what == "ragged"):  # rows of other lengths last
        j = draw(st.integers(0, len(names) - 1)) if names else 0
        if what == "cell" and table and names:
            table[draw(st.integers(0, len(table) - 1))][j] = draw(HOSTILE)
        elif what == "column" and names:
            column(j, draw(st.sampled_from(SPOILED_KINDS)))
        elif what == "name" and names:
            names[j] = draw(NAMES)
        elif what == "extra":
            names.append(draw(NAMES))
            for row in table:
                row.append("")
            column(len(names) - 1, draw(st.sampled_from(["number", *SPOILED_KINDS])))
        elif what == "drop" and names:
            del names[j]
            for row in table:
                del row[j]
        elif what == "ragged" and table:
            row = table[draw(st.integers(0, len(table) - 1))]
            row.append(draw(PLAIN)) if draw(st.booleans()) or not row else row.pop()
        elif what == "rows":
            table = table[: draw(st.integers(0, 2))]
        elif what == "copy" and names:  # a column the copy of another: a design of lower rank
            k = draw(st.integers(0, len(names) - 1))
            for row in table:
                row[j] = row[k]
        elif what == "constant" and names:
            value = draw(st.one_of(PLAIN, EXTREME))
            for row in table:
                row[j] = value
        elif what == "scale" and names and kinds.get(names[j]) == "number":  # finite, but far from 1
            factor = draw(st.sampled_from([1e150, 1e-150, 1e300, 1e-300]))
            for row in table:
                if _is_float(row[j]):
                    row[j] = repr(float(row[j]) * factor)
    sep = draw(st.sampled_from([";", "\t", "|", " "])) if "sep" in damage else ","
    style = draw(st.sampled_from(["all", "raw"])) if "quoting" in damage else "minimal"
    eol = draw(st.sampled_from(["\r\n", "\r"])) if "eol" in damage else "\n"
    lines = [sep.join(_quoted(c, sep, style) for c in row) for row in [names, *table]]
    if "blank" in damage:
        lines.insert(draw(st.integers(1, len(lines))), draw(st.sampled_from(["", " ", sep * len(names)])))
    text = eol.join(lines) + ("" if "no-final-eol" in damage else eol)
    encoding = draw(st.sampled_from(["utf-8-sig", "latin-1", "cp1252", "utf-16"])) if "encoding" in damage else "utf-8"
    data = text.encode(encoding, errors="replace")
    if "junk" in damage:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff\xfe", b"\x80", b"\xc3", b"\x00", b"\xe2\x82"])) + data[at:]
    if "cut" in damage and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    if "whole" in damage:
        data = draw(st.one_of(st.sampled_from(WHOLE_FILES), st.binary(max_size=64)))
    suffix = (
        draw(st.sampled_from([".tsv", ".txt", "", ".csv.gz", ".gz", ".bz2", ".zst", ".parquet"]))
        if "suffix" in damage
        else ".csv"
    )
    if suffix.endswith((".gz", ".bz2")) and draw(st.booleans()):  # or not compressed after all
        data = gzip.compress(data, mtime=0) if suffix.endswith(".gz") else bz2.compress(data)
    return data, suffix


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- Parquet files ------------------------------------------------------------------------------

FLOATS = st.floats(-5, 5)
ARROW = {  # a column of a Parquet file, by kind: (cells, arrow type)
    "number": (FLOATS, pa.float64()),
    "extreme": (st.one_of(FLOATS, st.sampled_from([1e308, -1e308, 5e-324, -0.0, math.inf, -math.inf])), pa.float64()),
    "missing": (st.one_of(FLOATS, st.none(), st.just(math.nan)), pa.float64()),
    "integer": (st.one_of(st.integers(-5, 5), st.sampled_from([2**63 - 1, -(2**63), 2**53 + 1])), pa.int64()),
    "unsigned": (st.sampled_from([0, 1, 2**64 - 1]), pa.uint64()),
    "half": (st.floats(-10, 10, width=16), pa.float16()),
    "bool": (st.one_of(st.booleans(), st.none()), pa.bool_()),
    "text": (st.one_of(PLAIN, HOSTILE, st.none()), pa.string()),
    "numbers as text": (st.one_of(PLAIN, PLAIN, NEAR), pa.string()),
    "category": (st.sampled_from(["a", "b", "c"]), pa.dictionary(pa.int32(), pa.string())),
    "classes": (st.integers(0, 2), pa.int64()),
    "labels": (st.one_of(LABEL, st.none()), pa.string()),
    "null": (st.none(), pa.null()),
    "date": (st.dates(), pa.date32()),
    "bytes": (st.binary(max_size=4), pa.binary()),
    "decimal": (st.decimals(-1000, 1000, places=2), pa.decimal128(20, 2)),
    "list": (st.lists(FLOATS, max_size=2), pa.list_(pa.float64())),
    "struct": (st.fixed_dictionaries({"v": FLOATS}), pa.struct([("v", pa.float64())])),
    "large text": (st.one_of(PLAIN, TEXT), pa.large_string()),
    "time": (st.times(), pa.time64("us")),
    "timestamp": (st.datetimes(), pa.timestamp("ms", tz="UTC")),
    "duration": (st.timedeltas(timedelta(days=-9), timedelta(days=9)), pa.duration("us")),
}
PARQUET_DAMAGE = ["column", "column", "name", "extra", "drop", "rows", "twin", "row-groups", "bytes", "suffix"]


@st.composite
def parquet_bytes(draw, *, columns: dict[str, str]) -> tuple[bytes, str]:
    """A Parquet file of ``columns`` (name -> kind), with a few things wrong with it; (bytes, suffix)."""
    damage = draw(st.lists(st.sampled_from(PARQUET_DAMAGE), max_size=3))
    names, kinds = list(columns), list(columns.values())
    n = draw(st.integers(3, 10))
    for what in damage:
        j = draw(st.integers(0, len(names) - 1)) if names else 0
        if what == "column" and names:
            kinds[j] = draw(st.sampled_from(sorted(ARROW)))
        elif what == "name" and names:
            names[j] = draw(NAMES)
        elif what == "twin" and len(names) > 1:
            names[j] = names[j - 1]
        elif what == "extra":
            names.append(draw(NAMES))
            kinds.append(draw(st.sampled_from(sorted(ARROW))))
        elif what == "drop" and names:
            del names[j], kinds[j]
        elif what == "rows":
            n = draw(st.integers(0, 2))
    arrays = []
    for kind in kinds:
        cells, kind_type = ARROW[kind]
        values = draw(st.lists(cells, min_size=n, max_size=n))
        if kind == "half":
            arrays.append(pa.array(np.array(values, dtype=np.float16)))
        elif kind == "category":
            arrays.append(pa.array(values, pa.string()).dictionary_encode())
        else:
            arrays.append(pa.array(values, kind_type))
    buffer = io.BytesIO()
    groups = draw(st.sampled_from([1, 4])) if "row-groups" in damage else 64
    pq.write_table(pa.Table.from_arrays(arrays, names=names), buffer, row_group_size=groups)
    data = buffer.getvalue()
    if "bytes" in damage:
        how = draw(st.sampled_from(["cut", "byte", "tail"]))
        if how == "cut":
            data = data[: draw(st.integers(0, len(data) - 1))]
        elif how == "byte":
            at = draw(st.integers(4, len(data) - 5))
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        else:
            data = data[:-4] + b"PAR0"
    return data, draw(st.sampled_from([".pq", ".csv", "", ".parquet.gz"])) if "suffix" in damage else ".parquet"


def table_bytes(columns: dict[str, str]):
    """A CSV file (two times in three) or a Parquet file of these columns, likely with something wrong with it."""
    return st.one_of(csv_bytes(columns=columns), csv_bytes(columns=columns), parquet_bytes(columns=columns))


REGRESSION = {"x": "number", "a": "number", "y": "number"}
CLASSES = {"x": "number", "a": "number", "y": "classes"}
PREDICTORS = {"x": "number", "a": "number", "city": "category"}


# --- model files ----------------------------------------------------------------------------------

HOSTILE_VALUES = st.sampled_from(
    [None, True, False, 0, -1, 1e308, -1e308, 5e-324, float("nan"), float("inf"), "", "x", [], {}, [[]], {"a": 1}]
)


# formulas a model file may hold; {folder} is the example's folder, where nothing may appear
MODEL_FORMULAS = [
    *["y ~ x", "~", "y ~ ", "y ~ x +", "y ~ C(city)", "y ~ undefined_name(x)", "y ~ x ~ a", "y ~ x | a"],
    *[
        "y ~ np.savetxt('{folder}/written', x)",
        "y ~ I(x.to_csv('{folder}/written'))",
        "y ~ {x.to_pickle('{folder}/w')}",
    ],
    "y ~ I(np.ctypeslib.ctypes.CDLL(None).system(b'touch {folder}/written'))",
]


@st.composite
def model_json(draw) -> bytes:
    """A model file: a valid linear or softmax model (with categories, a formula, or neither), then spoiled."""
    kind = draw(st.sampled_from(["linear", "linear", "softmax", "coded", "formula"]))
    if kind == "softmax":
        model = SoftmaxModel(["x", "a"], ["0", "1", "2"], np.arange(6.0).reshape(3, 2), np.zeros(3), target="y")
    elif kind == "coded":
        model = Model(
            ["x", "city[T.b]", "city[T.c]"], [1.0, 2.0, 3.0], 0.5, target="y", columns=["x", "city"],
            coding={"city": ["a", "b", "c"]},
        )  # fmt: skip
    elif kind == "formula":
        model = Model(["x", "np.log(a)"], [1.0, -1.0], 2.0, target="y", columns=["x", "a"], formula="y ~ x + np.log(a)")
    else:
        model = Model(["x", "a"], [2.0, -3.0], 1.0, target="y")
    data = model.to_dict()
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([*data, "coding", "columns", "formula", "format_version", "classes"]))
        how = draw(st.sampled_from(["delete", "value", "value", "list", "twin", "huge"]))
        if how == "delete":
            data.pop(key, None)
        elif how == "value":
            data[key] = draw(HOSTILE_VALUES)
        elif how == "list":
            data[key] = draw(st.lists(st.one_of(HOSTILE_VALUES, NAMES), max_size=4))
        elif how == "twin" and isinstance(data.get(key), list) and data[key]:
            data[key] = [*data[key], data[key][0]]
        elif how == "huge":
            data[key] = 10**400 if draw(st.booleans()) else [1e308] * 3
    if draw(st.integers(0, 5)) == 0:
        data["formula"] = draw(st.sampled_from(MODEL_FORMULAS))
    text = json.dumps(data, allow_nan=True, default=str)
    spoil = draw(st.sampled_from([None] * 8 + ["cut", "digits", "deep", "bom", "latin", "twins"]))
    if spoil == "cut":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif spoil == "digits":
        text = re.sub(r"-?\d+\.\d+", "1" * 5000, text, count=1)  # a number of 5,000 digits
    elif spoil == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif spoil == "bom":
        text = "\ufeff" + text
    elif spoil == "twins":  # a key twice: JSON readers keep the last
        text = text[:-1] + ', "features": ["x", "x"]}'
    if spoil == "latin":
        return text.replace('"y"', '"ÿ"').encode("latin-1", errors="replace")
    return text.encode("utf-8")


# --- the properties ---------------------------------------------------------------------------------

SENTINEL = b"an older file that a failed run must leave as it was\n"


def run(capsys, *argv, out: Path | None = None, folder: Path):
    """Run the command in this process and check the properties every run has; (exit code, stdout, stderr)."""
    before = sorted(p.name for p in folder.iterdir())
    old = out.read_bytes() if out is not None and out.exists() else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, stdout, stderr = cli(capsys, *argv)
    # a warning Python prints (not one of the command's own lines) lands on stderr too, as two lines
    shown = [
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
        for w in caught
        if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning))
    ]
    stderr += "".join(shown)
    lines = stderr.splitlines()
    assert "Traceback" not in stderr, stderr
    assert code in (0, 1, 2), (code, stderr)
    assert len(lines) <= 3, stderr
    assert all(line.startswith(f"linearnet {argv[0]}: ") for line in lines), stderr  # its own lines only
    errors = [line for line in lines if line.startswith(f"linearnet {argv[0]}: error: ")]
    if code == 0:
        assert not errors, stderr
    else:  # one error, the last line, after the notes and warnings
        assert errors == lines[-1:], stderr
    if code == 1:
        assert argv[0] == "train" and re.search(r"training (diverged|did not move|left the range)", errors[0]), stderr
    after = sorted(p.name for p in folder.iterdir())
    if out is not None and out.name not in before and code == 0:
        before.append(out.name)
    assert after == sorted(before), f"files before {before}, after {after}"  # no temporary file left behind
    if out is not None and code == 0:
        written = out.read_bytes() if out.exists() else b""
        assert written not in (b"", SENTINEL), f"the run succeeded but wrote {written!r}"  # a header, at least
    if out is not None and old is not None and code != 0:
        assert out.read_bytes() == old, "a failed run changed the existing output file"
    return code, stdout, stderr


# a data file's name: plain, or with the characters of a pattern, a space, a comma, letters beyond ASCII;
# or the data named by their folder or by a pattern
STEMS = st.sampled_from(["data"] * 6 + ["sales[2024]", "what?", "all*", "with space", "ünï", "a,b"])
STEMS |= st.sampled_from(["<folder>", "<pattern>"])


def _write(folder: Path, name: str, data: bytes) -> Path:
    stem = name.split(".")[0] if name.startswith("<") else None
    path = folder / ("data" + name[len(stem) :] if stem else name)
    path.write_bytes(data)
    if stem == "<folder>":
        return folder
    if stem in ("<pattern>", "<no match>"):
        return folder / ("d*" if stem == "<pattern>" else "none*.csv")
    return path


def _out(folder: Path, draw_existing: bool, name: str) -> Path:
    out = folder / name
    if draw_existing:
        out.write_bytes(SENTINEL)
    return out


OPTIONS = st.lists(
    st.sampled_from(
        [("--missing", "drop"), ("--missing", "drop"), ("--sep", "tab"), ("--decimal", ","), ("--features", "x,a")]
        + [("--features", "x"), ("--features", "city"), ("--features", "x,city"), ("--sep", ";")]
        + [("--features", "x,x"), ("--features", "a, x"), ("--features", "y"), ("--sep", "|"), ("--decimal", ".")]
    ),
    max_size=2,
    unique_by=lambda option: option[0],
)
FORMULAS = ["y ~ x", "y ~ x + a", "y ~ C(city) + x", "y ~ np.log(x)", "y ~ x - 1", "y ~ x:a", "y ~ np.exp(x)"]
FORMULAS += ["y ~ C(a) + x", "y ~ x | a", "y ~ center(x)", "np.log(y) ~ x", "y ~ I(x ** 400)", "y ~ I(1e308 * x)"]


def _flags(options) -> list[str]:
    return [part for option in options for part in option]


@SETTINGS
@given(
    file=table_bytes(REGRESSION),
    options=OPTIONS,
    extra=st.lists(
        st.sampled_from(["--no-intercept", "--allow-rank-deficient", "--json", "--chunk-rows=3"]), max_size=2
    ),
    formula=st.one_of(*[st.none()] * 5, st.sampled_from(FORMULAS)),
    existing=st.booleans(),
    stem=STEMS,
)
def test_solve_answers_any_table_with_a_fit_or_one_line(capsys, file, options, extra, formula, existing, stem):
    data, suffix = file
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = _write(folder, stem + suffix, data)
        out = _out(folder, existing, "model.json")
        target = ["--target", "y"] if formula is None else ["--formula", formula]  # some flags refuse a formula
        argv = ["solve", path, *target, *_flags(options), *dict.fromkeys(extra), "--out", out]
        code, stdout, _ = run(capsys, *argv, out=out, folder=folder)
        if code == 0:
            assert isinstance(load_model(out), Model)
            if "--json" in extra:
                json.loads(stdout, parse_constant=_refuse_constant)


def _refuse_constant(name):
    raise AssertionError(f"{name} in JSON output: not standard JSON")


@SETTINGS
@given(
    file=table_bytes(REGRESSION),
    options=OPTIONS,
    epochs=st.integers(1, 2),
    lr=st.sampled_from(["0.03", "0.03", "0.03", "1e6", "1e-30"]),
    extra=st.lists(st.sampled_from(["--standardize", "--json", "--impl=concise", "--batch-size=1"]), max_size=2),
    formula=st.one_of(*[st.none()] * 5, st.sampled_from(FORMULAS)),
    existing=st.booleans(),
    stem=STEMS,
)
def test_train_answers_any_table_with_a_model_or_one_line(
    capsys, file, options, epochs, lr, extra, formula, existing, stem
):
    data, suffix = file
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = _write(folder, stem + suffix, data)
        out = _out(folder, existing, "model.json")
        target = ["--target", "y"] if formula is None else ["--formula", formula]
        argv = ["train", "--data", path, *target, *_flags(options), "--epochs", epochs, "--lr", lr]
        code, stdout, _ = run(capsys, *argv, *dict.fromkeys(extra), "--out", out, out=out, folder=folder)
        if code == 0:
            assert isinstance(load_model(out), Model)
            if "--json" in extra:
                json.loads(stdout, parse_constant=_refuse_constant)


@SETTINGS
@given(
    file=table_bytes(CLASSES),
    options=OPTIONS,
    epochs=st.integers(1, 2),
    lr=st.sampled_from(["0.1", "0.1", "0.1", "1e9"]),
    existing=st.booleans(),
    stem=STEMS,
)
def test_softmax_answers_any_labelled_table_with_a_model_or_one_line(capsys, file, options, epochs, lr, existing, stem):
    data, suffix = file
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = _write(folder, stem + suffix, data)
        out = _out(folder, existing, "model.json")
        argv = ["train", "--model", "softmax", "--data", path, "--target", "y", *_flags(options)]
        code, _, _ = run(capsys, *argv, "--epochs", epochs, "--lr", lr, "--out", out, out=out, folder=folder)
        if code == 0:
            assert isinstance(load_model(out), SoftmaxModel)


@SETTINGS
@given(
    model=model_json(),
    file=table_bytes(PREDICTORS),
    options=st.lists(st.sampled_from([("--sep", ";"), ("--decimal", ",")]), max_size=1),
    suffix=st.sampled_from([".csv", ".csv", ".parquet"]),
    existing=st.booleans(),
    stem=STEMS,
)
def test_predict_answers_any_model_and_table_with_predictions_or_one_line(
    capsys, model, file, options, suffix, existing, stem
):
    data, data_suffix = file
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = _write(folder, stem + data_suffix, data)
        model_path = _write(folder, "model.json", model.replace(b"{folder}", name.encode()))
        out = _out(folder, existing, "predictions" + suffix)
        argv = ["predict", path, "--model", model_path, *_flags(options), "--out", out]
        code, _, _ = run(capsys, *argv, out=out, folder=folder)
        if code == 0:  # one prediction for each row of the file
            loaded = load_model(model_path)
            formula = getattr(loaded, "formula", None)
            try:
                table = read_table(
                    path,
                    features=None if formula else loaded.columns or loaded.features,
                    require_target=False,
                    levels=loaded.coding or {},
                    formula=formula,
                    **{flag[2:]: value for flag, value in options},
                )
            except ValueError as exc:
                raise AssertionError(f"predict wrote predictions for a file the reader refuses: {exc}") from None
            if suffix == ".parquet":
                rows = pq.read_table(out).num_rows
            else:
                with open(out, newline="", encoding="utf-8") as fh:
                    rows = len(list(csv.reader(fh))) - 1
            assert rows == table.num_rows


@SETTINGS
@given(model=model_json())
def test_load_model_returns_a_model_or_refuses_it_with_the_file_named(model):
    with tempfile.TemporaryDirectory() as name:
        path = _write(Path(name), "model.json", model)
        try:
            loaded = load_model(path)
        except (ValueError, TypeError) as exc:
            assert str(exc).startswith(f"{path}: "), exc
            assert "\n" not in str(exc), exc
        else:
            assert isinstance(loaded, Model | SoftmaxModel)
            X = np.ones((2, len(loaded.features)))
            try:
                columns = loaded.prediction_columns(X)
            except ValueError as exc:  # coefficients too large for these rows, say
                assert "\n" not in str(exc), exc
            else:
                assert all(len(v) == 2 for v in columns.values())


# --- predictions that match their model: model files, formulas, estimator parameters --------------------

FEW = settings(SETTINGS, max_examples=15)


def _fit_formula(capsys, folder: Path, formula: str, text: str) -> Path:
    """The model file of ``solve --formula`` on the CSV ``text``."""
    data, model = folder / "fit.csv", folder / "m.json"
    data.write_text(text)
    code, _, err = cli(capsys, "solve", data, "--formula", formula, "--out", model)
    assert code == 0, err
    return model


def _predicted(capsys, model: Path, data: Path) -> tuple[int, list[float], str]:
    code, out, err = cli(capsys, "predict", data, "--model", model)
    assert "Traceback" not in err and len(err.splitlines()) <= 1, err
    return code, [float(v) for v in out.split()[1:]] if code == 0 else [], err


G_FIT = "y,g,x\n1,1,0.5\n2,2,1.5\n3,3,2\n4,1,3\n5,2,1\n7,3,2\n"


@FEW
@given(g=st.lists(st.sampled_from([1, 2, 3, 4]), min_size=1, max_size=6), x=st.integers(-3, 3))
def test_predict_codes_a_formula_with_the_levels_the_model_was_fitted_on(capsys, g, x):
    """C(g) on a numeric column: the model's levels, not the new rows', code the design; a level the model does
    not know is refused with the term, the level and the row."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model_path = _fit_formula(capsys, folder, "y ~ x + C(g)", G_FIT)
        model = load_model(model_path)
        data = folder / "new.csv"
        data.write_text("g,x\n" + "".join(f"{v},{x}\n" for v in g))
        code, got, err = _predicted(capsys, model_path, data)
        if 4 in g:
            row = g.index(4) + 1
            assert code == 2, err
            assert f"row {row} (line {row + 1})" in err and "'C(g)'" in err and "4.0" in err, err
            return
        assert code == 0, err
        coef = dict(zip(model.features, model.coefficients, strict=True))
        want = [model.intercept + coef["x"] * x + coef.get(f"C(g)[T.{v:.1f}]", 0.0) for v in g]
        assert got == pytest.approx(want)


@FEW
@given(order=st.permutations([0, 1, 2]), levels=st.permutations([1.0, 2.0, 3.0]))
def test_a_model_file_reordered_is_applied_by_name_or_refused(capsys, order, levels):
    """Features (with their coefficients) in another order are applied by name; levels in another order than
    the features were coded with are refused, naming the columns that differ."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model_path = _fit_formula(capsys, folder, "y ~ x + C(g)", G_FIT)
        data = folder / "new.csv"
        data.write_text("g,x\n1,1\n2,0\n3,2\n")
        _, want, _ = _predicted(capsys, model_path, data)
        record = json.loads(model_path.read_text())
        record["features"] = [record["features"][j] for j in order]
        record["coefficients"] = [record["coefficients"][j] for j in order]
        record.pop("uncertainty"), record.update(format_version=2)
        record["factors"]["C(g)"] = list(levels)
        model_path.write_text(json.dumps(record))
        code, got, err = _predicted(capsys, model_path, data)
        if levels[0] == 1.0 and list(levels) != [1.0, 2.0, 3.0]:  # 1 still the reference: T.3 before T.2
            assert code == 0, err
            assert got == pytest.approx(want)
        elif list(levels) == [1.0, 2.0, 3.0]:
            assert code == 0, err
            assert got == pytest.approx(want)
        else:
            assert code == 2 and "the design rebuilt from the data" in err, err


def test_a_formula_over_a_folder_codes_its_categories_alike_in_every_file(tmp_path):
    """Files of one folder whose C(g) holds different levels are coded with the levels of all of them."""
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("y,g,x\n1,1,0.5\n2,2,1.5\n3,1,2\n4,2,3\n")
    (folder / "b.csv").write_text("y,g,x\n5,1,1\n7,3,2\n6,3,0\n9,1,4\n")
    whole = tmp_path / "whole.csv"
    whole.write_text("y,g,x\n1,1,0.5\n2,2,1.5\n3,1,2\n4,2,3\n5,1,1\n7,3,2\n6,3,0\n9,1,4\n")
    both, one = read_table(folder, formula="y ~ x + C(g)"), read_table(whole, formula="y ~ x + C(g)")
    assert both.feature_names == one.feature_names == ["x", "C(g)[T.2.0]", "C(g)[T.3.0]"]
    np.testing.assert_array_equal(both.features, one.features)
    assert both.factors == one.factors == {"C(g)": [1.0, 2.0, 3.0]}


TAMPERED = [
    ('"intercept": 0.5', '"intercept": 0.5, "intercept": 9.5', "written twice"),
    ('"standardization": null', '"standardization": {"mean": [0, 0], "scale": [1, 0]}', "scales above 0"),
    ('"standardization": null', '"standardization": {"mean": [0, 0], "scale": [1, -2]}', "scales above 0"),
    ('"standardization": null', '"standardization": {"mean": [0, 0], "scale": [1, NaN]}', "NaN"),
    ('"training": {}', '"training": []', "training must be an object"),
    ('"intercept": 0.5', '"intercept": Infinity', "Infinity"),
]


@pytest.mark.parametrize(("old", "new", "why"), TAMPERED)
def test_model_files_with_twin_keys_or_unusable_scales_are_refused(tmp_path, old, new, why):
    path = tmp_path / "m.json"
    save_text = json.dumps(Model(["x", "a"], [1.0, 2.0], 0.5, target="y").to_dict())
    assert old in save_text
    path.write_text(save_text.replace(old, new, 1))
    with pytest.raises(ValueError, match=re.escape(f"{path}: not a usable linearnet model file: ")) as info:
        load_model(path)
    assert why in str(info.value)


def test_an_endless_model_file_is_refused_without_reading_it_all(capsys):
    code, _, err = cli(capsys, "predict", HOUSES_PATH, "--model", "/dev/zero")
    assert code == 2 and err.startswith("linearnet predict: error: /dev/zero: not a usable linearnet model file"), err
    assert len(err.splitlines()) == 1


HOUSES_PATH = str(Path(__file__).resolve().parent.parent / "examples" / "houses.csv")
FACES = ["LinearRegression", "LogisticRegression", "SGDRegressor", "SoftmaxRegression"]


@SETTINGS
@given(model=model_json(), face=st.sampled_from(FACES), field=st.sampled_from(["training", "statistics", None]))
def test_the_scikit_learn_faces_load_a_model_file_or_raise_value_error(model, face, field):
    """A tampered model file through a face's load: a fitted estimator or a ValueError naming the file."""
    from linearnet import sklearn as faces

    record = None
    try:
        record = json.loads(model)
    except (ValueError, RecursionError):
        pass
    if isinstance(record, dict) and field is not None:  # fields the faces read back, spoiled
        spoiled = {"n": "many", "rank": [], "intercept": {}, "coefficients": {"x": 1}, "epochs": 1e308}
        record[field] = {**(record.get(field) if isinstance(record.get(field), dict) else {}), **spoiled}
        model = json.dumps(record).encode()
    with tempfile.TemporaryDirectory() as name:
        path = _write(Path(name), "model.json", model)
        try:
            getattr(faces, face).load(path)
        except ValueError as exc:
            assert str(exc).startswith(f"{path}: "), exc


def test_a_column_named_intercept_is_not_merged_into_the_intercept(tmp_path, capsys):
    data = tmp_path / "i.csv"
    data.write_text("y,x,Intercept\n1,0,1\n2,1,3\n3,2,2\n5,3,7\n4,5,1\n")
    code, _, err = cli(capsys, "solve", data, "--formula", "y ~ x + Intercept")
    assert code == 2 and "Intercept" in err and len(err.splitlines()) == 1, err
    table = read_table(data, formula="y ~ x + I(Intercept)")  # written apart, it is a term of its own
    assert table.feature_names == ["x", "I(Intercept)"] and table.intercept


@pytest.mark.parametrize("formula", ["y ~ 0", "y ~ x - x - 1", "y ~ -1"])
def test_a_formula_whose_design_is_empty_is_refused_in_one_line(tmp_path, capsys, formula):
    data = tmp_path / "d.csv"
    data.write_text("y,x\n1,0\n2,1\n3,2\n5,3\n")
    code, _, err = cli(capsys, "solve", data, "--formula", formula)
    assert code == 2 and err.count("\n") == 1 and repr(formula) in err and "empty" in err, err


@FEW
@given(term=st.sampled_from(["np.log(x)", "np.sqrt(x - 3)", "np.log(x - 1)"]), rows=st.integers(0, 3))
def test_a_term_that_is_not_finite_names_the_term_and_the_row(capsys, term, rows):
    with tempfile.TemporaryDirectory() as name:
        data = Path(name) / "d.csv"
        values = [5, 6, 7][:rows] + [0] + [4, 8]
        data.write_text("y,x\n" + "".join(f"{j},{v}\n" for j, v in enumerate(values)))
        code, _, err = cli(capsys, "solve", data, "--formula", f"y ~ {term}")
        row = next(j for j, v in enumerate(values, start=1) if not np.isfinite(_term(term, v)))
        assert code == 2 and f"'{term}'" in err and f"row {row} (line {row + 1})" in err, err
        assert len(err.splitlines()) == 1, err


def _term(term: str, x: float) -> float:
    with np.errstate(all="ignore"):
        return float(eval(term, {"np": np, "x": np.float64(x)}))


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ s(x)",  # mgcv's spline
        "y ~ x + " + " + ".join(f"x{j}" for j in range(1_000)),
        "y ~ x + " + "z" * 100_000,  # a formula of 100 KB
        "y ~ x + " + "(" * 60_000,
    ],
)
def test_formula_messages_are_bounded_and_speak_of_the_formula_alone(tmp_path, capsys, formula):
    data = tmp_path / "d.csv"
    data.write_text("y,x\n1,0\n2,1\n3,2\n5,3\n")
    code, _, err = cli(capsys, "solve", data, "--formula", formula)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert len(err) < 1000 and "__formulaic" not in err, err


def test_a_column_name_of_a_megabyte_is_not_echoed_whole(tmp_path, capsys):
    long = "c" * 1_000_000
    data = tmp_path / "d.csv"
    data.write_text(f"y,x,{long}\n1,0,a\n2,1,b\n3,2,a\n5,3,b\n")
    for argv in (["--target", "y", "--features", "x,nope"], ["--target", "y", "--features", f"x,{long}x"]):
        code, _, err = cli(capsys, "solve", data, *argv)
        assert code == 2 and len(err) < 2000 and "1,000,000 characters" in err, err[:300]


def test_an_id_column_is_refused_before_its_dummies_are_made(tmp_path, capsys, monkeypatch):
    """An id-like text column named as a feature: its n × (n − 1) 0/1 columns are never allocated."""
    from linearnet.tables import design

    monkeypatch.setattr(design, "_dummy_budget", lambda: 1 << 20)  # 1 MB
    made: list[tuple] = []
    zeros = np.zeros
    monkeypatch.setattr(design.np, "zeros", lambda shape, *a, **k: (made.append(shape), zeros(shape, *a, **k))[1])
    n = 2_000
    data = tmp_path / "ids.csv"
    data.write_text("y,x,id\n" + "".join(f"{j % 7},{j % 5},id{j}\n" for j in range(n)))
    code, _, err = cli(capsys, "solve", data, "--target", "y", "--features", "x,id")
    assert code == 2 and "'id' has 2,000 levels" in err and len(err.splitlines()) == 1, err
    assert all(np.prod(shape) < n * 100 for shape in made), made


@FEW
@given(
    face=st.sampled_from(FACES),
    flag=st.sampled_from(["fit_intercept", "allow_rank_deficient", "standardize", "early_stopping"]),
    value=st.sampled_from(["False", "no", "0", "", "True", 0, 1, None, 0.0, [False]]),
)
def test_a_boolean_parameter_given_anything_but_a_bool_is_refused_at_fit(face, flag, value):
    from linearnet import sklearn as faces

    estimator = getattr(faces, face)()
    if flag not in estimator.get_params():
        return
    estimator.set_params(**{flag: value})
    X, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    with pytest.raises((TypeError, ValueError), match=flag):
        estimator.fit(X, y)


def test_a_value_outside_the_levels_a_formula_names_is_refused_with_its_row(tmp_path, capsys):
    """C(x, levels=[...]) without a value of x: refused with its row, not coded as no level with a warning."""
    data = tmp_path / "d.csv"
    data.write_text("y,x\n1,0\n2,1\n3,2\n5,3\n4,5\n6,1\n")
    code, _, err = cli(capsys, "solve", data, "--formula", "y ~ C(x, levels=[0, 1, 2, 3])")
    assert code == 2 and "row 5 (line 6)" in err and "C(x, levels=[0, 1, 2, 3])" in err, err
    assert len(err.splitlines()) == 1, err


# --- the reader: memory budgets, inputs read once, OS errors on inputs, numbers read ---------------------

READER = settings(SETTINGS, max_examples=12)
WAIT = 60  # seconds a read of a pipe may take before the test calls it hung


def _rows_text(rows: list[tuple[int, float]]) -> bytes:
    return b"x,y\n" + b"".join(b"%d,%r\n" % (x, y) for x, y in rows)


ROWS = st.lists(st.tuples(st.integers(-1000, 1000), st.floats(-1e6, 1e6)), min_size=2, max_size=60)


def _fed(kind: str, folder: Path, data: bytes):
    """A path to ``data`` that can be read once: a named pipe (os.mkfifo) or /dev/fd/N (what ``<(...)`` and
    /dev/stdin on a pipe are), fed by a writer thread; (path, thread, what to close after)."""
    import os
    import threading

    if kind == "fifo":
        path = folder / "pipe.csv"
        os.mkfifo(path)

        def write() -> None:
            with open(path, "wb") as fh:  # blocks until the reader opens the pipe
                fh.write(data)

        closing: list[int] = []
    else:
        r, w = os.pipe()
        path = Path(f"/dev/fd/{r}")

        def write() -> None:
            with os.fdopen(w, "wb") as fh:
                fh.write(data)

        closing = [r]
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return path, writer, closing


def _bounded(call, seconds: float = WAIT):
    """``call()`` in a thread, waited for at most ``seconds``: a read that hangs fails the test, not the run."""
    import threading

    box: dict = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the read hung for {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@READER
@given(rows=ROWS, kind=st.sampled_from(["fifo", "fd"]), chunked=st.booleans(), gz=st.booleans())
def test_an_input_that_can_be_read_once_is_read_once(rows, kind, chunked, gz):
    """A named pipe and /dev/fd/N (``<(...)``, /dev/stdin on a pipe) are read once, sniffed on the bytes read,
    compressed or not: the rows a plain file of the same bytes gives, whole and in chunks, with no hang."""
    import os

    from linearnet.tables import plan_read, table_chunks

    data = _rows_text(rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = folder / "plain.csv"
        plain.write_bytes(data)
        expected = read_table(plain, target="y")
        path, writer, closing = _fed(kind, folder, gzip.compress(data) if gz else data)
        try:
            if chunked:
                chunks, _ = _bounded(lambda: table_chunks(path, target="y", chunk_rows=7))
                passes = [np.concatenate([y for _, y in chunks()]) for _ in range(2)]  # a pass, then another
                assert all(p.tolist() == expected.target.tolist() for p in passes)
            else:
                assert not _bounded(lambda: plan_read(path, 1 << 30)).chunked  # measured, then read: still once
                table = _bounded(lambda: read_table(path, target="y"))
                assert table.path == str(path) and table.target.tolist() == expected.target.tolist()
                assert table.features.tolist() == expected.features.tolist()
            writer.join(WAIT)
        finally:
            for fd in closing:
                os.close(fd)


def test_a_named_pipe_read_by_the_command_ends_and_a_silent_one_yields_to_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    path, writer, _ = _fed("fifo", tmp_path, _rows_text([(1, 2.0), (2, 4.1), (3, 5.9), (4, 8.2)]))
    command = [sys.executable, "-m", "linearnet", "solve", str(path), "--target", "y", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0 and json.loads(done.stdout)["n"] == 4, done.stderr
    writer.join(WAIT)
    silent = tmp_path / "silent"
    os.mkfifo(silent)  # no writer ever: the command waits, and SIGTERM ends the wait
    proc = subprocess.Popen([*command[:4], str(silent), *command[5:]], stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 128 + signal.SIGTERM and err == "linearnet: terminated\n"


def _unreadable(folder: Path, how: str) -> tuple[Path, str]:
    """A data path that the OS refuses to read, and what the one line says of it."""
    import os

    if how == "loop":
        (folder / "a.csv").symlink_to(folder / "b.csv")
        (folder / "b.csv").symlink_to(folder / "a.csv")
        return folder / "a.csv", "is a loop of symbolic links"
    if how == "long":
        return folder / ("n" * 300 + ".csv"), "no file can have this name: it is too long"
    if how == "not a folder":
        (folder / "f.csv").write_text("x,y\n1,2\n")
        return folder / "f.csv" / "g.csv", "no such file (a part of its path is a file, not a folder)"
    inner = folder / "parts"  # permission: a file inside a folder that cannot be read
    inner.mkdir()
    (inner / "a.csv").write_text("x,y\n1,2\n2,3\n3,5\n")
    locked = inner / "b.csv"
    if os.geteuid() == 0:  # root reads any file of mode 0: a file even root may not read (write-only in /proc)
        locked.symlink_to("/proc/sys/vm/compact_memory")
    else:
        locked.write_text("x,y\n1,2\n")
        locked.chmod(0)
    return inner, f"{locked}: cannot be read (Permission denied)"


@settings(SETTINGS, max_examples=8)
@given(how=st.sampled_from(["loop", "long", "not a folder", "permission"]), command=st.sampled_from(["solve", "train"]))
def test_an_input_the_os_refuses_is_one_line_naming_it(capsys, how, command):
    """ELOOP, ENAMETOOLONG, ENOTDIR, EACCES (of a file, or one inside a folder): one line that names the file
    and says what is true, from the library and the commands alike."""
    from linearnet.tables import plan_read, table_chunks

    with tempfile.TemporaryDirectory() as tmp:
        path, said = _unreadable(Path(tmp), how)
        for read in (lambda: plan_read(path, 1 << 20), lambda: read_table(path, target="y")):
            try:
                read()  # the plan may leave the refusal to the read
            except ValueError as exc:
                assert said in str(exc) and "\n" not in str(exc) and len(str(exc)) < 400
        with __import__("pytest").raises(ValueError) as info:
            table_chunks(path, target="y")
        assert said in str(info.value) and "no such file" not in str(info.value).replace(said, "")
        argv = [command, path, "--target", "y"] if command == "solve" else [command, "--data", path, "--target", "y"]
        code, _, err = run(capsys, *argv, folder=Path(tmp))
        assert code == 2 and said in err and len(err.splitlines()) == 1


@READER
@given(codec=st.sampled_from(["gzip", "bz2", "xz", "stdin"]), repeat=st.integers(30_000, 60_000))
def test_compressed_files_and_standard_input_are_planned_by_the_budget(monkeypatch, codec, repeat):
    """A compressed file or standard input that would take more than the budget read whole is read in chunks,
    measured as the same bytes in a plain file are (about as much: the bytes per row are measured)."""
    import lzma
    import sys

    from linearnet.tables import plan_read, whole_read_bytes

    data = b"a,b,c,y\n" + b"1,2,3,4.5\n7,8,9,1.25\n" * repeat  # ~1 MB that compresses to ~1 KB
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.csv"
        plain.write_bytes(data)
        need = whole_read_bytes(plain)
        assert need is not None and need > 8 * len(data)  # many short numbers: far more than 3x the file's size
        if codec == "stdin":
            monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(gzip.compress(data))})())
            path = "-"
        else:
            path = Path(tmp) / f"packed.csv.{ {'gzip': 'gz', 'bz2': 'bz2', 'xz': 'xz'}[codec] }"
            path.write_bytes({"gzip": gzip, "bz2": bz2, "xz": lzma}[codec].compress(data))
        over = plan_read(path, need // 2)
        assert over.chunked and over.note is not None and "is read in chunks" in over.note
        within = plan_read(path, 2 * need)
        assert not within.chunked and within.need == __import__("pytest").approx(need, rel=0.01)


def test_predict_reads_every_source_in_chunks_never_whole(tmp_path, capsys, monkeypatch):
    """A folder, a compressed file and standard input are predicted a chunk at a time, as a plain file is."""
    import sys

    import linearnet.tables as tables

    data = _rows_text([(i, 2.0 * i + 1) for i in range(50)])
    (tmp_path / "train.csv").write_bytes(data)
    assert cli(capsys, "solve", tmp_path / "train.csv", "--target", "y", "--out", tmp_path / "m.json")[0] == 0
    (folder := tmp_path / "parts").mkdir()
    (folder / "a.csv").write_bytes(data)
    (folder / "b.csv.gz").write_bytes(gzip.compress(data))
    expected = cli(capsys, "predict", "--model", tmp_path / "m.json", tmp_path / "train.csv")[1]

    def whole(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(tables, "read_table", whole)
    for source in (folder, folder / "b.csv.gz", "-"):
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(data)})())
        code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", source)
        assert code == 0, err
        assert out == (expected + expected.split("\n", 1)[1] if source == folder else expected)


def test_running_out_of_memory_is_one_line(capsys, monkeypatch):
    import linearnet.tables as tables

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 10.6 MiB for an array with shape (462910, 3) and data type float64")

    monkeypatch.setattr(tables, "read_table", exhausted)
    code, out, err = cli(capsys, "solve", Path(__file__).parent / "data" / "houses.csv", "--target", "price")
    assert (code, out) == (1, "") and len(err.splitlines()) == 1
    assert (
        err.startswith("linearnet solve: error: out of memory (Unable to allocate 10.6 MiB")
        and "--memory-budget" in err
    )


@READER
@given(
    row=st.integers(0, 29),
    value=st.sampled_from([2**53 + 1, -(2**53) - 3, 2**62 + 1, 2**63 + 5]),
    fmt=st.sampled_from(["csv", "parquet"]),
    chunk_rows=st.integers(1, 40),
)
def test_whole_numbers_beyond_2_53_are_refused_alike_whole_and_in_chunks(row, value, fmt, chunk_rows):
    """A whole number float64 would round: refused read whole and in chunks alike, its file, column and row
    named (uint64 of Parquet too); one float64 holds exactly is read."""
    from linearnet.tables import table_chunks

    xs = [float(i) for i in range(30)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"big.{fmt}"
        if fmt == "csv":
            cells = [str(int(x)) for x in xs]
            cells[row] = str(value)
            path.write_text("x,y\n" + "".join(f"{c},{i * 0.5}\n" for i, c in enumerate(cells)))
        else:
            ints = [int(x) for x in xs]
            ints[row] = value
            kind = pa.uint64() if value >= 2**63 else pa.int64()
            pq.write_table(pa.table({"x": pa.array(ints, kind), "y": [i * 0.5 for i in range(30)]}), path)
        if fmt == "csv" and value >= 2**63:
            return  # beyond int64: a CSV's column is then of decimal numbers, read as written
        messages = []
        for read in (
            lambda: read_table(path, target="y"),
            lambda: [c for c in table_chunks(path, target="y", chunk_rows=chunk_rows)[0]()],
        ):
            with __import__("pytest").raises(ValueError) as info:
                read()
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert (
            messages[0].startswith(f"{path}: column 'x', row {row + 1}") and f"{value} is a whole number" in messages[0]
        )
    exact = 2**53 + 2  # float64 holds it
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exact.csv"
        path.write_text("x,y\n1,1\n2,2.5\n" + f"{exact},3\n")
        assert read_table(path, target="y").features[2, 0] == float(exact)
        assert np.concatenate([X for X, _ in table_chunks(path, target="y", chunk_rows=1)[0]()])[2, 0] == float(exact)


@READER
@given(tiny=st.floats(5e-324, 7e-310), target=st.booleans(), chunk_rows=st.sampled_from([None, 2]))
def test_subnormal_data_are_not_called_infinite(capsys, tiny, target, chunk_rows):
    """A column (or the target) of finite values all subnormal is refused as what it is, never as inf or NaN."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.csv"
        rows = [(tiny * k, 2.0 * k + (k % 3) * 0.1) for k in range(1, 8)]
        path.write_text("x,y\n" + "".join(f"{(b if target else a)!r},{(a if target else b)!r}\n" for a, b in rows))
        extra = ["--chunk-rows", str(chunk_rows)] if chunk_rows else []
        code, _, err = run(capsys, "solve", path, "--target", "y", *extra, folder=Path(tmp))
        assert code == 2 and "subnormal" in err
        assert not re.search(r"\b(inf|nan|NaN|infinite)\b", err), err


GROWTH_PROBE = """
import json, os, sys
from linearnet.cli import main
from linearnet.tables import plan

plan.CHUNK_ROWS = 5000

def kib(field):  # this process's own figures
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

small, big = sys.argv[1:3]
assert main(["solve", small, "--target", "y", "--memory-budget", "1M"]) == 0  # imports and first use first
before = kib("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # the peak resident size starts again from here
assert main(["solve", big, "--target", "y", "--memory-budget", "20M"]) == 0
print(json.dumps((kib("VmHWM") - before) / 1024), file=sys.stderr, flush=True)
os._exit(0)
"""


@__import__("pytest").mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads Linux's /proc/self")
def test_a_small_gz_that_inflates_far_past_the_budget_stays_within_it(tmp_path):
    """A .gz of ~60 KB inflating to ~12 MB of short numbers, which read whole takes some 125 MB more: read in
    chunks under a 20 MB budget, the memory grows by about the budget (a plain CSV of the same rows: 15 MB;
    the decompression's buffers some more), not by a whole read."""
    import subprocess
    import sys

    def rows(n: int) -> bytes:
        return b"a,b,c,y\n" + b"".join(b"%d,%d,%d,%d\n" % (i % 7, i % 11, i % 13, i % 7 * 2 + i % 11) for i in range(n))

    # the warm-up file has more than 10,000 residual df, as the big one: the same tails' code (scipy.special) loaded
    (small := tmp_path / "small.csv.gz").write_bytes(gzip.compress(rows(12_000)))
    (big := tmp_path / "big.csv.gz").write_bytes(gzip.compress(rows(1_000_000)))
    done = subprocess.run(
        [sys.executable, "-c", GROWTH_PROBE, str(small), str(big)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    grown = json.loads(done.stderr.splitlines()[-1])
    assert grown < 30, f"grew by {grown:.0f} MB under a 20 MB budget"


def test_standard_input_closed_is_one_line(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "stdin", None)  # started with <&-
    code, out, err = cli(capsys, "solve", "-", "--target", "y")
    assert (code, out) == (2, "") and err == (
        "linearnet solve: error: -: standard input is closed; give the data on it, or a file's name\n"
    )


def test_a_folder_of_many_files_is_measured_by_its_first_file_and_a_glance_at_the_others(tmp_path, monkeypatch):
    """The first CSV of a folder is parsed to measure a row, the others sized by that measure: planning a folder
    of many files costs a glance at each, not a parse; a compressed one among them is counted as it inflates."""
    from linearnet.tables import plan

    parsed = []
    head_bytes = plan._csv_head_bytes
    monkeypatch.setattr(plan, "_csv_head_bytes", lambda src: parsed.append(src.name) or head_bytes(src))
    rows = _rows_text([(i, 0.5 * i) for i in range(200)])
    for k in range(20):
        (tmp_path / f"part-{k:02}.csv").write_bytes(rows)
    (tmp_path / "part-99.csv.gz").write_bytes(gzip.compress(rows))
    need = plan.whole_read_bytes(tmp_path)
    assert len(parsed) == 1
    approx = __import__("pytest").approx
    assert need == approx(21 * plan.whole_read_bytes(tmp_path / "part-00.csv"))
    assert plan.table_values(tmp_path) == approx(21 * 200 * 2, rel=0.05)


# --- training honesty, outputs that cannot lose work, the distributed launch ---------------------------

RUN_SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _plane(folder: Path, *, scale: float = 1.0, rows: int = 60, seed: int = 0) -> Path:
    """A CSV of y = 1 + 2a − b plus a little noise, the labels times ``scale``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 2))
    y = (1 + X @ [2.0, -1.0] + 0.1 * rng.normal(size=rows)) * scale
    path = folder / "plane.csv"
    path.write_text(
        "a,b,y\n" + "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), y.tolist(), strict=True))
    )
    return path


def _separable(folder: Path) -> Path:
    path = folder / "classes.csv"
    path.write_text("x,y\n" + "".join(f"{x},{'a' if x < 0 else 'b'}\n" for x in (-3, -2, -1, 1, 2, 3, -4, 4)))
    return path


@RUN_SETTINGS
@given(
    lr=st.floats(1e-300, 1e-30),
    impl=st.sampled_from(["scratch", "concise", "fast"]),
    epochs=st.sampled_from([[], ["--epochs", "3"]]),
)
def test_a_run_that_did_not_move_is_no_converged_model(capsys, tmp_path_factory, lr, impl, epochs):
    folder = tmp_path_factory.mktemp("stalled")
    data, out = _plane(folder), folder / "model.json"
    out.write_bytes(SENTINEL)
    argv = ["train", "--data", data, "--target", "y", "--lr", repr(lr), "--impl", impl, *epochs, "--out", out]
    code, stdout, stderr = run(capsys, *argv, out=out, folder=folder)
    assert code == 1 and "converged" not in stdout, (stdout, stderr)
    assert "training did not move" in stderr and "no model was written" in stderr, stderr


def test_a_rate_too_small_to_settle_anywhere_but_the_start_is_not_converged(tmp_path, capsys):
    code, out, err = cli(capsys, "train", "--data", _plane(tmp_path), "--target", "y", "--lr", "1e-8", "--json")
    assert code == 0 and json.loads(out)["converged"] is False
    assert err.startswith("linearnet train: warning: not converged: in 6 epochs the loss fell by less than 0.0001 of")
    code, out, _ = cli(capsys, "train", "--data", _plane(tmp_path), "--target", "y", "--lr", "1e-8")
    assert "converged in" not in out


@RUN_SETTINGS
@given(lr=st.sampled_from([1e25, 1e30, 1e35]), impl=st.sampled_from(["scratch", "concise", "fast"]))
def test_softmax_weights_run_off_beyond_float32_are_not_a_model(capsys, tmp_path_factory, lr, impl):
    folder = tmp_path_factory.mktemp("runaway")
    data, out = _separable(folder), folder / "model.json"
    out.write_bytes(SENTINEL)
    argv = ["train", "--data", data, "--target", "y", "--model", "softmax", "--lr", repr(lr), "--impl", impl]
    code, stdout, stderr = run(capsys, *argv, "--out", out, out=out, folder=folder)
    assert code == 1 and "converged" not in stdout, (stdout, stderr)
    assert "no model was written" in stderr and out.read_bytes() == SENTINEL


@RUN_SETTINGS
@given(exponent=st.integers(-300, -20), stream=st.booleans())
def test_labels_float32_takes_for_zero_are_refused_not_an_exact_fit(capsys, tmp_path_factory, exponent, stream):
    folder = tmp_path_factory.mktemp("tiny")
    data = _plane(folder, scale=10.0**exponent)
    argv = ["train", "--data", data, "--target", "y", *(["--stream"] if stream else [])]
    code, stdout, stderr = run(capsys, *argv, folder=folder)
    assert code == 2 and "exact fit" not in stdout, (stdout, stderr)
    assert "labels: the largest value is" in stderr and "too small for float32 training" in stderr, stderr


@RUN_SETTINGS
@given(exponent=st.integers(-300, -20))
def test_scikit_learn_sgd_refuses_labels_float32_takes_for_zero(exponent):
    import pytest

    from linearnet.sklearn import SGDRegressor

    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(ValueError, match=r"^y: the largest value is .* too small for float32 training"):
        SGDRegressor().fit(X, (X[:, 0] + 2) * 10.0**exponent)


@RUN_SETTINGS
@given(rows=st.integers(3, 12), extra=st.integers(0, 40), softmax=st.booleans())
def test_an_exact_optimum_of_more_parameters_than_rows_is_not_solved_whole(
    capsys, tmp_path_factory, monkeypatch, rows, extra, softmax
):
    import linearnet.leastsq
    import linearnet.logit

    def refused(*args, **kwargs):
        raise AssertionError("solved whole")

    monkeypatch.setattr(linearnet.leastsq, "solve", refused)
    monkeypatch.setattr(linearnet.logit, "solve_logit", refused)
    folder = tmp_path_factory.mktemp("wide")
    columns = rows + extra  # with the intercept, more parameters than rows
    values = np.random.default_rng(rows).normal(size=(rows, columns))
    labels = [("a", "b")[i % 2] for i in range(rows)] if softmax else values.sum(axis=1).tolist()
    path = folder / "wide.csv"
    header = ",".join(f"x{j}" for j in range(columns)) + ",y\n"
    path.write_text(
        header + "".join(",".join(map(repr, r)) + f",{t}\n" for r, t in zip(values.tolist(), labels, strict=True))
    )
    code, stdout, stderr = run(capsys, "train", "--data", path, "--target", "y", "--epochs", "2", folder=folder)
    assert code == 0, stderr
    if softmax:  # separated rows: no finite optimum to compare with
        assert "the exact logit optimum is left out of the comparison" in stderr, stderr
        assert "have no unique optimum" in stderr and "exact" not in stdout, (stdout, stderr)
    else:  # the rows are independent: the optimum, one of many, passes through every one
        assert "the exact least-squares loss is 0 (the data lie on a plane: an exact fit)" in stdout, stdout


def test_an_exact_solve_over_the_memory_budget_is_left_out(tmp_path, capsys):
    values = np.random.default_rng(0).normal(size=(400, 300))
    path = tmp_path / "many.csv"
    path.write_text(
        ",".join(f"x{j}" for j in range(299)) + ",y\n" + "".join(",".join(map(repr, r)) + "\n" for r in values.tolist())
    )
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y", "--epochs", "2", "--memory-budget", "2M")
    assert code == 0 and "exact least-squares loss" not in out, err
    assert "would take about" in err and "over the memory budget of 2.0 MiB (--memory-budget)" in err, err


def _spelling(folder: Path, name: str, how: str) -> str:
    """The path ``folder/name`` spelled ``how``: as it is, through a "." or "sub/..", absolute, or by a link."""
    path = folder / name
    if how == "dot":
        return str(folder / "." / name)
    if how == "up":
        (folder / "sub").mkdir(exist_ok=True)
        return str(folder / "sub" / ".." / name)
    if how == "link":
        link = folder / f"link-to-{name}"
        if not link.is_symlink():
            link.symlink_to(name)
        return str(link)
    return str(path.resolve() if how == "absolute" else path)


@RUN_SETTINGS
@given(
    case=st.sampled_from(
        [
            ("train", ["--out", "--plot"]),
            ("train-digits", ["--plot", "--plot-predictions"]),
            ("train-digits", ["--out", "--plot-predictions"]),
            ("solve", ["--out", "--plot"]),
        ]
    ),
    how=st.sampled_from(["same", "dot", "up", "absolute", "link"]),
    exists=st.booleans(),
)
def test_two_outputs_of_one_run_to_one_file_are_refused_before_the_work(capsys, tmp_path_factory, case, how, exists):
    folder = tmp_path_factory.mktemp("outputs")
    command, (first, second) = case
    data = _plane(folder)
    if exists:
        (folder / "same.png").write_bytes(SENTINEL)
    argv = {
        "train": ["train", "--data", data, "--target", "y"],
        "train-digits": ["train", "--dataset", "digits", "--model", "softmax", "--epochs", "1"],
        "solve": ["solve", data, "--target", "y"],
    }[command]
    argv = [*argv, first, str(folder / "same.png"), second, _spelling(folder, "same.png", how)]
    code, stdout, stderr = run(capsys, *argv, folder=folder)
    assert (code, stdout) == (2, ""), stderr
    assert stderr.startswith(f"linearnet {argv[0]}: error: {first} and {second} would both write "), stderr
    assert not exists or (folder / "same.png").read_bytes() == SENTINEL


@RUN_SETTINGS
@given(command=st.sampled_from(["train", "solve"]), order=st.booleans())
def test_json_and_a_model_on_standard_output_are_refused_not_two_documents(capsys, tmp_path_factory, command, order):
    folder = tmp_path_factory.mktemp("stdout")
    data = _plane(folder)
    argv = ["train", "--data", data, "--target", "y"] if command == "train" else ["solve", data, "--target", "y"]
    flags = ["--json", "--out", "-"] if order else ["--out", "-", "--json"]
    code, stdout, stderr = run(capsys, *argv, *flags, folder=folder)
    assert (code, stdout) == (2, ""), stderr
    assert stderr == (
        f"linearnet {command}: error: --json and --out - would both write to standard output, two documents in one "
        f"stream; give --out a file name\n"
    )


@RUN_SETTINGS
@given(
    command=st.sampled_from(["train", "solve", "predict"]),
    bad=st.sampled_from(["under a file", "name too long", "folder name too long", "under a missing folder"]),
    ext=st.sampled_from([".json", ".csv"]),
)
def test_an_output_the_system_cannot_make_is_one_line_before_the_work(capsys, tmp_path_factory, command, bad, ext):
    folder = tmp_path_factory.mktemp("oserror")
    data = _plane(folder)
    model = folder / "m.json"
    save_model(Model(["a", "b"], [2.0, -1.0], 1.0, target="y"), model)
    out = {
        "under a file": f"{data}/m{ext}",
        "name too long": str(folder / ("n" * 300 + ext)),
        "folder name too long": str(folder / ("d" * 300) / f"m{ext}"),
        "under a missing folder": str(folder / "missing" / f"m{ext}"),
    }[bad]
    argv = {
        "train": ["train", "--data", data, "--target", "y", "--epochs", "1"],
        "solve": ["solve", data, "--target", "y"],
        "predict": ["predict", data, "--model", model],
    }[command]
    code, stdout, stderr = run(capsys, *argv, "--out", out, folder=folder)
    assert (code, stdout) == (2, ""), stderr
    assert stderr.count("\n") == 1 and len(stderr) < 600, stderr


class _Interrupt(BaseException):
    pass


@RUN_SETTINGS
@given(
    command=st.sampled_from(["train", "solve", "predict"]),
    out=st.sampled_from(["new.csv", "old.csv", "-"]),
    signal_like=st.sampled_from([KeyboardInterrupt, "terminated"]),
)
def test_an_interruption_as_the_temporary_file_is_made_leaves_none(
    capsys, tmp_path_factory, monkeypatch, command, out, signal_like
):
    import os
    import tempfile as tempfile_module

    from linearnet import cli as cli_module

    folder = tmp_path_factory.mktemp("interrupted")
    scratch = tmp_path_factory.mktemp("scratch")  # the temporary folder, for what goes to standard output
    monkeypatch.setattr(tempfile_module, "tempdir", str(scratch))
    data = _plane(folder)
    (folder / "old.csv").write_bytes(SENTINEL)
    model = folder / "m.json"
    save_model(Model(["a", "b"], [2.0, -1.0], 1.0, target="y"), model)
    before = sorted(p.name for p in folder.iterdir())
    real_open = os.open
    raised = cli_module.Terminated(1) if signal_like == "terminated" else KeyboardInterrupt()

    def open_then_interrupted(path, flags, *args, **kwargs):  # the signal lands as the file is made
        fd = real_open(path, flags, *args, **kwargs)
        if str(path).endswith(".tmp") and flags & os.O_CREAT:
            os.close(fd)
            raise raised
        return fd

    monkeypatch.setattr(os, "open", open_then_interrupted)
    target = out if out == "-" else str(folder / out)
    argv = {
        "train": ["train", "--data", data, "--target", "y", "--epochs", "1"],
        "solve": ["solve", data, "--target", "y"],
        "predict": ["predict", data, "--model", model],
    }[command]
    code, _, stderr = cli(capsys, *argv, "--out", target)
    monkeypatch.setattr(os, "open", real_open)
    assert code in (130, 129), stderr
    assert sorted(p.name for p in folder.iterdir()) == before, "a temporary file was left beside the output"
    assert list(scratch.iterdir()) == [], "a temporary file was left in the temporary folder"
    assert (folder / "old.csv").read_bytes() == SENTINEL


def test_standard_output_full_or_closed_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    data = _plane(tmp_path)
    for command in (["train", "--epochs", "2"], ["solve", str(data), "--target", "y"]):
        for redirect in (">/dev/full", ">&-"):
            shell = " ".join([sys.executable, "-m", "linearnet", *command]) + f" {redirect}"
            done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
            assert done.returncode == 2, (shell, done.stderr)
            assert done.stderr.startswith(f"linearnet {command[0]}: error: standard output cannot be written ("), (
                shell,
                done.stderr,
            )
            assert done.stderr.count("\n") == 1, done.stderr


def _launch(argvs: list[list[str]], cwds: list[Path], *, deadline: float = 90) -> list[tuple[int, str, str]]:
    """Start ``linearnet`` as the processes of one run (the variables torchrun sets; gloo on 127.0.0.1), the
    ``argvs[rank]`` in ``cwds[rank]``; each one's (exit code, stdout, stderr), killed at the ``deadline``."""
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "linearnet", *map(str, argv), "--timeout", "20"],
            env={
                **os.environ,
                **dict(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(len(argvs))),
                **dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1"),
            },
            cwd=cwds[r],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r, argv in enumerate(argvs)
    ]
    end, done = time.monotonic() + deadline, []
    try:
        for p in processes:
            stdout, stderr = p.communicate(timeout=max(0.1, end - time.monotonic()))
            done.append((p.returncode, stdout, stderr))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return done


LAUNCH_SETTINGS = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@LAUNCH_SETTINGS
@given(
    differs=st.sampled_from(
        [
            (["--lr", "0.03"], ["--lr", "0.1"], "process 1 was started with --lr 0.1 where process 0 has --lr 0.03"),
            (["--batch-size", "8"], ["--batch-size", "16"], "--batch-size 16 where process 0 has --batch-size 8"),
            (["--max-epochs", "3"], ["--max-epochs", "4"], "--max-epochs 4 where process 0 has --max-epochs 3"),
            (["--seed", "1"], [], "process 1 was started with --seed 0 where process 0 has --seed 1"),
            ([], ["--stream"], "process 1 was started with --stream where process 0 has no --stream"),
            ("rows", "rows", "plane.csv: process 1 reads other contents than process 0's: every machine must"),
        ]
    )
)
def test_processes_launched_with_other_settings_or_data_all_refuse_at_the_start(tmp_path_factory, differs):
    """Two torchrun processes given different settings, or files of the same columns and other rows, each
    refuse before the first exchange (not a mixed model with exit 0, not a timeout); process 0 says which
    process differs and in what, in one line."""
    first, second, message = differs
    here, there = tmp_path_factory.mktemp("node0"), tmp_path_factory.mktemp("node1")
    _plane(here)
    _plane(there, seed=1 if first == "rows" else 0)
    common = ["train", "--data", "plane.csv", "--target", "y", "--max-epochs", "3"]
    flags = ([], []) if first == "rows" else (first, second)
    out = here / "model.json"
    (code0, out0, err0), (code1, _, _) = _launch(
        [[*common, *flags[0], "--out", out], [*common, *flags[1]]], [here, there]
    )
    assert (code0, code1) == (2, 2), err0
    assert out0 == "" and err0.count("\n") == 1 and message in err0, err0
    assert err0.startswith("linearnet train: error: ") and "every" in err0, err0
    assert not out.exists()


def test_a_refusal_every_process_makes_under_torchrun_reaches_the_user(tmp_path):
    """Process 0 slow to say it (3 s): process 1, refusing alike, waits for it before it leaves, as torchrun
    stops every process once one has failed."""
    import os
    import subprocess
    import sys

    driver = tmp_path / "driver.py"
    driver.write_text(
        "import os, sys, time\n"
        "from linearnet.cli import common\n"
        "if os.environ.get('RANK') == '0':\n"
        "    said = common.UsageError.__str__\n"
        "    common.UsageError.__str__ = lambda self: (time.sleep(3), said(self))[1]\n"
        "from linearnet.cli import run\n"
        "sys.argv = ['linearnet', *sys.argv[1:]]\n"
        "run()\n"
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(driver)]
    done = subprocess.run(
        [*command, "train", "--lr", "-1", "--timeout", "20"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    lines = done.stderr.splitlines()  # torchrun's own report of the failed processes follows
    assert "linearnet train: error: lr must be > 0, got -1; e.g. 0.03" in lines, done.stderr[-3000:]
    assert "[rank0]" not in done.stderr and "Terminated" not in done.stderr, done.stderr[-3000:]  # not stopped
