"""Model files (linearnet.modelfile): saved bit for bit, and a broken file refused with its reason."""

import json

import numpy as np
import pytest

from linearnet.modelfile import Model, load_model, save_model

from helpers import HOUSES, cli


def test_model_files_round_trip_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    model = Model(
        ["a", "b"],
        rng.standard_normal(2) * 1e-9,
        float(rng.standard_normal()),
        target="y",
        training={"method": "solve"},
    )
    save_model(model, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert np.array_equal(back.coefficients, model.coefficients) and back.intercept == model.intercept
    assert back.features == ["a", "b"] and json.loads((tmp_path / "m.json").read_text())["format_version"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a usable linearnet model file: not JSON"),
        ('{"format": "pickle"}', 'not a usable linearnet model file: expected "format": "linearnet-model"'),
        (
            '{"format": "linearnet-model", "format_version": 9}',
            "not a usable linearnet model file: format_version 9 is newer than this linearnet reads (1); "
            "upgrade linearnet",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1, 2], "intercept": 0}',
            "not a usable linearnet model file: coefficients must be 1 finite numbers, one per feature",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1], "intercept": "__import__(\'os\')"}',
            "not a usable linearnet model file: intercept must be a finite number",
        ),
    ],
)
def test_bad_model_files(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: {message}")
    code, _, err = cli(capsys, "predict", "--model", path, HOUSES)
    assert code == 2 and err.startswith(f"linearnet predict: error: {path}: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '{"format": "linearnet-model", "format_version": true}',
            "format_version must be a whole number >= 1, got True",
        ),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1' + "0" * 400 + '], "intercept": 0}',
            "a number is too large for a float",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1], "intercept": 0, "fit_intercept": "no"}',
            "fit_intercept must be true or false",
        ),
    ],
)
def test_wrong_types_deep_nesting_and_huge_numbers_are_refused_exactly(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a usable linearnet model file: {message}"
