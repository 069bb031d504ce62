"""lstmops.train.common.predict: batch-by-batch prediction over window views, any number of windows."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lstmops.data.windows import sliding_windows
from lstmops.train.common import predict


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 1))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(4)(inputs)))


@pytest.mark.parametrize("n_windows", [1, 3, 16, 37])
def test_predictions_over_views_equal_the_model_on_the_materialised_windows(model, n_windows):
    series = np.sin(np.arange(n_windows + 7, dtype=np.float64) / 3)[:, None]
    windows = sliding_windows(series, 8)  # a view: nothing copied yet

    predicted = predict(model, windows, batch_size=16)  # 37 windows: two full batches and a padded one

    assert predicted.shape == (n_windows, 1)
    np.testing.assert_allclose(predicted, np.asarray(model(windows.astype(np.float32))), rtol=1e-5, atol=1e-6)
