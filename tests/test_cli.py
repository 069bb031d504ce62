"""The `lstmops` command line as a user meets it: exit codes and messages."""

import pytest
import typer
from typer.testing import CliRunner

from lstmops.cli.main import app

runner = CliRunner()

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def _bars(n=60):  # enough for the default window (30) within the train part
    import pandas as pd

    rows = []
    for i, day in enumerate(pd.bdate_range("2024-01-02", periods=n)):
        price = 100 + i
        rows.append(f"{day.date()},{price},{price + 2},{price - 2},{price + 1},{price + 1},{1000 + i}\n")
    return rows


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # params.yaml absent: defaults, data under ./data
    return tmp_path


def test_ingest_csv_prices_passes_and_reports_the_validated_file(workdir):
    (workdir / "ACME.csv").write_text(YAHOO_HEADER + "".join(_bars()))

    result = runner.invoke(app, ["ingest", "prices", "--source", "csv", "--path", "ACME.csv"])

    assert result.exit_code == 0, result.output
    assert "data/validated/prices/csv/ACME.parquet" in result.output


def test_a_copy_with_high_below_low_and_a_duplicated_date_is_rejected_and_quarantined(workdir):
    rows = _bars()
    day, o, h, low, *rest = rows[5].split(",")
    rows[5] = ",".join([day, o, low, h, *rest])  # swap high and low on line 7
    rows.insert(11, rows[10])  # duplicate the date on line 12 -> lines 12 and 13
    (workdir / "ACME.csv").write_text(YAHOO_HEADER + "".join(rows))

    result = runner.invoke(app, ["ingest", "prices", "--source", "csv", "--path", "ACME.csv"])

    assert result.exit_code == 1
    message = result.output
    assert "ACME.csv" in message
    assert "high_ge_low" in message and "line 7" in message
    assert "date_unique" in message and "line 12" in message and "line 13" in message
    (quarantined,) = (workdir / "data" / "quarantine" / "prices").iterdir()
    assert (quarantined / "validation.json").exists()
    assert quarantined.name in message


def test_an_unknown_source_is_a_config_error_that_names_the_option_not_the_params_file(workdir):
    result = runner.invoke(app, ["ingest", "prices", "--source", "bloomberg"])

    assert result.exit_code == 2
    assert "--source 'bloomberg': Input should be" in result.output and "'yahoo'" in result.output
    assert "params.yaml" not in result.output


def test_a_bad_set_value_names_the_assignment_and_a_bad_file_value_names_the_file(workdir):
    assigned = runner.invoke(app, ["train", "forecaster", "--set", "train.epochs=0"])
    (workdir / "bad.yaml").write_text("train:\n  epochs: zero\n")
    in_file = runner.invoke(app, ["train", "forecaster", "--params", "bad.yaml"])

    assert (
        assigned.exit_code == 2
        and "--set train.epochs=0: Input should be greater than or equal to 1" in assigned.output
    )
    assert in_file.exit_code == 2 and "bad.yaml: invalid parameters: train.epochs:" in in_file.output


def test_an_unknown_key_names_where_it_was_typed_and_the_nearest_valid_key(workdir):
    assigned = runner.invoke(app, ["train", "forecaster", "--set", "train.epoch=2"])
    misspelt_section = runner.invoke(app, ["train", "forecaster", "--set", "model.forecaster.units=[8]"])
    (workdir / "params.yaml").write_text("train:\n  epoch: 3\n")
    in_file = runner.invoke(app, ["train", "forecaster"])

    assert assigned.exit_code == 2
    assert "ERROR: unknown key train.epoch in --set (did you mean train.epochs?)" in assigned.output
    assert "unknown key model.forecaster.units in --set (did you mean models.forecaster.units?)" in (
        misspelt_section.output
    )
    assert in_file.exit_code == 2
    assert "ERROR: unknown key train.epoch in params.yaml (did you mean train.epochs?)" in in_file.output
    assert "Extra inputs" not in assigned.output + misspelt_section.output + in_file.output


def test_outside_a_project_folder_a_command_says_it_runs_on_built_in_defaults_and_goes_on(workdir, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    notice = f"no params.yaml in {workdir}: using lstmops' built-in defaults (data under ./data, MLflow store under ./mlruns)"

    bare = runner.invoke(app, ["ingest", "sensors", "--source", "demo"])
    (workdir / "params.yaml").write_text("train: {epochs: 2}\n")  # a project folder's, with the same data settings
    in_a_project = runner.invoke(app, ["ingest", "sensors", "--source", "demo"])

    assert bare.exit_code == 0, bare.output
    assert bare.stderr.strip() == notice and "data/validated/sensors/demo" in bare.stdout  # it still did the work
    assert in_a_project.exit_code == 0 and in_a_project.stderr == "", in_a_project.output


def test_yahoo_out_of_reach_is_one_line_that_points_to_csv_and_demo(workdir, monkeypatch):
    import pandas as pd

    from lstmops.data import prices

    def offline_yfinance(ticker, start, end):  # yf.download offline: it logs the failure, returns an empty frame
        prices.logging.getLogger("yfinance").error(f"['{ticker}']: DNSError('Could not resolve host: query2')")
        return pd.DataFrame(columns=["Close", "High", "Low", "Open", "Volume"])

    monkeypatch.setattr(prices, "_yfinance_download", offline_yfinance)
    (workdir / "params.yaml").write_text("prices: {yahoo: {retries: 1}}\n")

    result = runner.invoke(app, ["ingest", "prices", "--source", "yahoo", "--ticker", "NVDA"])

    assert result.exit_code == 1
    assert result.output.startswith("ERROR: could not reach Yahoo: network failure downloading NVDA after 1 attempt")
    assert result.output.strip().endswith(
        "--source csv --path FILE (a CSV in Yahoo's layout) or --source demo (in params.yaml: prices.source)"
    )
    assert len(result.output.strip().splitlines()) == 1


def test_a_nab_root_that_does_not_exist_is_named_as_not_found_not_as_a_group_among_none(workdir):
    benchmark = ["benchmark", "nab", "--root", "nab", "--groups", "realKnownCause", "--out", "nab.json"]
    ingest = ["ingest", "sensors", "--source", "nab", "--root", "nab", "--series", "realKnownCause/nyc_taxi"]

    for command in (benchmark, ingest):
        result = runner.invoke(app, command)

        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.splitlines()[-1].startswith("ERROR: nab: NAB folder not found (expected NAB's layout:")
        assert "available groups" not in result.output and "groups found" not in result.output
    assert not (workdir / "nab.json").exists()


def test_csv_source_without_a_path_says_what_is_missing(workdir):
    result = runner.invoke(app, ["ingest", "sensors", "--source", "csv"])

    assert result.exit_code == 1
    assert "--path" in result.output


def test_prepare_ingests_validates_and_prepares_both_kinds_and_says_it_trains_nothing(workdir):
    (workdir / "params.yaml").write_text(
        "prices: {tickers: [DEMOA], demo: {n_days: 200}}\nsensors: {demo: {n_points: 500}}\n"
        "models: {seq2seq: {seasons: [48]}}\n"
    )

    result = runner.invoke(app, ["prepare"])
    commands = typer.main.get_command(app).commands

    assert result.exit_code == 0, result.output
    assert result.output.count("rows: train") == 2  # one line per prepared series, prices and sensors
    assert (workdir / "data" / "features" / "sensors" / "demo" / "demo__machine_a" / "scaler.json").exists()
    assert not (workdir / "mlruns").exists()  # nothing trained or tracked
    assert "trains nothing" in commands["prepare"].help
    assert commands["run"].hidden  # the old name still works (below) but is not offered


def test_run_the_old_name_of_prepare_still_prepares_and_points_to_the_main_job(workdir):
    (workdir / "params.yaml").write_text(
        "prices: {tickers: [DEMOA], demo: {n_days: 200}}\nsensors: {demo: {n_points: 500}}\n"
        "models: {seq2seq: {seasons: [48]}}\n"
    )

    result = runner.invoke(app, ["run"])

    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("`lstmops run` is now `lstmops prepare` (ingest -> validate -> features; no")
    assert "the main job, training included, is `make run`" in result.stderr
    assert result.stdout.count("rows: train") == 2


def test_set_overrides_reach_the_params_and_a_bad_key_or_value_stops_before_any_work(workdir):
    for assignment, named in [
        ("train.epochs=-1", "train.epochs"),
        ("nope.x=1", "nope"),
        ("models.forecaster.network=tcn", "models.forecaster.network"),
        ("epochs", "KEY=VALUE"),
    ]:
        result = runner.invoke(app, ["train", "forecaster", "--set", assignment])

        assert result.exit_code == 2, (assignment, result.output)
        assert named in result.output and len(result.output.strip().splitlines()) == 1
    assert not (workdir / "mlruns").exists()  # nothing was trained or tracked


def test_an_unset_option_does_not_undo_a_set_override(workdir):
    from pathlib import Path

    from lstmops.cli.main import _params

    params = _params(
        Path("params.yaml"), ["train.epochs=2", "models.forecaster.units=[8, 4]"], **{"train.epochs": None}
    )

    assert params.train.epochs == 2 and params.models.forecaster.units == [8, 4]
    assert _params(Path("params.yaml"), ["train.epochs=1"], **{"train.epochs": 5}).train.epochs == 5  # given: wins


@pytest.mark.faults
def test_a_yaml_syntax_error_in_params_names_the_file_and_line(workdir):
    (workdir / "params.yaml").write_text("train:\n  epochs: 3\n  batch_size: [32\n")

    result = runner.invoke(app, ["train", "forecaster"])

    assert result.exit_code == 2
    assert "params.yaml" in result.output and "line 4" in result.output and "not valid YAML" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["registry", "history", "forecaster-NOPE"],
        ["registry", "review", "forecaster-NOPE"],
        ["registry", "rollback", "forecaster-NOPE"],
        ["score", "forecaster-NOPE"],
        ["score", "forecaster-NOPE", "--input", "prices.csv"],
    ],
)
def test_every_command_words_a_missing_model_the_same_way(command, mlflow_store):
    (mlflow_store.root / "prices.csv").write_text(YAHOO_HEADER.lower() + "".join(_bars(3)))

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert "ERROR: no registered model 'forecaster-NOPE' (see `lstmops registry list`)" in result.output


def test_benchmark_nab_passes_the_named_protocol_detector_and_seeds_and_rejects_unknown_names(workdir, monkeypatch):
    from lstmops.benchmarks import nab

    calls, rules_passed = [], []

    def recording_benchmark(root, groups, params, out, *, protocol, seeds, detector, rules):
        calls.append((groups, protocol, seeds, params.train.seed, detector))
        rules_passed.append(rules)
        runs = [
            {"seed": seed, "f1": 0.5, "precision": 0.5, "recall": 0.5, "tp": 1, "fp": 1, "fn": 1} for seed in (3, 4)
        ]
        series = [
            {"name": "a", "group": "g", "seed": seed, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1, "seconds": 2.0}
            for seed in (3, 4)
        ]
        return {
            "protocol": {"name": protocol.name},
            "detector": {"name": detector.name},
            "seeds": [3, 4],
            "groups": {"g": {"f1": {"mean": 0.5, "min": 0.5, "max": 0.5}, "pooled": runs[0], "runs": runs}},
            "series": series,
        }

    monkeypatch.setattr(nab, "benchmark_nab", recording_benchmark)
    command = ["benchmark", "nab", "--root", "nab", "--groups", "g", "--out", "x.json", "--set", "train.seed=3"]

    result = runner.invoke(app, [*command, "--protocol", "orion", "--seeds", "2"])

    assert result.exit_code == 0, result.output
    assert calls == [(["g"], nab.PROTOCOLS["orion"], 2, 3, nab.DETECTORS["product"])]  # the detector users get
    assert "protocol orion, detector product, seeds [3, 4]" in result.output

    result = runner.invoke(app, [*command, "--detector", "lstm_ae"])  # Orion's reconstruction error alone
    assert result.exit_code == 0, result.output
    assert calls[-1] == (["g"], nab.PROTOCOLS["lstmops"], 1, 3, nab.DETECTORS["lstm_ae"])

    result = runner.invoke(app, [*command, "--protocol", "orion2"])
    assert result.exit_code == 1 and len(calls) == 2
    assert "ERROR: --protocol 'orion2': unknown protocol; expected one of lstmops, orion" in result.output

    result = runner.invoke(app, [*command, "--detector", "aer"])
    assert result.exit_code == 1 and len(calls) == 2
    assert (
        "ERROR: --detector 'aer': unknown detector; expected one of lstm_ae, seasonal_ae, seasonal_ae_global"
        in result.output
    )

    assert rules_passed == [{}, {}]  # no --rules: only the configured threshold
    result = runner.invoke(app, [*command, "--rules", "mean_std:6,max"])
    assert result.exit_code == 0, result.output
    assert rules_passed[-1] == {"mean_std:6": ("mean_std", {"k": 6.0}), "max": ("max", {})}
    result = runner.invoke(app, [*command, "--rules", "mean_std"])
    assert result.exit_code == 1 and len(calls) == 3
    assert "ERROR: --rules: 'mean_std' is not one of mean_std:K, percentile:Q, max" in result.output
