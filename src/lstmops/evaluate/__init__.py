"""Evaluation: one module per model kind; every report puts the naive and linear baselines beside the model."""
