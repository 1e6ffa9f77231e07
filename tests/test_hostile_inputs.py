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
