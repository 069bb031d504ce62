"""The data-kind contract: every registered kind goes through snapshot -> validation -> features alike."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

import pytest

from lstmops.config import load_params
from lstmops.data import ingest, prepare
from lstmops.data.kinds import DATA_KINDS, DataKindName, data_kind

SMALL = {
    "prices.tickers": ["DEMOA"],
    "sensors.series": ["demo/machine_a"],
    "prices.demo.n_days": 200,
    "sensors.demo.n_points": 500,
    "models.seq2seq.seasons": [48],  # a weekly season does not fit in 500 rows
}


def test_the_registry_and_the_one_spelling_name_the_same_kinds():
    assert tuple(DATA_KINDS) == get_args(DataKindName) == ("prices", "sensors")
    assert all(kind.name == name for name, kind in DATA_KINDS.items())


def test_an_unknown_kind_is_a_one_line_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"^unknown data kind 'bonds'; expected one of prices, sensors$"):
        data_kind("bonds")


def test_importing_the_contract_and_the_cli_loads_neither_pandas_nor_great_expectations():
    code = "import sys, lstmops.cli; print(sorted(m for m in ('pandas', 'great_expectations') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize("name", DATA_KINDS)
def test_each_kind_answers_from_its_own_params_section(name):
    kind, params = data_kind(name), load_params(overrides=SMALL)

    assert kind.section(params) is getattr(params, name) and kind.source(params) == "demo"
    narrowed = load_params(overrides=kind.one_series("only-this", {"data.root": "elsewhere"}))
    assert kind.configured_series(narrowed) == ["only-this"] and str(narrowed.data.root) == "elsewhere"
    assert kind.validation_settings(params) == {
        **kind.section(params).validation.model_dump(mode="json"),
        "min_rows": list(kind.min_rows(params)),
        **({"duplicate_timestamps": "mean"} if name == "sensors" else {}),
    }
    assert kind.network_retries(params) is None  # the demo source downloads nothing


def test_only_a_downloading_source_has_network_retries_and_one_attempt_turns_them_off():
    prices = data_kind("prices")
    yahoo = load_params(overrides={"prices.source": "yahoo", "prices.yahoo.retries": 4})

    assert prices.network_retries(yahoo) == (4, yahoo.prices.yahoo.backoff_seconds)
    assert prices.one_attempt(yahoo).prices.yahoo.retries == 1 and yahoo.prices.yahoo.retries == 4


@pytest.mark.parametrize("name", DATA_KINDS)
def test_each_kind_snapshots_validates_and_prepares_its_demo_data(name, tmp_path):
    kind, params = data_kind(name), load_params(overrides={**SMALL, "data.root": str(tmp_path)})

    (result,) = ingest.validate_all(ingest.snapshot(name, params), params)
    raw = kind.read_raw(result.raw_path)
    prepared = prepare.prepare_series(result.validated_path, params)

    assert result.kind == name and result.source == "demo" and ingest.validated_on_disk([result], params)
    assert list(raw.columns[: len(kind.columns)]) == list(kind.columns)
    assert prepared.kind == name and prepared.features.columns[0] == kind.time_column
    assert prepare.features_on_disk(result, params)
    newest = kind.newest_time(prepared.features)
    assert newest == prepared.features[kind.time_column].max().strftime(kind.time_format)
    assert result.identity() == [name, "demo", result.series, result.sha256]
