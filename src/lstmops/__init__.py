"""lstmops: MLOps for LSTM-family sequence models (Prefect, MLflow, DVC, Great Expectations, Keras 3)."""

__version__ = "0.1.0"
