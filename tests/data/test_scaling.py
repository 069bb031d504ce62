import json

import numpy as np
import pytest

from lstmops.data.scaling import MinMaxScaler, StandardScaler
from lstmops.data.windows import chronological_split, sliding_windows


@pytest.fixture
def series() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(loc=[5.0, -2.0, 100.0], scale=[1.0, 0.1, 20.0], size=(300, 3))


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(feature_range=(-1, 1))])
def test_round_trip_restores_the_data(scaler, series):
    fitted = scaler.fit(series)
    np.testing.assert_allclose(fitted.inverse_transform(fitted.transform(series)), series)


def test_standard_scaler_centres_and_scales_each_column(series):
    scaled = StandardScaler().fit(series).transform(series)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)


def test_minmax_scaler_maps_training_range_onto_feature_range(series):
    scaled = MinMaxScaler(feature_range=(-1, 1)).fit(series).transform(series)
    np.testing.assert_allclose(scaled.min(axis=0), -1.0)
    np.testing.assert_allclose(scaled.max(axis=0), 1.0)


def test_statistics_come_from_the_training_part_only(series):
    split = chronological_split(len(series), 0.7, 0.15, 0.15)
    shifted = series.copy()
    shifted[split.train.stop :] *= 50.0  # a regime change after training must not move the scaler
    for scaler in (StandardScaler(), MinMaxScaler()):
        on_train = scaler.fit(shifted[split.train])
        assert on_train.to_dict() == scaler.fit(series[split.train]).to_dict()
    assert MinMaxScaler().fit(shifted[split.train]).transform(shifted[split.test]).max() > 1.0  # not clipped


def test_constant_column_does_not_divide_by_zero():
    train = np.column_stack([np.full(10, 4.0), np.arange(10.0)])
    for scaler in (StandardScaler().fit(train), MinMaxScaler().fit(train)):
        scaled = scaler.transform(train)
        assert np.isfinite(scaled).all()
        np.testing.assert_allclose(scaler.inverse_transform(scaled), train)


def test_scaler_applies_to_windows_and_single_series(series):
    scaler = StandardScaler().fit(series)
    windows = sliding_windows(series, 7)
    np.testing.assert_allclose(scaler.transform(windows)[4], scaler.transform(series[4:11]))
    single = MinMaxScaler().fit(series[:, 0])
    np.testing.assert_allclose(single.transform(series[:, 0]).max(), 1.0)
    with pytest.raises(ValueError, match="3 features"):
        scaler.transform(series[:, :2])


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(feature_range=(0, 1))])
def test_save_and_load_as_json(tmp_path, scaler, series):
    fitted = scaler.fit(series)
    path = fitted.save(tmp_path / "scaler.json")
    assert json.loads(path.read_text())["kind"] == fitted.kind
    loaded = type(scaler).load(path)
    np.testing.assert_array_equal(loaded.transform(series), fitted.transform(series))


def test_loading_the_wrong_kind_names_the_file(tmp_path, series):
    path = StandardScaler().fit(series).save(tmp_path / "standard.json")
    with pytest.raises(ValueError, match="standard.json"):
        MinMaxScaler.load(path)


def test_unfitted_or_bad_training_data_is_refused(series):
    with pytest.raises(ValueError, match="not fitted"):
        StandardScaler().transform(series)
    with_nan = series.copy()
    with_nan[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"columns \[2\]"):
        MinMaxScaler().fit(with_nan)
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler(feature_range=(1, -1))
