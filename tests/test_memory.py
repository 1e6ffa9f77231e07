"""Huge pages (linearnet.memory): small arrays left alone; a large one backed by 2 MB pages, its contents unchanged."""

import re
import sys
from pathlib import Path

import pytest
import torch

from linearnet import memory
from linearnet.memory import HUGE_PAGE_MIN_BYTES, advise_huge_pages

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def test_small_arrays_are_left_alone():
    t = torch.ones(1000)
    assert advise_huge_pages(t.data_ptr(), t.nbytes, collapse=True) is False


def huge_page_kib(lo, hi):
    """(kB of huge pages, whether every mapping is advised 'hg') over the mappings that overlap [lo, hi)."""
    total, advised, inside = 0, True, False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if head:
                inside = int(head.group(1), 16) < hi and int(head.group(2), 16) > lo
            elif inside and line.startswith("AnonHugePages:"):
                total += int(line.split()[1])
            elif inside and line.startswith("VmFlags:"):
                advised = advised and "hg" in line.split()[1:]
    return total, advised


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not THP.exists() or "[never]" in THP.read_text(),
    reason="needs Linux with transparent huge pages",
)
def test_huge_pages_keep_the_contents():
    t = torch.arange(HUGE_PAGE_MIN_BYTES // 4 + 12345, dtype=torch.float32)
    before = t.clone()
    accepted = advise_huge_pages(t.data_ptr(), t.nbytes, collapse=True)  # the kernel may accept or refuse
    assert torch.equal(t, before)
    if not accepted:
        pytest.skip(
            f"the kernel refused huge pages (transparent_hugepage: {THP.read_text().strip()}); "
            f"the contents are unchanged"
        )
    huge = 2 << 20  # the 2 MB-aligned part of the array is what is advised and collapsed
    lo, hi = -(-t.data_ptr() // huge) * huge, (t.data_ptr() + t.nbytes) // huge * huge
    kib, advised = huge_page_kib(lo, hi)
    assert advised and kib * 1024 >= hi - lo, f"{kib} kB of huge pages over {(hi - lo) >> 10} kB advised"
    assert torch.equal(t, before)


class FakeMadvise:
    """Stands in for libc's madvise: records each call and answers as the kernel would (0 = accepted)."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def __call__(self, address, length, advice):
        self.calls.append((address, length, advice))
        return self.answers.pop(0)


ADDRESS = (7 << 21) + 4096  # not on a 2 MB boundary: the advice covers the aligned part inside the array
NBYTES = HUGE_PAGE_MIN_BYTES + 12345


def aligned_part():
    lo = 8 << 21  # the first 2 MB boundary inside the array
    hi = (ADDRESS + NBYTES) // (2 << 20) * (2 << 20)
    return lo, hi - lo


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the advice is given on Linux only")
@pytest.mark.parametrize(
    "collapse, answers, accepted, advices",
    [
        (False, [0], True, [memory._MADV_HUGEPAGE]),
        (True, [0, 0], True, [memory._MADV_HUGEPAGE, memory._MADV_COLLAPSE]),
        (True, [-1], False, [memory._MADV_HUGEPAGE]),  # a kernel without transparent huge pages
        (True, [0, -1], False, [memory._MADV_HUGEPAGE, memory._MADV_COLLAPSE]),  # Linux before 6.1: no collapse
    ],
)
def test_the_advice_stays_inside_the_array_and_a_refusal_is_reported(monkeypatch, collapse, answers, accepted, advices):
    fake = FakeMadvise(*answers)
    monkeypatch.setattr(memory, "_madvise", fake)
    assert advise_huge_pages(ADDRESS, NBYTES, collapse=collapse) is accepted
    assert fake.calls == [(*aligned_part(), advice) for advice in advices]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the advice is given on Linux only")
@pytest.mark.parametrize("failure", [OSError("no C library"), AttributeError("madvise")])
def test_without_madvise_nothing_is_advised_and_nothing_is_looked_up_again(monkeypatch, failure):
    lookups = []

    def no_madvise(*args, **kwargs):
        lookups.append(args)
        raise failure

    monkeypatch.setattr(memory, "_madvise", None)
    monkeypatch.setattr(memory.ctypes, "CDLL", no_madvise)
    t = torch.ones(1000)
    assert advise_huge_pages(t.data_ptr(), NBYTES, collapse=True) is False
    assert advise_huge_pages(t.data_ptr(), NBYTES, collapse=False) is False
    assert len(lookups) == 1 and memory._madvise is False


def test_available_bytes_is_what_meminfo_says_at_most():
    from linearnet.memory import available_bytes

    with open("/proc/meminfo") as fh:
        total = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemTotal:"))
    assert 0 < available_bytes() <= total


def test_human_bytes_uses_binary_units():
    from linearnet.memory import human_bytes

    assert human_bytes(5) == "5 B"
    assert human_bytes(60001**2 * 8) == "26.8 GiB"
    assert human_bytes(3 << 20) == "3.0 MiB"
