"""Standard output that cannot be written (a full disk, closed when the command started) is one line and exit
2, told apart from the files a command reads and writes; a reader gone stays the quiet exit 141. And the
memory a request is checked against: the cgroup's limit where one is set."""

import errno
import io
import sys

import pytest

from linearnet import memory
from linearnet.cli import main
from linearnet.outputs import GuardedStdout, StdoutError


class Full(io.StringIO):
    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        raise OSError(errno.ENOSPC, "No space left on device")


class Gone(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_or_full_standard_output_raises_its_own_error():
    closed = GuardedStdout(None)
    for use in (lambda s: s.write("x"), lambda s: s.flush(), lambda s: s.buffer):
        with pytest.raises(StdoutError, match="closed when the command started"):
            use(closed)
    assert closed.isatty() is False
    full = GuardedStdout(Full())
    with pytest.raises(StdoutError) as info:
        full.write("x")
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(BrokenPipeError):
        GuardedStdout(Gone()).write("x")


@pytest.mark.parametrize("stream, code", [(Full(), 2), (None, 2), (Gone(), 141)])
def test_a_command_whose_output_cannot_be_written_says_so_in_one_line(monkeypatch, capsys, stream, code):
    monkeypatch.setattr(sys, "stdout", stream)
    assert main(["bench", "vectorization", "--n", "100"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    if code == 2:
        assert len(err) == 1 and err[0].startswith("linearnet bench: error: standard output cannot be written")
    else:
        assert err == []


def _files(monkeypatch, contents: dict):
    def fake_open(name, *args, **kwargs):
        if name not in contents:
            raise FileNotFoundError(errno.ENOENT, "No such file", name)
        return io.StringIO(contents[name])

    monkeypatch.setattr(memory, "open", fake_open, raising=False)


def test_the_room_of_a_cgroup_with_a_limit_and_without(monkeypatch):
    group = {"/proc/self/cgroup": "0::/job\n", "/sys/fs/cgroup/job/memory.current": "400\n"}
    _files(monkeypatch, {**group, "/sys/fs/cgroup/job/memory.max": "1000\n", "/proc/meminfo": "MemAvailable: 8 kB\n"})
    assert memory._cgroup_room() == 600 and memory.available_bytes() == 600
    _files(monkeypatch, {**group, "/sys/fs/cgroup/job/memory.max": "max\n"})
    assert memory._cgroup_room() is None
    assert memory.available_bytes() > 0  # no /proc/meminfo: the free pages the system counts
    _files(monkeypatch, {})
    assert memory._cgroup_room() is None
