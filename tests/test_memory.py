import sys
from pathlib import Path

import pytest
import torch

from linearnet.memory import HUGE_PAGE_MIN_BYTES, advise_huge_pages

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def test_small_arrays_are_left_alone():
    t = torch.ones(1000)
    assert advise_huge_pages(t.data_ptr(), t.nbytes, collapse=True) is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not THP.exists() or "[never]" in THP.read_text(),
                    reason="needs Linux with transparent huge pages")
def test_huge_pages_keep_the_contents():
    t = torch.arange(HUGE_PAGE_MIN_BYTES // 4 + 12345, dtype=torch.float32)
    before = t.clone()
    advise_huge_pages(t.data_ptr(), t.nbytes, collapse=True)  # the kernel may accept or refuse
    assert torch.equal(t, before)
