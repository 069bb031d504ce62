"""Keras 3 model builders and their NumPy helpers: arrays in, arrays out.

Nothing here knows about MLflow, Prefect or data sources, and no `tf.` call appears, so the
same code runs on the TensorFlow, JAX and PyTorch backends.
"""

from lstmops.models.autoencoder import (
    build_autoencoder,
    point_scores,
    reconstruction_scores,
    window_errors,
)
from lstmops.models.forecaster import build_forecaster
from lstmops.models.seq2seq import Seq2Seq, build_seq2seq, teacher_forcing_inputs

__all__ = [
    "Seq2Seq",
    "build_autoencoder",
    "build_forecaster",
    "build_seq2seq",
    "point_scores",
    "reconstruction_scores",
    "teacher_forcing_inputs",
    "window_errors",
]
