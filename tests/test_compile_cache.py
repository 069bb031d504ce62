"""Importing lstmops switches on JAX's persistent compilation cache: a second process loads the
programs the first compiled, and trains the same model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstmops.common import compile_cache

TRAIN_TINY_AUTOENCODER = """
import lstmops, hashlib, numpy as np
from lstmops.tasks.autoencoder.network import build_autoencoder
from lstmops.train.common import set_seed
set_seed(3)
windows = np.sin(np.arange(48, dtype="float32") / 3).reshape(6, 8, 1)
model = build_autoencoder(8, 1, units=4, learning_rate=1e-2)
model.fit(windows, windows, epochs=2, batch_size=3, verbose=0)
print(hashlib.sha256(np.asarray(model.predict(windows, verbose=0)).tobytes()).hexdigest())
"""


def test_an_empty_environment_gets_this_users_folder_for_this_cpu(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    environ: dict[str, str] = {}

    folder = compile_cache.configure(environ)

    assert folder == tmp_path / "lstmops" / f"jax-{compile_cache.machine_tag()}" and folder.is_dir()
    assert environ == {
        compile_cache.DIR_VARIABLE: str(folder),
        compile_cache.MAX_SIZE_VARIABLE: str(compile_cache.MAX_SIZE_BYTES),
    }


def test_a_users_own_folder_or_switch_off_is_kept() -> None:
    chosen = {compile_cache.DIR_VARIABLE: "/shared/jax-cache"}
    assert compile_cache.configure(chosen) == Path("/shared/jax-cache")
    assert chosen == {compile_cache.DIR_VARIABLE: "/shared/jax-cache"}

    switched_off = {compile_cache.MAX_SIZE_VARIABLE: "0"}
    assert compile_cache.configure(switched_off) is None
    assert switched_off == {compile_cache.MAX_SIZE_VARIABLE: "0"}


def test_a_home_that_cannot_hold_the_folder_leaves_the_cache_off(tmp_path: Path, monkeypatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    environ: dict[str, str] = {}

    assert compile_cache.configure(environ) is None
    assert environ == {}


def test_the_machine_tag_is_stable_and_short() -> None:
    assert compile_cache.machine_tag() == compile_cache.machine_tag()
    assert len(compile_cache.machine_tag()) == 12


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND") != "jax", reason="the cache is JAX's; this run is not on JAX")
def test_a_second_process_loads_the_compiled_programs_and_trains_the_same_model(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    # Every compile is kept (JAX's default keeps only those over a second), so the tiny model's are.
    environment |= {"XDG_CACHE_HOME": str(tmp_path), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    folder = tmp_path / "lstmops" / f"jax-{compile_cache.machine_tag()}"

    def train() -> tuple[str, set[str]]:
        done = subprocess.run(
            [sys.executable, "-c", TRAIN_TINY_AUTOENCODER],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1], {path.name for path in folder.glob("*-cache")}

    first_predictions, compiled = train()
    second_predictions, after_second = train()

    assert compiled, "the first process wrote no compiled program"
    assert after_second == compiled, "the second process compiled programs the first had cached"
    assert second_predictions == first_predictions
