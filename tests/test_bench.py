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


def test_the_two_ways_are_compared_exactly_where_a_low_precision_sum_is_not(capsys):
    import torch

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)  # the sum of 2049 twos, 4098, is no float16: summing rounds it
    try:
        code, out, err = cli(capsys, "bench", "vectorization", "--n", "2049", "--repeat", "1")
    finally:
        torch.set_default_dtype(default)
    assert (code, err) == (0, "") and out.startswith("adding two vectors of 2,049 elements (median of 1)\n")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_length_past_float32s_exact_sums_runs():
    rows = vectorization_benchmark(2**24 + 1, 1)  # 2·n is no float32: torch's sum of the float32 twos rounds
    assert [r["n"] for r in rows] == [2**24 + 1] * 2


def test_lengths_that_cannot_fit_are_refused_before_allocating(capsys, monkeypatch):
    import linearnet.memory

    monkeypatch.setattr(linearnet.memory, "available_bytes", lambda: 1 << 30)
    message = (
        "adding two vectors of 100,000,000,000 numbers needs 3.0 TiB of memory (the four vectors of each way "
        "at once), and 1.0 GiB is available; give a smaller n"
    )
    with pytest.raises(ValueError) as info:
        vectorization_benchmark(10**11)
    assert str(info.value) == message
    code, out, err = cli(capsys, "bench", "vectorization", "--n", "1e11")
    assert (code, out, err) == (2, "", f"linearnet bench: error: {message}\n")
    code, out, err = cli(capsys, "bench", "vectorization", "--n", "2e3", "--repeat", "1")
    assert code == 0 and out.startswith("adding two vectors of 2,000 elements")
    for text in ("1.5e0", "1e400", "nan", "ten"):
        code, out, err = cli(capsys, "bench", "vectorization", "--n", text)
        assert (code, out, err) == (
            2,
            "",
            f"linearnet bench vectorization: error: argument --n: expected a whole number such as 100000 or 1e5, "
            f"got {text!r}\n",
        )
