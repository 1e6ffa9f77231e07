"""`linearnet presets` (linearnet.cli.presets): every preset with its source."""

import re

from helpers import cli


def test_presets_lists_every_preset_with_its_source(capsys):
    code, out, _ = cli(capsys, "presets")
    assert code == 0
    for name in ("d2l-3.2", "d2l-3.3", "gluon-lesson", "d2l-softmax", "digits-softmax"):
        assert re.search(rf"^{re.escape(name)}  \(impl \w+\)$", out, re.M)
    assert out.count("source:") == 5 and "12.39" in out
