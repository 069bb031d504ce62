"""The typed view of params.yaml: one config for the CLI, the DVC stages and the flows.

Unknown keys are errors, named with the nearest valid key (a typo in params.yaml must not be silently
ignored), and `load_params(overrides=...)` applies dotted-key overrides such as CLI options.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic import Strict as StrictValue

DEFAULT_PARAMS_FILE = Path("params.yaml")
# Counts, seeds and sizes take integers only: pydantic would read `true` as 1 and 30.0 as 30 (`--set
# train.epochs=true` trained one epoch).
Int = Annotated[int, StrictValue()]


# A series name becomes file names (data/raw/.../<name>-<hash>.csv, its .json sidecar) and a registered
# model's name: a name near the file system's 255-byte limit fails with `File name too long` mid-ingest.
SERIES_NAME_MAX = 100


def check_series_name(name: str) -> str:
    """`name` if it can name a series' files and models; ValueError saying which rule it breaks."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a series name must be a non-empty string")
    if len(name) > SERIES_NAME_MAX:
        raise ValueError(f"a series name is at most {SERIES_NAME_MAX} characters, this one has {len(name)}")
    bad = sorted({char for char in name if not char.isprintable() or char == "\\"})
    if bad:
        raise ValueError(f"a series name takes printable characters other than a backslash, not {''.join(bad)!r}")
    if name.startswith("/") or ".." in name.split("/"):
        raise ValueError(
            "a series name may not start with '/' or hold a '..' part (it would name a path outside data/)"
        )
    return name


SeriesName = Annotated[str, AfterValidator(check_series_name)]


def shown_value(value: Any, quoted: bool = True) -> str:
    """A value (its repr when `quoted`) for a one-line error, cut short when long (a 300-character ticker)."""
    if isinstance(value, str) and len(value) > 40:
        cut = value[:30] + "…"
        return f"{cut!r} ({len(value)} characters)" if quoted else f"{cut} ({len(value)} characters)"
    text = repr(value) if quoted else str(value)
    return text if len(text) <= 60 else f"{text[:40]}… ({len(text)} characters)"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataParams(Strict):
    root: Path = Path("data")


class YahooParams(Strict):
    retries: Int = Field(3, ge=1)
    backoff_seconds: float = Field(2.0, ge=0)


class DemoPriceParams(Strict):
    seed: Int = 7
    n_days: Int = Field(1500, ge=50)
    momentum: float = Field(0.15, gt=-1, lt=1)
    # Threshold autoregression (data/demo_prices.py): the return coefficient is momentum + swing after
    # moves within threshold x the daily volatility, momentum - swing after larger ones (0: plain AR(1)).
    swing: float = Field(0.0, ge=0, lt=1)
    threshold: float = Field(1.0, gt=0)
    # A change point for drifted demo data (`lstmops monitor` demos): after this date, returns follow
    # change_momentum (null: unchanged) and shocks are change_noise times larger.
    change_after: str | None = None
    change_momentum: float | None = Field(None, gt=-1, lt=1)
    change_noise: float = Field(1.0, gt=0)


class PriceValidationParams(Strict):
    max_gap_business_days: Int = Field(5, ge=0)


class PriceParams(Strict):
    source: Literal["demo", "csv", "yahoo"] = "demo"
    tickers: list[SeriesName] = ["DEMOA", "DEMOB"]
    start: str = "2016-01-01"
    end: str = "2021-12-31"
    yahoo: YahooParams = YahooParams()
    demo: DemoPriceParams = DemoPriceParams()
    validation: PriceValidationParams = PriceValidationParams()


class DemoSensorParams(Strict):
    seed: Int = 11
    n_points: Int = Field(4032, ge=100)
    freq: str = "5min"
    # A thermostat-like relay whose period depends on the hour (data/demo_sensors.py), this times the
    # daily amplitude: structure a linear model on lags cannot capture (0: none).
    cycle: float = Field(0.0, ge=0)
    # The relay's relative step-to-step spread of speed: small, it locks to the daily forcing and repeats
    # (which a seasonal naive predicts); large, its phase wanders and only its current state tells its future.
    cycle_jitter: float = Field(0.05, ge=0, lt=1)
    # The demo series that get the relay (None: every one): one series can show the seq2seq's edge over a
    # linear model while another keeps the plain signal, where the autoencoder's anomalies stay visible.
    cycle_series: list[SeriesName] | None = None


class SensorValidationParams(Strict):
    interval_tolerance: float = Field(0.1, ge=0)
    max_null_fraction: float = Field(0.01, ge=0, le=1)
    # The longest interval, in median intervals, before a gap fails `interval_gap`: wide enough for the
    # outages real NAB series have, far short of a sensor silent for months.
    max_gap_intervals: Int = Field(1000, ge=1)


class SensorParams(Strict):
    source: Literal["demo", "csv", "nab"] = "demo"
    series: list[SeriesName] = ["demo/machine_a"]
    # "mean": repeated timestamps are averaged (and the series sorted) before validation, recorded
    # in the dataset card; "reject": they fail validation like any other rule.
    duplicate_timestamps: Literal["mean", "reject"] = "mean"
    demo: DemoSensorParams = DemoSensorParams()
    validation: SensorValidationParams = SensorValidationParams()


class SplitParams(Strict):
    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitParams:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + val + test must be 1.0, got {total}")
        return self


class PriceWindowParams(Strict):
    window: Int = Field(30, ge=2)
    features: list[str] = ["log_return", "range", "volume_change"]
    target: str = "log_return"


class SensorWindowParams(Strict):
    window: Int = Field(64, ge=2)


class WindowParams(Strict):
    split: SplitParams = SplitParams()
    prices: PriceWindowParams = PriceWindowParams()
    sensors: SensorWindowParams = SensorWindowParams()


class TrainParams(Strict):
    seed: Int = 42
    epochs: Int = Field(30, ge=1)
    batch_size: Int = Field(64, ge=1)
    patience: Int = Field(5, ge=1)  # early stopping on val_loss
    lr_patience: Int = Field(2, ge=1)  # ReduceLROnPlateau: halve the rate after this many flat epochs
    lr_factor: float = Field(0.5, gt=0, lt=1)
    verbose: Int = Field(2, ge=0, le=2)  # Keras progress: 0 silent, 1 bar, 2 one line per epoch


class TrainOverrides(Strict):
    """Per-kind exceptions to the shared `train` section (None: use the shared value)."""

    epochs: Int | None = Field(None, ge=1)
    batch_size: Int | None = Field(None, ge=1)
    patience: Int | None = Field(None, ge=1)


RecurrentNetwork = Literal["lstm", "gru"]  # the recurrent layer a task's network is built from


class ForecasterParams(Strict):
    network: RecurrentNetwork = "lstm"
    units: list[Int] = [32, 16]
    dropout: float = Field(0.1, ge=0, lt=1)
    learning_rate: float = Field(1e-3, gt=0)
    interval_alpha: float = Field(0.1, gt=0, lt=1)  # split-conformal intervals at 1 - alpha
    backtest_folds: Int = Field(3, ge=0)  # walk-forward folds (0 = no backtest)
    backtest_epochs: Int = Field(10, ge=1)
    train: TrainOverrides = TrainOverrides()


AnomalyKind = Literal["spike", "level_shift", "drift", "flatline", "noise_burst"]


class InjectionParams(Strict):
    """The protocol of the label-free evaluation: anomalies of known kinds injected into copies of a
    series' test part (`evaluate.injected`). Fixed here, so two versions are scored on the same copies."""

    kinds: list[AnomalyKind] = Field(["spike", "level_shift", "drift", "flatline", "noise_burst"], min_length=1)
    events: Int = Field(3, ge=1)  # anomalies per copy, each in its own equal slot of the test part
    # Seeded copies, their counts pooled (one F1, one paired test): enough that which places and sizes
    # were drawn matters little beside the detectors' difference; each copy costs one scoring of the test part.
    copies: Int = Field(20, ge=1)
    seed: Int = 0
    # Size of each anomaly in standard deviations of the training part's values (the series' own spread);
    # 1.4 is about the demo generator's scale, a daily swing's amplitude (a sine's std is amplitude / sqrt 2).
    magnitude: float = Field(1.4, gt=0)
    # Rows of an anomaly other than a spike (one row), in windows.sensors.window units
    length: float = Field(0.5, gt=0)


class AnomalyEvaluationParams(Strict):
    # Real labels decide the gate when the test part holds at least this many labelled windows; fewer
    # cannot make a difference significant under the block bootstrap at alpha 0.05 (each event is left
    # out of about 37% of the resamples), so the injected anomalies decide instead.
    min_labelled_windows: Int = Field(4, ge=1)
    injected: InjectionParams = InjectionParams()


class AutoencoderParams(Strict):
    network: RecurrentNetwork = "lstm"
    units: Int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    threshold_rule: Literal["mean_std", "percentile", "max"] = "mean_std"
    # mean + k * std of the training rows' scores (Orion's rule, whose k is 4: the product's threshold is
    # fitted on the training part, not on the scored part as Orion's, and k was chosen on NAB's development
    # groups through the product's own path, docs/benchmarks.md)
    threshold_k: float = Field(8.0, gt=0)
    threshold_percentile: float = Field(99.0, gt=0, le=100)
    # The lowest threshold any rule may give, in score units (the values scaled to [-1, 1] over the training
    # part): a flat or noise-free training part would otherwise put it at the network's numerical noise.
    threshold_floor: float = Field(0.05, ge=0)
    # reconstruction: Orion's reconstruction error; seasonal: its geometric mean with each row's
    # distance to the neighbouring periods, where the training part has a period longer than the window
    score: Literal["reconstruction", "seasonal"] = "seasonal"
    evaluation: AnomalyEvaluationParams = AnomalyEvaluationParams()
    train: TrainOverrides = TrainOverrides()


Seq2SeqDecoder = Literal["recursive", "seasonal_residual"]


class Seq2SeqParams(Strict):
    units: Int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    attention: Literal["luong", "luong_scaled", "bahdanau"] = "luong"
    window: Int = Field(96, ge=2)
    horizon: Int = Field(24, ge=1)
    # recursive: teacher-forced training, each step's forecast fed back as the next input.
    # seasonal_residual: all steps decoded at once from the seasonal-naive values and calendar of each
    # target step, forecasting the residual over the seasonal naive that was strongest on the train part.
    decoder: Seq2SeqDecoder = "seasonal_residual"
    # Seasonal-naive periods in samples (288 = a day and 2016 = a week at 5 min): every one is a
    # baseline, the strongest on the hold-out is the gate's, and seasonal_residual reads them all.
    seasons: list[Annotated[int, Field(ge=1)]] = Field([288, 2016], min_length=1)
    # sin/cos of time of day / week as inputs (chosen on the val part of the demo sensor and of NYC taxi)
    calendar: list[Literal["day", "week"]] = ["day", "week"]
    # seasonal_residual: networks initialised apart and trained side by side, each on its own error;
    # the forecast is their mean (a seed ensemble: steadier than one network, members x the compute).
    members: Int = Field(1, ge=1)
    # seasonal_residual: series = inputs as scaled on the train part; window = each origin's inputs also
    # standardised by its own window's mean and spread, the residual scaled back (level-free inputs);
    # auto = train both and keep the one with the lower validation loss (twice the training; the
    # recursive decoder knows series scaling only).
    normalise: Literal["series", "window", "auto"] = "series"
    # seasonal_residual: a linear autoregressive highway (LSTNet) added to the residual, over the last
    # `highway` values of the window and each step's seasonal naives (0: none; more than the window:
    # the whole window). Chosen on the val parts of development series (docs/benchmarks.md).
    highway: Int = Field(0, ge=0)
    train: TrainOverrides = TrainOverrides()

    @model_validator(mode="after")
    def _variants_need_direct_decoding(self) -> Seq2SeqParams:
        if self.members > 1 and self.decoder != "seasonal_residual":
            raise ValueError(f"members={self.members} needs decoder seasonal_residual, got {self.decoder!r}")
        # auto with the recursive decoder has nothing to choose from: it trains on the series' scaling
        if self.normalise == "window" and self.decoder != "seasonal_residual":
            raise ValueError(f"normalise={self.normalise!r} needs decoder seasonal_residual, got {self.decoder!r}")
        if self.highway and self.decoder != "seasonal_residual":
            raise ValueError(f"highway={self.highway} needs decoder seasonal_residual, got {self.decoder!r}")
        return self

    def history_rows(self) -> int:
        """Rows of history one forecast origin needs: every season's naive, and for seasonal_residual
        also a window of deviations from one season earlier (the longest season, at worst)."""
        if self.decoder == "seasonal_residual":
            return self.window + max(self.seasons)
        return max(self.window, max(self.seasons))


class ModelParams(Strict):
    forecaster: ForecasterParams = ForecasterParams()
    autoencoder: AutoencoderParams = AutoencoderParams()
    seq2seq: Seq2SeqParams = Seq2SeqParams()


class OrchestrationParams(Strict):
    """Where the trainings of one retrain run: threads of the flow's process, processes on this
    machine, or a Dask cluster."""

    task_runner: Literal["threads", "processes", "dask"] = "threads"
    # Trainings side by side on this machine: threads, processes, or a temporary Dask cluster's workers.
    local_workers: Int = Field(3, ge=1)
    # task_runner dask: the scheduler's address (tcp://host:8786); None starts a temporary local cluster
    dask_address: str | None = None
    # Dask worker resource "GPU" each training holds: workers started with `--resources GPU=N`
    # run at most N trainings at a time, one per GPU; 0 leaves trainings unconstrained (CPU workers).
    gpus_per_training: Int = Field(0, ge=0)


class RegistryParams(Strict):
    # A challenger must beat the champion's primary metric by this relative margin (0.02 = 2 %): the
    # smallest effect worth a change, on top of significance.
    margin: float = Field(0.0, ge=0)
    # Level of the gate's paired tests: promoted only if better than the champion and the baseline
    # with p < alpha (its (1 - alpha) confidence interval of the difference excludes zero).
    alpha: float = Field(0.05, gt=0, lt=1)


class MonitoringParams(Strict):
    # Level of the champion-vs-baseline tests of `lstmops monitor` (split over its two decay tests).
    alpha: float = Field(0.05, gt=0, lt=1)
    # Fewest new forecast origins whose targets have arrived before a verdict other than insufficient_data.
    min_points: int = Field(30, ge=3)
    # Upper CUSUM on standardised loss differences: allowance k and alarm threshold h (in standard deviations).
    cusum_k: float = Field(0.5, ge=0)
    cusum_threshold: float = Field(8.0, gt=0)


class Params(Strict):
    data: DataParams = DataParams()
    prices: PriceParams = PriceParams()
    sensors: SensorParams = SensorParams()
    windows: WindowParams = WindowParams()
    train: TrainParams = TrainParams()
    models: ModelParams = ModelParams()
    orchestration: OrchestrationParams = OrchestrationParams()
    registry: RegistryParams = RegistryParams()
    monitoring: MonitoringParams = MonitoringParams()

    def train_params(self, kind: str) -> TrainParams:
        """The shared `train` section with `models.<kind>.train` exceptions applied. A task without a
        `models.<kind>` section of its own (one that needs no settings) trains with the shared section."""
        section = getattr(self.models, kind, None)
        if section is None:
            return self.train
        return self.train.model_copy(update=section.train.model_dump(exclude_none=True))

    def for_task(self, kind: str) -> Params:
        """These params as model task `kind` trains with them: `train` holds its effective values."""
        return self.model_copy(update={"train": self.train_params(kind)})


class ConfigError(ValueError):
    """params.yaml (or an override) does not describe a valid configuration."""


def _set_dotted(tree: dict[str, Any], dotted_key: str, value: Any) -> None:
    *parents, leaf = dotted_key.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted_key!r}: {key!r} is not a section")
    node[leaf] = value


def load_params(
    path: Path | str | None = None, overrides: dict[str, Any] | None = None, origins: dict[str, str] | None = None
) -> Params:
    """Read params.yaml (defaults if the file is absent), apply dotted overrides, validate.

    Overrides whose value is None are ignored, so unset CLI options fall through to the file.
    `origins` names where an override came from (dotted key -> e.g. "--source"): an invalid value is
    then blamed on that option, not on the params file.
    """
    path = Path(path) if path is not None else DEFAULT_PARAMS_FILE
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"{path}:{where} not valid YAML ({getattr(err, 'problem', None) or err})") from None
    elif path != DEFAULT_PARAMS_FILE:
        raise ConfigError(f"{path}: params file not found")
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(raw, key, value)
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        from_options = {key: origin for key, origin in (origins or {}).items() if overrides and key in overrides}
        in_options = describe_options(err, from_options)
        unknown = describe_unknown(err, str(path), exclude=tuple(from_options))
        in_file = describe(err, exclude=tuple(from_options))
        parts = (in_options, unknown, in_file and f"{path}: invalid parameters: {in_file}")
        message = "; ".join(part for part in parts if part)
        raise ConfigError(message) from err


def defaults_notice(path: Path | str | None = None) -> str | None:
    """The line to show when the default params file is absent (None when it is there, or when another
    file was named: that one must exist). Built-in defaults then write data and the MLflow store under
    the working directory, which outside a project folder is a surprise unless said."""
    path = Path(path) if path is not None else DEFAULT_PARAMS_FILE
    if path != DEFAULT_PARAMS_FILE or path.exists():
        return None
    store = "under ./mlruns" if not os.environ.get("MLFLOW_TRACKING_URI") else "at MLFLOW_TRACKING_URI"
    return (
        f"no {path} in {Path.cwd()}: using lstmops' built-in defaults "
        f"(data under ./{DataParams().root.as_posix()}, MLflow store {store})"
    )


def _key(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"])


def _origin(key: str, origins: dict[str, str]) -> str | None:
    return next((origin for prefix, origin in origins.items() if key == prefix or key.startswith(prefix + ".")), None)


def describe(err: ValidationError, exclude: tuple[str, ...] = ()) -> str:
    """One line naming each offending key, what is wrong and the value given (keys under `exclude`
    and unknown keys left out: `describe_unknown` names those)."""
    problems = []
    for error in err.errors():
        key = _key(error)
        if error["type"] == "extra_forbidden" or _origin(key, dict.fromkeys(exclude, "")) is not None:
            continue
        given = "" if error["type"] == "missing" else f" (got {shown_value(error['input'])})"
        problems.append(f"{key}: {error['msg']}{given}")
    return "; ".join(problems)


def describe_unknown(err: ValidationError, where: str, exclude: tuple[str, ...] = ()) -> str:
    """`unknown key train.epoch in params.yaml (did you mean train.epochs?)` for each key no section
    has, but those an option set (under or above a key of `exclude`: `describe_options` names them)."""
    problems = []
    for error in err.errors():
        key = _key(error)
        if error["type"] != "extra_forbidden" or _origin(key, dict.fromkeys(exclude, "")) is not None:
            continue
        if not any(typed.startswith(key + ".") for typed in exclude):
            problems.append(unknown_key(key, where))
    return "; ".join(problems)


def describe_options(err: ValidationError, origins: dict[str, str]) -> str:
    """`--source 'yahooo': Input should be 'yahoo', 'csv' or 'demo'` for each error an option caused,
    `unknown key train.epoch in --set (did you mean train.epochs?)` for a key no section has."""
    problems = []
    for error in err.errors():
        key = _key(error)
        origin = _origin(key, origins)
        if error["type"] == "extra_forbidden":
            if origin is None:  # `--set model.x=1` fails at `model`: name the whole key the user typed
                key = next((typed for typed in origins if typed.startswith(key + ".")), key)
                origin = origins.get(key)
            if origin is not None:
                problems.append(unknown_key(key, "--set" if origin.startswith("--set ") else origin))
            continue
        if origin is not None:
            value = error["input"]
            given = (
                f"{origin}{shown_value(value, quoted=False)}"
                if origin.endswith("=")
                else f"{origin} {shown_value(value)}"
            )
            problems.append(f"{given}: {error['msg']}")
    return "; ".join(problems)


def unknown_key(key: str, where: str) -> str:
    """`unknown key train.epoch in --set (did you mean train.epochs?)`: the nearest key params.yaml accepts."""
    nearest = difflib.get_close_matches(key, dotted_keys(), n=1)
    return f"unknown key {key} in {where}" + (f" (did you mean {nearest[0]}?)" if nearest else "")


def dotted_keys(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Every key params.yaml accepts, sections included: `train`, `train.epochs`, `models.forecaster`, ..."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            keys += dotted_keys(field.annotation, f"{prefix}{name}.")
    return keys


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (dotted keys into params.yaml) -> overrides; values are read as YAML, so
    `train.epochs=2` is an int and `models.forecaster.units=[8,4]` a list, as in `dvc exp run -S`."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE with a dotted params.yaml key")
        try:
            overrides[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {assignment!r}: the value is not valid YAML ({err.problem})") from err
    return overrides
