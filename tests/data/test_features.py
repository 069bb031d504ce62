import math

import numpy as np
import pandas as pd
import pytest

from lstmops.data.features import PRICE_FEATURES, price_features, sensor_features


@pytest.fixture
def four_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]),
            "open": [10.0, 11.0, 10.0, 12.0],
            "high": [11.0, 12.0, 11.0, 13.0],
            "low": [9.0, 10.0, 9.5, 11.0],
            "close": [10.0, 11.0, 10.0, 12.5],
            "volume": [100.0, 200.0, 0.0, 50.0],
        }
    )


def random_bars(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    return pd.DataFrame(
        {
            "date": pd.bdate_range("2023-01-02", periods=n),
            "open": close * np.exp(rng.normal(0, 0.01, n)),
            "high": close * 1.02,
            "low": close * 0.98,
            "close": close,
            "volume": rng.integers(1_000, 5_000, n).astype(float),
        }
    )


def test_known_values_on_four_bars(four_bars):
    features = price_features(four_bars, list(PRICE_FEATURES))
    assert list(features.columns) == ["date", *PRICE_FEATURES]
    assert len(features) == 3  # the first bar has no previous close
    assert features["date"].tolist() == list(four_bars["date"].iloc[1:])
    expected = {
        "log_return": [math.log(11 / 10), math.log(10 / 11), math.log(12.5 / 10)],
        "range": [2 / 11, 1.5 / 10, 2 / 12.5],
        "volume_change": [math.log(201 / 101), math.log(1 / 201), math.log(51 / 1)],
        "gap": [math.log(11 / 10), math.log(10 / 11), math.log(12 / 10)],
        "close": [11.0, 10.0, 12.5],
        "log_close": [math.log(11), math.log(10), math.log(12.5)],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(features[name], values, err_msg=name)


def test_features_come_in_the_requested_order(four_bars):
    features = price_features(four_bars, ["range", "log_return"])
    assert list(features.columns) == ["date", "range", "log_return"]


def test_feature_rows_up_to_t_ignore_later_bars():
    bars = random_bars(60, seed=4)
    before = price_features(bars, list(PRICE_FEATURES))
    t = 30  # frame row t is feature row t - 1
    changed = bars.copy()
    changed.loc[t + 1 :, ["open", "high", "low", "close", "volume"]] *= 1.7
    after = price_features(changed, list(PRICE_FEATURES))
    pd.testing.assert_frame_equal(after.iloc[:t], before.iloc[:t])
    assert not after.iloc[t:].equals(before.iloc[t:])


def test_unknown_feature_lists_the_known_ones(four_bars):
    with pytest.raises(ValueError, match="known: .*log_return"):
        price_features(four_bars, ["log_return", "rsi"])


def test_bad_price_frames_are_refused_with_the_reason(four_bars):
    with pytest.raises(ValueError, match=r"lacks columns \['volume'\]"):
        price_features(four_bars.drop(columns="volume"), ["range"])
    with pytest.raises(ValueError, match="sorted"):
        price_features(four_bars.iloc[::-1], ["range"])
    zero_close = four_bars.assign(close=[10.0, 0.0, 10.0, 12.5])
    with pytest.raises(ValueError, match="2024-01-03"):
        price_features(zero_close, ["log_return"])


def test_sensor_gaps_are_forward_filled_and_marked():
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=6, freq="5min"),
            "value": [np.nan, 1.0, np.nan, np.nan, 4.0, 5.0],
        }
    )
    features = sensor_features(frame)
    assert features["timestamp"].iloc[0] == frame["timestamp"].iloc[1]  # no past value for row 0
    assert features["value"].tolist() == [1.0, 1.0, 1.0, 4.0, 5.0]
    assert features["imputed"].tolist() == [False, True, True, False, False]


def test_sensor_fill_uses_only_the_past():
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=5, freq="1h"), "value": [1.0, np.nan, 3.0, 4.0, 5.0]}
    )
    changed = frame.assign(value=[1.0, np.nan, 300.0, 4.0, 5.0])
    assert sensor_features(frame)["value"].iloc[1] == sensor_features(changed)["value"].iloc[1] == 1.0
