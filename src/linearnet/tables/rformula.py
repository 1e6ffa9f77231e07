"""An R formula as formulaic reads it, and the names of its terms mapped back to the user's spelling.

R users write ``Solar.R``, ``y ~ .``, ``factor(cyl)``, ``I(x^2)``, ``relevel(g, ref = "b")``, ``sqrt(x)`` and
``TRUE``; formulaic reads terms as Python, where ``a.b`` is an attribute, ``^`` is XOR and ``factor`` is
unknown. :func:`translate` rewrites the formula token by token into formulaic's terms:

- every column the formula names is given an alias found from its name alone (``Solar.R`` ->
  ``lnvSolar_2e_R``), so a dotted, backtick-quoted or reserved name (``Treatment``, ``C``, ``np``) is a
  column, and a model file's formula translates again to the same text at predict time;
- ``.`` is the columns of the table not on the left side, in the table's order;
- R's functions are NumPy's (``sqrt`` -> ``np.sqrt``, ``log(x, 2)`` -> ``np.log(x) / np.log(2)``), ``factor(x)``
  is ``C(x)``, ``relevel(x, ref = "b")`` is ``C(x, contr.treatment("b"))``, ``^`` inside a call is a power,
  ``TRUE``/``FALSE`` are Python's, ``c(...)`` a list.

:class:`RFormula` holds formulaic's parsed formula and maps the names formulaic gives back: ``C(lnvcyl)[T.6]``
is ``factor(cyl)[T.6]``, as the user wrote the term.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from .messages import _listing, _quote, _shown

ALIAS = "lnv"  # the start of every column's alias
_ALIAS_RE = re.compile(r"\blnv(?:[A-Za-z0-9]|_[0-9a-f]+_)*")
_TOKENS = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
    |(?P<quoted>`(?:\\.|[^`\\])*`)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)
    |(?P<name>(?:[^\W\d]|\.(?!\d))[\w.]*)
    |(?P<op>\*\*|%[^%\s]*%|==|!=|<=|>=|[-+*/^:~|<>=!&,(){}\[\]@])
    |(?P<other>.)""",
    re.X | re.S,
)
_R_NAME = re.compile(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*")
_NUMPY = {  # R's elementwise functions -> NumPy's ufuncs
    **{f: f"np.{f}" for f in ("sqrt", "abs", "exp", "log", "log2", "log10", "log1p", "expm1", "sign", "trunc")},
    **{f: f"np.{f}" for f in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "floor")},
    **{"asin": "np.arcsin", "acos": "np.arccos", "atan": "np.arctan", "ceiling": "np.ceil"},
}
_FACTOR = {"factor", "as.factor"}  # R's categorical spellings, read as text (C(x) keeps a numeric column's numbers)
_CATEGORICAL = {"C", "relevel", *_FACTOR}
_INSTEAD = {  # R constructs formulaic cannot fit -> what to write instead
    "s": "a spline of mgcv's gam, which linearnet does not fit; write poly(x, 3) for a smooth curve",
    "te": "a smooth of mgcv's gam, which linearnet does not fit; write poly(x, 3) and interactions",
    "ti": "a smooth of mgcv's gam, which linearnet does not fit; write poly(x, 3) and interactions",
    "lo": "a loess smooth of gam, which linearnet does not fit; write poly(x, 3) for a smooth curve",
    "cbind": "several targets, which linearnet fits one at a time; write one target on the left of ~",
    "Error": "an error stratum of aov, which linearnet does not fit; write the strata as terms: + C(block)",
    "strata": "a survival model's strata, which linearnet does not fit; write the strata as terms: + C(g)",
    "cluster": "a survival model's clusters; give the column as clusters of the standard errors instead",
}


def alias(name: str) -> str:
    """The Python name formulaic evaluates for the column ``name``: found from the name alone (ASCII letters
    and digits kept, any other character as ``_<hex>_``), so two columns never share one."""
    return ALIAS + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in name)


def column_of(text: str) -> str | None:
    """The column an alias stands for (None for a name that is not one)."""
    if not (_ALIAS_RE.fullmatch(text) and text.startswith(ALIAS)):
        return None
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), text[len(ALIAS) :])


def r_name(name: str) -> str:
    """A column as R writes it in a formula: backtick-quoted unless a syntactic name."""
    return name if _R_NAME.fullmatch(name) else "`" + name.replace("`", "\\`") + "`"


def unaliased(text: str, *, quoted: bool = False) -> str:
    """``text`` (a term, a message) with each alias as its column's name (with ``quoted``, as R writes it)."""
    return _ALIAS_RE.sub(lambda m: (r_name if quoted else str)(column_of(m.group(0)) or m.group(0)), text)


@dataclass
class _Call:
    name: str  # the function as written
    close: str = ")"  # what its closing parenthesis becomes
    arg: int = 0  # the index of the argument being read


@dataclass
class Translation:
    """What :func:`translate` found: formulaic's formula, the user's spelling of each factor, the columns."""

    text: str  # formulaic's formula
    written: str  # the user's formula (``.`` expanded when the table's columns were given)
    spellings: dict[str, str] = field(default_factory=dict)  # formulaic's factor -> the user's spelling
    columns: list[str] = field(default_factory=list)  # the columns it names, in order of appearance
    left: list[str] = field(default_factory=list)  # the columns of its left side
    as_text: list[str] = field(default_factory=list)  # columns read as text: only ever inside factor()
    categorical: list[str] = field(default_factory=list)  # columns only ever inside C(), factor(), relevel()
    dot: bool = False  # it has R's '.'


class _Writer:
    """The three texts a translation writes side by side: formulaic's, the user's with the columns aliased
    alone, and the user's (``.`` expanded); and the factors found at the formula's level."""

    def __init__(self):
        self.out: list[str] = []
        self.aliased: list[str] = []
        self.written: list[str] = []
        self.atoms: list[tuple[str, str, str]] = []  # (formulaic's, aliased, written) of each factor
        self._start: tuple[int, int, int] | None = None

    def emit(self, text: str, user: str, alias_only: str | None = None) -> None:
        self.out.append(text)
        self.written.append(user)
        self.aliased.append(user if alias_only is None else alias_only)

    def begin(self) -> None:
        if self._start is None:
            self._start = (len(self.out), len(self.aliased), len(self.written))

    def end(self) -> None:
        if self._start is not None:
            a, b, c = self._start
            self.atoms.append(("".join(self.out[a:]), "".join(self.aliased[b:]), "".join(self.written[c:])))
            self._start = None


def translate(formula: str, header: list[str] | None = None) -> Translation:
    """formulaic's text of the R formula ``formula`` (see the module's docstring); ``header``: the table's
    columns, for ``.``. A construct formulaic cannot fit is refused in one line saying what to write."""
    t = _Translator(formula)
    t.run()
    w = t.w
    left = list(dict.fromkeys(t.columns[: t.left_end])) if t.left_end is not None else []
    result = Translation(text="".join(w.out), written=formula, columns=list(dict.fromkeys(t.columns)), left=left)
    result.categorical = [c for c in t.seen if c not in t.plain]
    result.as_text = [c for c in result.categorical if t.seen[c]]
    result.dot = bool(t.dots)
    if t.dots and header is not None:
        _expand(result, w, t.dots, header, left, formula)
    result.spellings = _spellings(w.atoms)
    return result


class _Translator:
    """One pass over an R formula's tokens, writing formulaic's text (:func:`translate`)."""

    def __init__(self, formula: str):
        self.formula = formula
        self.tokens = [(m.lastgroup or "other", m.group()) for m in _TOKENS.finditer(formula)]
        self.w = _Writer()
        self.stack: list[_Call | str] = []  # open calls, and the "(" "[" "{" of other groupings
        self.calls: list[_Call] = []  # the calls of ``stack``
        self.deep = 0  # entries of ``stack`` other than the "(" of groupings: 0 at the formula's level
        self.seen: dict[str, bool] = {}  # column alone as a categorical call's first argument -> in factor()
        self.plain: set[str] = set()  # columns also used otherwise
        self.columns: list[str] = []
        self.left_end: int | None = None  # columns named before the ~
        self.dots: list[int] = []  # where R's '.' is in the text written
        self.prev = ""  # the last token that is not white space

    @property
    def call(self) -> _Call | None:
        return self.calls[-1] if self.calls else None

    def run(self) -> None:
        for i, (kind, text) in enumerate(self.tokens):
            if kind == "ws":
                self.w.emit(text, text)
                continue
            if self.deep == 0 and (kind in ("name", "quoted") or text == "{"):
                self.w.begin()  # a factor of the formula starts
            nxt = self.following(i)
            if kind == "quoted":
                self.column(text[1:-1].replace("\\`", "`"), text, nxt)
            elif kind == "name":
                self.name(i, text, nxt)
            elif kind == "number":
                self.w.emit(text.rstrip("L"), text)
            else:
                self.operator(text)
            self.prev = text
            if self.deep == 0 and not (kind == "name" and nxt == "("):
                self.w.end()

    def following(self, i: int) -> str:
        j = i + 1 + (i + 1 < len(self.tokens) and self.tokens[i + 1][0] == "ws")
        return self.tokens[j][1] if j < len(self.tokens) else ""

    def push(self, entry: _Call | str) -> None:
        self.stack.append(entry)
        self.calls.extend([entry] if isinstance(entry, _Call) else [])
        self.deep += entry != "("

    def pop(self) -> _Call | str | None:
        top = self.stack.pop() if self.stack else None
        if isinstance(top, _Call):
            self.calls.pop()
        self.deep -= top is not None and top != "("
        return top

    def column(self, name: str, text: str, nxt: str) -> None:
        """A column: its alias; noted whether it stands alone as a categorical call's first argument."""
        self.columns.append(name)
        top = self.stack[-1] if self.stack else None
        alone = isinstance(top, _Call) and top.name in _CATEGORICAL and top.arg == 0 and self.prev == "("
        if alone and nxt in (",", ")"):
            assert isinstance(top, _Call)
            self.seen[name] = self.seen.get(name, False) or top.name in _FACTOR
        else:
            self.plain.add(name)
        self.w.emit(alias(name), r_name(name), alias(name))  # `Wind` written Wind, as R's names

    def by_position(self) -> bool:
        """Whether an argument's keyword is dropped: relevel's ref = "b", log's base = 2."""
        call = self.call
        return call is not None and call.name in ("relevel", "log") and call.arg == 1

    def name(self, i: int, text: str, nxt: str) -> None:
        if nxt == "(":
            self.open_call(i, text)
        elif nxt == "=" and self.call is not None:  # a keyword argument
            self.w.emit("" if self.by_position() else text, text)
        elif i + 1 < len(self.tokens) and self.tokens[i + 1][0] == "string":
            self.w.emit(text, text)  # a string's prefix: b'...'
        elif text in ("TRUE", "FALSE"):
            self.w.emit(text.title(), text)
        elif text in ("None", "True", "False") or text.startswith(("np.", "contr.")):
            self.w.emit(text, text)
        elif text == "." and self.deep == 0:
            self.dots.append(len(self.w.out))
            self.w.emit(".", ".")
        else:
            self.column(text, text, nxt)

    def open_call(self, i: int, text: str) -> None:
        """A function's name: R's as formulaic's or NumPy's; mgcv's and others' refused."""
        if text in _INSTEAD:
            raise ValueError(f"the formula {_shown(self.formula, 200)} uses {text}(), {_INSTEAD[text]}")
        fn, close = _NUMPY.get(text, text), ")"
        if text in _FACTOR:
            fn = "C"
        elif text == "relevel":  # relevel(x, ref = "b"): C(x, contr.treatment("b"))
            fn, close = "C", "))"
        elif text == "log" and _arguments(self.tokens, i) > 1:  # log(x, 2): I(np.log(x) / np.log(2))
            fn, close = "I(np.log", "))"
        elif text == "c" and self.call is not None:  # c("b", "a"): ["b", "a"]
            fn, close = "", "]"
        self.w.emit(fn, text)
        self.push(_Call(text, close=close))

    def operator(self, text: str) -> None:
        call = self.call
        if text == "(" and isinstance(call, _Call) and self.stack[-1] is call and self.prev == call.name:
            self.w.emit("[" if call.close == "]" else "(", text)  # the call's own parenthesis
        elif text in ("(", "[", "{"):
            self.push(text)
            self.w.emit(text, text)
        elif text in (")", "]", "}"):
            top = self.pop()
            self.w.emit(top.close if isinstance(top, _Call) else text, text)
        elif text == "," and call is not None and self.stack[-1] is call:
            self.comma(call)
        elif text == "=" and self.by_position():
            self.w.emit("", text)
        elif call is not None and text in _POWER:
            self.w.emit(_POWER[text], text)
        else:
            self.other(text)

    def comma(self, call: _Call) -> None:
        """Between two arguments: relevel's second the contrast's, log's second the base's logarithm."""
        call.arg += 1
        joins = {"relevel": ", contr.treatment(", "log": ") / np.log("} if call.close == "))" else {}
        self.w.emit(joins.get(call.name, ",") if call.arg == 1 else ",", ",")

    def other(self, text: str) -> None:
        if text == "|" and self.call is None:
            effects = " (random effects such as (1 | g) are not fitted: write + C(g))" if self.stack else ""
            raise ValueError(
                f"the formula {_shown(self.formula, 200)} has parts separated by |; "
                f"write a single formula such as 'y ~ x + a'{effects}"
            )
        if text == "~" and not self.stack:
            self.left_end = len(self.columns)
        self.w.emit(text, text)


_POWER = {"^": "**", "%%": "%", "%/%": "//"}  # R's arithmetic inside a call -> Python's


def text_columns(translation: Translation, levels: dict[str, list[str]] | None) -> list[str]:
    """The columns a formula reads as text: those it uses only inside factor() (for a fitted model, ``levels``,
    those it coded as text)."""
    return [c for c in translation.as_text if levels is None or c in levels]


def worded_columns(translation: Translation, table, decimal: str, levels, as_text: list[str]) -> list[str]:
    """The columns of the arrow ``table`` a formula uses only inside C(), factor() or relevel() that hold
    numbers and a word (Cars93's Cylinders: 3, 4, rotary), but those in ``as_text``: the user has said they
    are categories, so they are read as text."""
    from .cells import _kind

    names = set(table.column_names)
    return [
        c
        for c in translation.categorical
        if c in names
        and c not in as_text
        and (levels is None or c in levels)
        and _kind(table.column(c), decimal)[0] == "typo"
    ]


def as_r_text(table, columns: list[str]):
    """The arrow ``table`` with its ``columns`` of numbers (a Parquet file's, or a CSV's read as text) as text,
    each number written as R's ``as.character`` writes it (6, not 6.0; 15 significant digits), so that
    factor(cyl) has R's levels; a column that also holds a word keeps its text as written."""
    import pyarrow as pa

    def text(v) -> str | None:
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return format(v, ".15g") if isinstance(v, float) else str(v)

    from .cells import _is_number

    for name in columns:
        j = table.column_names.index(name) if name in table.column_names else -1
        values = table.column(j).to_pylist() if j >= 0 else []
        if j >= 0 and pa.types.is_string(table.column(j).type):  # a CSV's: numbers as R's read.csv reads them
            if not all(v is None or _is_number(v) for v in values):
                continue
            values = [None if v is None else float(v) for v in values]
        if j >= 0:
            table = table.set_column(j, name, pa.array([text(v) for v in values], pa.string()))
    return table


def _arguments(tokens: list[tuple[str, str]], i: int) -> int:
    """The number of arguments of the call whose name is token ``i``."""
    depth, count = 0, 1
    for _, text in tokens[i + 1 :]:
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return count
        elif text == "," and depth == 1:
            count += 1
    return count


def _expand(result: Translation, w: _Writer, dots: list[int], header, left, formula: str) -> None:
    """``.`` as the header's columns not on the left side, in the header's order."""
    names = [c for c in header if c and c not in set(left)]
    alone = formula.split("~", 1)[-1].strip() == "."  # y ~ .: no parentheses needed
    for j in dots:
        w.out[j] = "(" + " + ".join(alias(c) for c in names) + ")"
        spelled = " + ".join(r_name(c) for c in names)
        w.written[j] = spelled if alone or len(names) == 1 else f"({spelled})"
    result.text, result.written = "".join(w.out), "".join(w.written)
    result.categorical = [c for c in result.categorical if c not in names]  # also a plain term of the '.'
    result.as_text = [c for c in result.as_text if c not in names]
    result.columns = list(dict.fromkeys([*result.columns, *names]))


def _spellings(atoms: list[tuple[str, str, str]]) -> dict[str, str]:
    """formulaic's text of each factor -> the user's spelling: formulaic's own (Python's) where the factor
    changed only by its aliases (so that names are those of linearnets before), else as written."""
    from formulaic.utils.code import format_expr

    found: dict[str, str] = {}
    for text, aliased, user in atoms:
        inner = text[1:-1] if text.startswith("{") and text.endswith("}") else text
        try:
            key = format_expr(inner)
        except SyntaxError:
            continue
        if text == aliased:
            found[key] = unaliased(key, quoted=True) if "(" in key else unaliased(key)
        else:
            found[key] = " ".join(user.split())
    return found


class RFormula:
    """formulaic's parsed formula (its ``lhs`` and ``rhs`` reached through this object) with the translation
    that made it: :meth:`named` spells formulaic's names as the user wrote the terms."""

    def __init__(self, parsed, translation: Translation):
        self.parsed = parsed
        self.translation = translation
        self.coding_notes: list[str] = []  # where its design's coding differs from R's (set when it is made)
        keys = sorted(translation.spellings, key=len, reverse=True)
        self._names = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def __getattr__(self, name: str) -> Any:
        if name in ("parsed", "translation", "_names"):
            raise AttributeError(name)
        return getattr(self.parsed, name)

    def __str__(self) -> str:
        return self.translation.written

    @property
    def rhs(self):
        """The right side (the whole formula when it has no ``~``)."""
        return getattr(self.parsed, "rhs", self.parsed)

    def named(self, text: str) -> str:
        """formulaic's name of a term, a factor or a column of the design, as the user wrote the terms."""
        if self._names is not None:
            text = self._names.sub(lambda m: self.translation.spellings[m.group(0)], text)
        return unaliased(text)

    def formulaic_names(self, factors: dict[str, list] | None) -> dict[str, list] | None:
        """``factors`` (keyed by the user's spelling of each term, as a model file holds them) keyed by
        formulaic's text of the term."""
        if factors is None:
            return None
        back = {spelled: key for key, spelled in self.translation.spellings.items()}
        return {back.get(name, name): levels for name, levels in factors.items()}

    @property
    def target_name(self) -> str | None:
        """The left side as the user wrote it (``log(y)``, ``Solar.R``, ``I(y - x/10)``)."""
        if not hasattr(self.parsed, "lhs") or "~" not in self.translation.written:
            return None
        left = " ".join(self.translation.written.split("~", 1)[0].split())
        return left[1:-1] if left.startswith("`") and left.endswith("`") and left.count("`") == 2 else left

    @property
    def scale_note(self) -> str | None:
        """What predictions are of, when the left side is an expression (``log(y)``) and not a column."""
        lhs = getattr(self.parsed, "lhs", None)
        if lhs is None or column_of(str(lhs).strip()) is not None or not self.target_name:
            return None
        name = self.target_name
        return f"the model's target is {name}: the predictions are of {name}, as R's predict gives them"


def check_references(where: str, formula: RFormula, data) -> None:
    """Refuse a reference level (``relevel(g, ref = "z")``, ``C(g, Treatment("z"))``) that is not a level of
    its column, in one line naming the term and the levels."""
    for term in formula.rhs:
        for factor in term.factors:
            found = _reference(factor.expr)
            if found is None or found[0] not in data.columns:
                continue
            column, reference = found
            values = data[column]
            levels = list(values.cat.categories) if hasattr(values, "cat") else sorted(set(values.dropna()))
            if reference not in levels:
                raise ValueError(
                    f"{where}: the formula's term {_quote(formula.named(factor.expr))} takes {_shown(reference)} "
                    f"as its reference level, which is not one of the levels of {_quote(column_of(column) or column)} "
                    f"({_listing([str(v) for v in levels])})"
                )


def _reference(expr: str) -> tuple[str, Any] | None:
    """(the column's alias, the reference) of ``C(column, Treatment(ref))`` or ``contr.treatment(ref)``."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C"):
        return None
    if not (node.args and isinstance(node.args[0], ast.Name)) or len(node.args) < 2:
        return None
    contrast = node.args[1]
    if not isinstance(contrast, ast.Call) or ast.unparse(contrast.func) not in ("Treatment", "contr.treatment"):
        return None
    given = [*contrast.args[:1], *(k.value for k in contrast.keywords if k.arg in ("reference", "base"))]
    if not given or not isinstance(given[0], ast.Constant):
        return None
    return node.args[0].id, given[0].value
