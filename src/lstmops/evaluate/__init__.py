"""Evaluation: one module per model kind; every report puts the naive baselines beside the model."""
