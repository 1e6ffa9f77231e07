"""Where results go (linearnet.outputs): output paths checked before the work, files written atomically."""

import os

import pytest

from linearnet.modelfile import Model, save_model

from helpers import HOUSES, cli


def test_a_failed_write_leaves_the_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old")
    import linearnet.modelfile as mf

    def explode(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(mf.json, "dumps", lambda *a, **k: "x" * 10)
    monkeypatch.setattr("builtins.open", _failing_open(open, explode))
    with pytest.raises(OSError, match="disk full"):
        save_model(Model(["a"], [1.0], 0.0), path)
    monkeypatch.undo()
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["m.json"]


def _failing_open(real_open, fail):
    def fake(file, mode="r", *args, **kwargs):
        if "w" in mode:
            fail()
        return real_open(file, mode, *args, **kwargs)

    return fake


def test_written_files_follow_the_umask_and_keep_an_existing_mode(tmp_path, capsys):
    model = tmp_path / "m.json"
    old = os.umask(0o022)
    try:
        assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)[0] == 0
        assert oct(model.stat().st_mode & 0o777) == oct(0o644)
        model.chmod(0o640)
        assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)[0] == 0
        assert oct(model.stat().st_mode & 0o777) == oct(0o640)
    finally:
        os.umask(old)


def test_an_empty_output_name_is_refused(capsys):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "")
    assert code == 2 and out == ""
    assert err == "linearnet solve: error: an output option was given an empty file name; name the file to write\n"


def test_an_unwritable_folder_is_one_line(capsys):
    # /proc refuses new files even to root: refused up front (not writable) or at the write itself
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "/proc/m.json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("linearnet solve: error: /proc/m.json: ")
