"""What the backend this process runs on promises: the default choice, the device report, seeding and
bitwise reruns. tests/test_backends.py runs this module again on every other supported backend."""

from __future__ import annotations

import os
import random

import keras  # after lstmops, which conftest.py imports first
import numpy as np

from lstmops import DEFAULT_KERAS_BACKEND, SUPPORTED_BACKENDS
from lstmops.train.common import device_report, set_seed

THIS_BACKEND = keras.backend.backend()


def test_lstmops_chooses_the_default_backend_unless_keras_backend_says_otherwise():
    assert DEFAULT_KERAS_BACKEND in SUPPORTED_BACKENDS
    assert THIS_BACKEND == os.environ.get("KERAS_BACKEND", DEFAULT_KERAS_BACKEND)


def test_the_device_report_names_this_backend_its_version_and_what_determinism_it_promises():
    report = device_report()

    assert report["backend"] == THIS_BACKEND and report["device"] in ("cpu", "gpu")
    assert report["backend_version"] != "unknown" and report["determinism"] != "unknown"
    if THIS_BACKEND == "torch":  # its bitwise reruns hold for one thread count
        import torch

        assert report["threads"] == torch.get_num_threads()


def seeded_draws() -> list[float]:
    """What a training draws after seeding: Python's and NumPy's generators, an unseeded keras.random call
    (the global SeedGenerator) and a new layer's initial weights."""
    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    keras_draws = [keras.random.normal((2,)), layer.kernel]
    return [
        random.random(),
        np.random.rand(),
        *np.concatenate([keras.ops.convert_to_numpy(x).ravel() for x in keras_draws]),
    ]


def test_set_seed_seeds_everything_keras_set_random_seed_seeds():
    set_seed(5)
    ours = seeded_draws()
    keras.utils.set_random_seed(5)
    theirs = seeded_draws()
    set_seed(6)
    other_seed = seeded_draws()

    assert ours == theirs
    assert other_seed != theirs


def test_a_seeded_rerun_trains_bitwise_the_same_weights():
    def train_once():
        set_seed(3)
        model = keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x = keras.random.normal((32, 6, 2), seed=1)
        model.fit(x, keras.ops.sum(x, axis=(1, 2))[:, None], epochs=2, batch_size=8, verbose=0)
        return [keras.ops.convert_to_numpy(w) for w in model.weights]

    first, second = train_once(), train_once()

    assert all((a == b).all() for a, b in zip(first, second))
