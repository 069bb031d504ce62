"""The linear baseline: a ridge regression on a series' own lags, the bar a neural forecaster must clear.

Inputs of origin t (the last observed row, as in `baselines`): the last `lags` values y[t-lags+1..t]
and, for each season s in `seasons`, the seasonal-naive forecast of every target step. Output: each
step's residual over the base forecast, the seasonal naive of `base_season` (season 1 is persistence;
None: no base, as for returns, whose naive forecast is zero). The ridge is fitted on training origins
only; its penalty is the one of ALPHAS with the lowest MAE on the validation origins (DEFAULT_ALPHA
where there are none). Inputs are standardised with the training origins' statistics, so one grid of
penalties suits any series' units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from lstmops.evaluate.baselines import seasonal_naive_at

ALPHAS = (0.1, 1.0, 10.0, 100.0)
DEFAULT_ALPHA = 10.0  # DESIGN.md's recipe, where no validation origin can choose
# Matrices of a few hundred columns: BLAS threads cost more than they save, and on a busy machine
# waiting for them multiplies the baseline's time, so it runs on one.
BLAS_THREADS = 1


@dataclass(frozen=True)
class LinearBaseline:
    pipeline: Pipeline  # StandardScaler -> Ridge, fitted on the training origins
    lags: int
    horizon: int
    seasons: tuple[int, ...]  # seasonal-naive inputs, one column per season and step
    base_season: int | None  # the naive forecast the output is a residual over; None: over zero
    alpha: float
    validation_mae: dict[float, float] = field(default_factory=dict)  # per candidate; empty: none chosen

    @property
    def first_origin(self) -> int:
        return first_origin(self.lags, self.seasons, self.base_season)

    @property
    def coefficients(self) -> np.ndarray:
        """(horizon, inputs) ridge coefficients, on the standardised inputs."""
        return np.atleast_2d(self.pipeline[-1].coef_)

    def predict(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(n, horizon) forecasts of `values` from each origin row (origins >= first_origin)."""
        values, origins = np.asarray(values, dtype=float), np.asarray(origins)
        if len(origins) and origins.min() < self.first_origin:
            raise ValueError(f"origins must be rows >= {self.first_origin} (the history the inputs read)")
        with _threads().limit(limits=BLAS_THREADS, user_api="blas"):
            residual = self.pipeline.predict(_inputs(values, origins, self.lags, self.horizon, self.seasons))
        return _base(values, origins, self.horizon, self.base_season) + residual.reshape(len(origins), self.horizon)


def first_origin(lags: int, seasons: Sequence[int], base_season: int | None = None) -> int:
    """The first row with the history every input (and the base) reads."""
    return max(lags, *seasons, base_season or 1) - 1


def part_origins(part: slice, horizon: int, first: int) -> np.ndarray:
    """Origins t >= first whose targets t+1..t+horizon lie in `part` (empty when none do)."""
    return np.arange(max(part.start - 1, first), part.stop - horizon)


def usable_seasons(seasons: Sequence[int], lags: int, horizon: int, train_rows: int) -> tuple[int, ...]:
    """The seasons whose history leaves at least half the train part as training origins, else the
    shortest that leaves any: a week of history in a two-week series would leave too few to fit on."""
    enough = tuple(s for s in seasons if max(lags, s) + horizon <= train_rows // 2)
    if enough:
        return enough
    return tuple(sorted(s for s in seasons if max(lags, s) + horizon < train_rows)[:1])


def fit_linear_baseline(
    values: np.ndarray,
    train: slice,
    val: slice,
    *,
    lags: int,
    horizon: int,
    seasons: Sequence[int] = (),
    residual: bool = True,
    alphas: Sequence[float] = ALPHAS,
) -> LinearBaseline:
    """Fit on the origins whose targets lie in `train`, choose the penalty on those in `val`.

    `residual`: predict the residual over the seasonal naive strongest on the training origins (over
    persistence when no season fits the train part); else the values themselves (returns).
    """
    with _threads().limit(limits=BLAS_THREADS, user_api="blas"):
        return _fit(np.asarray(values, dtype=float), train, val, lags, horizon, seasons, residual, alphas)


def _fit(
    values: np.ndarray,
    train: slice,
    val: slice,
    lags: int,
    horizon: int,
    seasons: Sequence[int],
    residual: bool,
    alphas: Sequence[float],
) -> LinearBaseline:
    seasons = usable_seasons(seasons, lags, horizon, train.stop - train.start)
    first = first_origin(lags, seasons)
    train_origins = part_origins(train, horizon, first)
    if len(train_origins) < 2:
        raise ValueError(
            f"the train part (rows {train.start}..{train.stop}) holds {len(train_origins)} origins with "
            f"{first + 1} rows of history and {horizon} targets: too few to fit the linear baseline"
        )
    base_season = _strongest_season(values, train_origins, horizon, seasons) if residual else None
    actual = _targets(values, train_origins, horizon)
    inputs = _inputs(values, train_origins, lags, horizon, seasons)
    target = actual - _base(values, train_origins, horizon, base_season)

    val_origins = part_origins(val, horizon, first)
    if len(val_origins) == 0:
        return LinearBaseline(
            _ridge(DEFAULT_ALPHA).fit(inputs, target), lags, horizon, seasons, base_season, DEFAULT_ALPHA
        )

    val_inputs = _inputs(values, val_origins, lags, horizon, seasons)
    val_base = _base(values, val_origins, horizon, base_season)
    val_actual = _targets(values, val_origins, horizon)
    fitted = {alpha: _ridge(alpha).fit(inputs, target) for alpha in alphas}
    scores = {
        alpha: float(np.abs(val_actual - val_base - pipeline.predict(val_inputs).reshape(val_base.shape)).mean())
        for alpha, pipeline in fitted.items()
    }
    alpha = min(scores, key=scores.get)
    return LinearBaseline(fitted[alpha], lags, horizon, seasons, base_season, alpha, scores)


@cache
def _threads() -> ThreadpoolController:
    """Found once: looking up the loaded thread pools takes longer than a small fit."""
    return ThreadpoolController()


def _ridge(alpha: float) -> Pipeline:
    return make_pipeline(StandardScaler(), Ridge(alpha=alpha))


def _targets(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return values[origins[:, None] + np.arange(1, horizon + 1)]


def _inputs(values: np.ndarray, origins: np.ndarray, lags: int, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """(n, lags + horizon * len(seasons)): the last `lags` values, then each season's naive per step."""
    lagged = sliding_window_view(values, lags)[origins - lags + 1]  # row i ends at i + lags - 1
    naive = [seasonal_naive_at(values, origins, season, horizon) for season in seasons]
    return np.concatenate([lagged, *naive], axis=1)


def _base(values: np.ndarray, origins: np.ndarray, horizon: int, season: int | None) -> np.ndarray:
    if season is None:
        return np.zeros((len(origins), horizon))
    return seasonal_naive_at(values, origins, season, horizon)


def _strongest_season(values: np.ndarray, origins: np.ndarray, horizon: int, seasons: Sequence[int]) -> int:
    """The season (1: persistence, when none is given) whose naive has the lowest MAE on `origins`."""
    actual = _targets(values, origins, horizon)
    errors = {s: np.abs(actual - seasonal_naive_at(values, origins, s, horizon)).mean() for s in seasons or (1,)}
    return min(errors, key=errors.get)
