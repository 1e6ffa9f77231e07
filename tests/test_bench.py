"""Timing (linearnet.bench): the Timer and the vectorisation benchmark, in the library and as `linearnet bench`."""

import time

import pytest

from linearnet.bench import Timer, vectorization_benchmark

from helpers import cli


def test_timer_records_and_sums():
    timer = Timer()
    time.sleep(0.01)
    first = timer.stop()
    timer.start()
    second = timer.stop()
    assert first >= 0.01 and second >= 0
    assert timer.sum() == pytest.approx(first + second) and timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum() == pytest.approx([first, first + second])


def test_vectorization_is_faster_than_the_loop(capsys):
    rows = vectorization_benchmark(2000, 1)
    assert [r["library"] for r in rows] == ["torch", "numpy"]
    assert all(r["speedup"] > 1 for r in rows)
    code, out, err = cli(capsys, "bench", "vectorization", "--n", "2000", "--repeat", "1")
    assert (
        code == 0
        and err == ""
        and out.splitlines()[1].split() == ["library", "loop", "(s)", "vectorised", "(s)", "speed-up"]
    )
    code, _, err = cli(capsys, "bench", "vectorization", "--n", "0")
    assert code == 2 and err == "linearnet bench: error: n must be a whole number >= 1, got 0; e.g. 100000\n"
