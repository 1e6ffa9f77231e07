"""Every command the README shows is run, and prints what the README says it prints.

The README's shell sessions are its fenced blocks whose first line starts with ``$ ``. Each ``$ `` line
is a command, run in README order by one bash (a file one command writes is there for the next, a ``cd``
holds) that starts in a folder holding a copy of ``examples/``, with linearnet's environment first on the
PATH; the lines after it, up to the next ``$ ``, are what it prints, stdout and stderr in the order a
terminal shows them.

What is compared:
- a line ``...`` stands for any number of lines, and ``...`` within a line for any text (output
  shortened for the page);
- runs of spaces match runs of spaces (columns widen with their numbers);
- numbers as a fresh run on another machine may print them (``printed.same_number``): whole numbers
  exactly, others within 1e-4 relative, 1e-6 absolute or a unit of their last digit;
- a block after the comment ``<!-- readme: numbers vary (why) -->`` (timings, the memory of this
  machine) has its numbers left uncompared; a block after ``<!-- readme: not run (why) -->`` is not run.

After a change to what a command prints, store fresh outputs in the README with

    .venv/bin/python tests/test_readme.py

which runs every command and writes what each printed in place of what the README said (keeping the
``...`` shortenings where the new output still fits them).
"""

from __future__ import annotations

import atexit
import doctest
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from printed import NUMBER, same_number

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
MARKER = re.compile(r"<!-- readme: (not run|numbers vary)\b")
WALK_SECONDS = 600  # the whole walk-through's time limit
SEPARATOR = "@@readme-command@@"


@dataclass
class Command:
    line: int  # of the README, 1-based
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Session:
    line: int
    indent: str
    commands: list[Command]
    marker: str | None  # "not run", "numbers vary" or None


def sessions(text: str) -> list[Session]:
    """The README's shell sessions, in order."""
    lines = text.split("\n")
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"(\s*)```\w*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, start = fence.group(1), i + 1
        end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
        body = [line[len(indent) :] for line in lines[start:end]]
        if body and body[0].startswith("$ "):
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = MARKER.search(before)
            commands: list[Command] = []
            for k, line in enumerate(body):
                if line.startswith("$ "):
                    commands.append(Command(start + k + 1, line[2:]))
                else:
                    commands[-1].expected.append(line)
            for c in commands:
                while c.expected and not c.expected[-1]:
                    c.expected.pop()
            found.append(Session(i + 1, indent, commands, marker.group(1) if marker else None))
        i = end + 1
    return found


@functools.cache
def _pattern(expected: str) -> tuple[re.Pattern, int]:
    """A regular expression for an expected line: its numbers and ``...`` as groups, spaces as runs."""
    parts, numbers = [], 0
    for token in re.split(r"(\.\.\.|" + NUMBER.pattern + ")", expected):
        if token == "...":
            parts.append("(.*?)")
        elif token and NUMBER.fullmatch(token):
            parts.append("(" + NUMBER.pattern + ")")
            numbers += 1
        elif token:
            parts.append(" +".join(re.escape(piece) for piece in token.split(" ")).replace(" + +", " +"))
    return re.compile("".join(parts)), numbers


def line_matches(expected: str, actual: str, *, vary: bool) -> list[str] | None:
    """The numbers of ``actual`` where it reads as ``expected``, or None."""
    pattern, _ = _pattern(expected)
    m = pattern.fullmatch(actual)
    if not m:
        return None
    tokens = [t for t in re.split(r"(\.\.\.|" + NUMBER.pattern + ")", expected) if t == "..." or NUMBER.fullmatch(t)]
    got = []
    for token, value in zip(tokens, m.groups(), strict=True):
        if token == "...":
            continue
        if not vary and not same_number(token, value):
            return None
        got.append(value)
    return got


def align(expected: list[str], actual: list[str], *, vary: bool) -> list[int] | None:
    """For each expected line the index of the actual line it matches (-1 for a ``...`` line), or None."""

    @functools.cache
    def go(i: int, j: int) -> tuple[int, ...] | None:
        if i == len(expected):
            return () if j == len(actual) else None
        if expected[i] == "...":
            for k in range(j, len(actual) + 1):
                rest = go(i + 1, k)
                if rest is not None:
                    return (-1, *rest)
            return None
        if j < len(actual) and line_matches(expected[i], actual[j], vary=vary) is not None:
            rest = go(i + 1, j + 1)
            if rest is not None:
                return (j, *rest)
        return None

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * (len(expected) + len(actual)) + 1000))
    found = go(0, 0)
    return None if found is None else list(found)


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr in the order a terminal shows them
    env.pop("COLUMNS", None)
    return env


def run_all(text: str, folder: Path, leave_out: Collection[str] = ()) -> dict[int, list[str]]:
    """Run every command of every session that is run, in order, in one bash in ``folder`` (so that ``cd``
    holds for the commands after it, as in a terminal): what each printed, by its README line. The commands
    in ``leave_out`` are not run and have no line in the answer."""
    script, lines = [], []
    for session in sessions(text):
        if session.marker == "not run":
            continue
        for c in session.commands:
            if c.text in leave_out:
                continue
            script += [f"printf '\\n{SEPARATOR}%d\\n' {c.line}", c.text]
            lines.append(c.line)
    script.append(f"printf '\\n{SEPARATOR}end\\n'")
    try:
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=folder,
            env=environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=WALK_SECONDS,
        )
        out = done.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") + f"\n(the walk-through timed out after {WALK_SECONDS} s)"
    parts = re.split(rf"\n{SEPARATOR}(\d+|end)\n", "\n" + out)
    outputs = {
        int(line): text.rstrip("\n").split("\n") if text.strip() else []
        for line, text in zip(parts[1::2], parts[2::2], strict=True)
        if line != "end"
    }
    return {line: outputs.get(line, ["(not reached)"]) for line in lines}


def walk_folder() -> Path:
    """A folder holding a copy of examples/, where the walk-through starts."""
    folder = Path(tempfile.mkdtemp(prefix="readme-"))
    shutil.copytree(EXAMPLES, folder / "examples")
    return folder


# The walk-through's longest commands (8 to 40 s each, together a fifth of the default test run), left out
# of it when the run leaves out the slow tests: none writes a file that a command or example outside this
# list reads, and the default tests named beside each check what it does; the slow test
# test_the_readme_s_long_commands_print_what_it_says checks that they print what the README shows.
LONG = {
    "linearnet train --num-examples 1000000 --num-features 100 --lr 0.01 --batch-size 1024 --epochs 3 --json": (
        "test_cli_train.py::test_json_prints_one_object_and_nothing_else, "
        "test_cli_train.py::test_a_table_of_many_values_trains_on_the_compiled_engine_along_the_scratch_trajectory"
    ),
    "linearnet solve wide.csv --target y": "test_cli_solve.py::test_too_few_rows_names_the_file",
    "linearnet solve wide.csv --target y --allow-rank-deficient": (
        "test_leastsq.py (the matrices of a solve over the memory available), "
        "test_hostile_inputs.py::test_an_exact_solve_over_the_memory_budget_is_left_out"
    ),
    "linearnet train --data sensors.csv --target y --memory-budget 16M --epochs 3 --out sensors.json": (
        "test_cli_memory.py::test_solve_predict_and_train_stay_within_a_small_part_of_a_whole_read"
    ),
    "linearnet predict sensors.csv --model sensors.json --out predicted.parquet": (
        "test_cli_memory.py::test_solve_predict_and_train_stay_within_a_small_part_of_a_whole_read"
    ),
    "torchrun --standalone --nproc-per-node 2 -m linearnet solve sales/ --target revenue --out sales.json": (
        "test_distributed.py::test_solve_under_torchrun_gives_the_answer_of_one_process"
    ),
    "torchrun --standalone --nproc-per-node 2 -m linearnet train --data sales/ --target revenue --batch-size 1024"
    " --out sales-sgd.json": "test_distributed.py::test_train_under_torchrun_writes_one_model_near_the_exact_fit",
    "linearnet train --dataset digits --plot-predictions digits-predictions.png": (
        "test_plot.py::test_plot_predictions_writes_a_picture_that_is_not_blank"
    ),
    "linearnet bench vectorization": "test_bench.py::test_vectorization_is_faster_than_the_loop",
    "linearnet train --impl fast --loss l1 --noise-dist laplace --noise 1 --lr 0.2 --epochs 12"
    " --plot l1-constant.png": (
        "test_plot.py::test_plot_loss_with_steps_and_the_noise_floor, test_engines.py (L1 in every engine)"
    ),
    "linearnet train --impl fast --loss l1 --noise-dist laplace --noise 1 --lr 0.2 --epochs 12 --lr-schedule"
    " inverse-time --lr-decay 1 --plot l1-decaying.png": (
        "test_plot.py::test_plot_loss_with_steps_and_the_noise_floor, test_train.py (the inverse-time schedule)"
    ),
}


@functools.cache
def walk(everything: bool = True) -> tuple[Path, dict[int, list[str]]]:
    """The walk-through run once for the session: the folder it ran in (kept for the Python examples,
    removed at exit) and what each command printed; without the ``LONG`` commands unless ``everything``."""
    folder = walk_folder()
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder, run_all(README.read_text(encoding="utf-8"), folder, () if everything else LONG)


def fresh_outputs() -> dict[int, list[str]]:
    return walk()[1]


@pytest.fixture(scope="module")
def walked(request) -> tuple[Path, dict[int, list[str]]]:
    """The walk-through of this test run: with the ``LONG`` commands when the run includes the slow test
    that checks them (``make test-all``), without them in the default run (``-m "not slow"``)."""
    everything = any(
        item.name == test_the_readme_s_long_commands_print_what_it_says.__name__ for item in request.session.items
    )
    return walk(everything)


class _Checker(doctest.OutputChecker):
    """Doctest output compared as the shell examples are: numbers within what another machine moves them."""

    def check_output(self, want, got, optionflags):
        want = want.replace(doctest.BLANKLINE_MARKER, "")  # a blank line of output, as doctest marks it
        expected, actual = want.rstrip("\n").split("\n"), got.rstrip("\n").split("\n")
        return align(expected, actual, vary=False) is not None or super().check_output(want, got, optionflags)


class _Runner(doctest.DocTestRunner):
    """Keeps what each failed example printed, for ``store``."""

    def __init__(self):
        super().__init__(checker=_Checker(), optionflags=doctest.NORMALIZE_WHITESPACE)
        self.failed_examples: list[tuple[doctest.Example, str]] = []

    def report_failure(self, out, test, example, got):
        self.failed_examples.append((example, got))
        super().report_failure(out, test, example, got)


def run_python_examples(folder: Path) -> tuple[_Runner, str]:
    """The README's ``>>>`` examples run in README order in one namespace, in ``folder``."""
    blocks = re.findall(r"^```python\n(>>> .*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "README.md", str(README), 0)
    assert len(test.examples) > 20
    runner, report, here = _Runner(), io.StringIO(), os.getcwd()
    os.chdir(folder)
    try:
        runner.run(test, out=report.write)
    finally:
        os.chdir(here)
    return runner, report.getvalue()


@pytest.mark.timeout(WALK_SECONDS + 60)
def test_the_readme_python_examples_print_what_it_says(walked):
    """The ``>>>`` examples, where the walk-through ended (its files are there)."""
    runner, report = run_python_examples(walked[0] / "walk")
    assert not runner.failed_examples, report


RUN = [s for s in sessions(README.read_text(encoding="utf-8")) if s.marker != "not run"]


def assert_prints_what_the_readme_says(session: Session, c: Command, outputs: dict[int, list[str]]) -> None:
    got = outputs[c.line]
    assert align(c.expected, got, vary=session.marker == "numbers vary") is not None, (
        f"README line {c.line}: `{c.text}` printed\n" + "\n".join(got) + "\n\nwhere the README says\n"
        "" + "\n".join(c.expected) + "\n\n(store fresh outputs with `.venv/bin/python tests/test_readme.py`)"
    )


@pytest.mark.timeout(WALK_SECONDS + 60)  # the first of these runs the whole walk-through
@pytest.mark.parametrize("session", RUN, ids=[f"line {s.line}" for s in RUN])
def test_the_readme_shows_what_its_commands_print(session, walked):
    for c in session.commands:
        if c.text not in LONG:  # those: test_the_readme_s_long_commands_print_what_it_says
            assert_prints_what_the_readme_says(session, c, walked[1])


@pytest.mark.slow
@pytest.mark.timeout(WALK_SECONDS + 60)
def test_the_readme_s_long_commands_print_what_it_says(walked):
    for session in RUN:
        for c in session.commands:
            if c.text in LONG:
                assert_prints_what_the_readme_says(session, c, walked[1])


def test_the_long_commands_left_out_of_the_default_run_are_readme_commands():
    """A command of ``LONG`` that the README no longer shows would leave nothing out: it is named."""
    shown = {c.text for s in RUN for c in s.commands}
    assert set(LONG) <= shown, sorted(set(LONG) - shown)


def test_every_shell_example_is_run_or_says_why_not():
    text = README.read_text(encoding="utf-8")
    every = sessions(text)
    assert len(every) > 30, "the README's shell sessions were not found"
    for s in every:
        assert s.commands and all(c.text.strip() for c in s.commands), f"README line {s.line}: an empty command"
    skipped = [m.group(0) for m in re.finditer(r"<!-- readme: not run \((.+?)\) -->", text)]
    assert len(skipped) == sum(s.marker == "not run" for s in every), "a `not run` marker without its reason"


@pytest.mark.parametrize(
    "expected, actual, same",
    [
        (["epoch 1, loss 0.0393294"], ["epoch 1, loss 0.0393293"], True),  # another BLAS kernel
        (["epoch 1, loss 0.0393294"], ["epoch 1, loss 0.0393394"], False),  # another result
        (["epoch 1, loss 0.0393294"], ["epoch 2, loss 0.0393294"], False),
        (["epoch 1, loss 7", "...", "epoch 9, loss 1"], ["epoch 1, loss 7", "epoch 9, loss 1"], True),
        (["epoch 1, loss 7", "...", "epoch 9, loss 1"], ["epoch 1, loss 7", "a", "b", "epoch 9, loss 1"], True),
        (["a", "..."], ["a"], True),
        (["a"], ["a", "b"], False),
        (['{"w": [1.5, ...], "b": 2.5}'], ['{"w": [1.5, 2.25, 3.0], "b": 2.5}'], True),
        (["area    2.5   0.1"], ["area   12.5   0.1"], False),
        (["area    2.5   0.1"], ["area     2.5    0.1"], True),  # columns widen
    ],
)
def test_outputs_compare_as_the_docstring_says(expected, actual, same):
    assert (align(expected, actual, vary=False) is not None) is same


def store() -> None:
    """Run every command and write what it printed into the README (keeping ``...`` where it still fits)."""
    text = README.read_text(encoding="utf-8")
    lines = text.split("\n")
    outputs = fresh_outputs()
    replacements = []  # (first line index, end index, new lines), from the end of the file backwards
    for session in sessions(text):
        if session.marker == "not run":
            continue
        for c in session.commands:
            got = outputs[c.line]
            kept = align(c.expected, got, vary=True)
            if kept is None or any("..." in e and e != "..." for e in c.expected):
                new = _keep_shortening(c.expected, got, kept, vary=session.marker == "numbers vary")
            else:  # a line that still reads the same is kept as it is: no churn of last digits
                new = [
                    e
                    if at < 0 or line_matches(e, got[at], vary=session.marker == "numbers vary") is not None
                    else got[at]
                    for e, at in zip(c.expected, kept, strict=True)
                ]
            first = c.line  # index of the first output line (the command is at index c.line - 1)
            replacements.append((first, first + len(c.expected), [session.indent + x if x else x for x in new]))
    for first, end, new in sorted(replacements, reverse=True):
        lines[first:end] = new
    text = "\n".join(lines)
    runner, _ = run_python_examples(walk()[0] / "walk")
    for example, got in runner.failed_examples:  # the printed lines after the example's source, replaced
        source = "".join(
            (">>> " if i == 0 else "... ") + line + "\n"
            for i, line in enumerate(example.source.rstrip("\n").split("\n"))
        )
        assert text.count(source + example.want) == 1, f"README: {source!r} is not once in the README"
        text = text.replace(source + example.want, source + got)
    README.write_text(text, encoding="utf-8")
    print("stored the outputs of", sum(len(s.commands) for s in sessions(text) if s.marker != "not run"), "commands")


def _keep_shortening(expected: list[str], got: list[str], kept: list[int] | None, *, vary: bool) -> list[str]:
    """New output lines: an expected line with ``...`` inside keeps its text with the new numbers in it."""
    if kept is None:  # the shortening no longer fits: the whole new output
        return got
    new = []
    for e, at in zip(expected, kept, strict=True):
        if at >= 0 and line_matches(e, got[at], vary=vary) is not None:  # still reads the same: kept as it is
            new.append(e)
        elif at < 0 or "..." not in e:
            new.append(e if at < 0 else got[at])
            continue
        numbers = iter(line_matches(e, got[at], vary=True) or [])
        new.append(
            "".join(
                next(numbers) if NUMBER.fullmatch(t) else t for t in re.split(r"(\.\.\.|" + NUMBER.pattern + ")", e)
            )
        )
    return new


if __name__ == "__main__":
    store()


def test_the_train_usage_block_lists_every_flag_of_train_help():
    """The README's usage of ``linearnet train`` names each flag ``linearnet train --help`` lists."""
    from linearnet.cli import build_parser

    block = re.search(r"^```\n(linearnet train \[--preset.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    assert block, "the README's usage block of linearnet train was not found"
    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    flags = {o for a in train._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    missing = sorted(f for f in flags if not re.search(re.escape(f) + r"(?![\w-])", block.group(1)))
    assert not missing, f"the README's usage block of linearnet train leaves out {missing}"
