"""linearnet.launch: every process of a launch agrees on its settings and data before the first exchange,
or every one refuses, naming the process that differs and in what. Checked in one process with a group whose
other processes' answers are given (the all-gather's result), and under torchrun in test_hostile_inputs.py."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.config import SameEverywhereError
from linearnet.launch import agree, data_fingerprint


class Gathered:
    """A group whose all-gather returns this process's part, then the other processes' ``answers``."""

    def __init__(self, *answers):
        self.answers, self.exchanged = list(answers), False

    def everyone(self, part):
        return [part(), *self.answers]


SETTINGS = {"lr": 0.1, "epochs": 3, "features": ["a", "b"], "stream": False, "out": "m.json", "timeout": 30}


def test_processes_with_the_same_settings_and_data_agree(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,3\n")
    mine = data_fingerprint(tmp_path / "t.csv")
    elsewhere = dict(SETTINGS, out="other.json", timeout=99)  # where rank 0 writes, how long each waits: free
    group = Gathered(({k: v for k, v in elsewhere.items() if k not in ("out", "timeout")}, mine))
    agree(group, SETTINGS, str(tmp_path / "t.csv"))
    assert group.exchanged is False


@pytest.mark.parametrize(
    "name, value, said",
    [
        ("lr", 0.2, "process 1 was started with --lr 0.2 where process 0 has --lr 0.1"),
        ("stream", True, "process 1 was started with --stream where process 0 has no --stream"),
        ("features", ["a", "c"], "process 1 was started with --features a,c where process 0 has --features a,b"),
        ("epochs", None, "process 1 was started with no --epochs where process 0 has --epochs 3"),
        ("formula", "y ~ " + " + ".join(f"x{i}" for i in range(60)), "--formula y ~ x0 + x1"),
    ],
)
def test_a_process_given_other_settings_is_named_with_them(name, value, said):
    theirs = {k: v for k, v in SETTINGS.items() if k not in ("out", "timeout")}
    theirs[name] = value
    with pytest.raises(SameEverywhereError, match="every process must be given the same settings") as info:
        agree(Gathered((theirs, None)), SETTINGS)
    assert said in str(info.value) and len(str(info.value)) < 400


def _folder(tmp_path, name, files):
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder


@pytest.mark.parametrize(
    "theirs, said",
    [
        ({"p0.csv": "a,b,y\n1,2,3\n"}, "the files p0.csv where process 0 reads p0.csv, p1.csv"),
        ({"p0.csv": "a,b,y\n1,2,3\n", "p1.csv": "a,c,y\n4,5,6\n"}, "p1.csv with the columns a,c,y where"),
        ({"p0.csv": "a,b,y\n1,2,3\n", "p1.csv": "a,b,y\n4,5,6\n7,8,9\n"}, "p1.csv with 18 bytes where process 0"),
        ({"p0.csv": "a,b,y\n1,2,3\n", "p1.csv": "a,b,y\n4,5,7\n"}, "p1.csv with other contents than process 0's"),
    ],
)
def test_a_process_that_sees_other_files_is_named_with_what_differs(tmp_path, theirs, said):
    mine = _folder(tmp_path, "mine", {"p0.csv": "a,b,y\n1,2,3\n", "p1.csv": "a,b,y\n4,5,6\n"})
    other = data_fingerprint(_folder(tmp_path, "theirs", theirs))
    settings = {k: v for k, v in SETTINGS.items() if k not in ("out", "timeout")}
    with pytest.raises(SameEverywhereError, match="every machine must see the same files") as info:
        agree(Gathered((settings, other)), SETTINGS, str(mine))
    assert said in str(info.value)


def test_the_fingerprint_of_a_file_a_parquet_file_and_standard_input(tmp_path):
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [0, 1]}), tmp_path / "t.parquet")
    ((name, size, columns, digest),) = data_fingerprint(tmp_path / "t.parquet")
    assert name == str(tmp_path / "t.parquet") and columns == "a,y" and size > 0 and len(digest) == 32
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(b"a,y\n1,0\n"))
    assert data_fingerprint(tmp_path / "t.csv.gz")[0][2] != "a,y"  # compressed: its bytes, not its columns
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not a parquet file PAR1")
    assert data_fingerprint(tmp_path / "bad.parquet")[0][2] == ""  # the reader says what is wrong, later
    assert data_fingerprint("-") == []
    many = _folder(tmp_path, "many", {f"p{i}.csv": "a\n1\n" for i in range(7)})
    with pytest.raises(SameEverywhereError, match=r"and 2 more"):
        agree(Gathered(({}, [])), {}, str(many))


def test_a_file_missing_on_a_machine_is_its_error(tmp_path):
    with pytest.raises(ValueError, match=r"missing\.csv"):
        data_fingerprint(tmp_path / "missing.csv")
