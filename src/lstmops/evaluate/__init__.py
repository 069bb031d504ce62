"""Evaluation: metrics, the naive and linear baselines every report puts beside the model, paired significance tests, anomaly scoring and the evaluation record."""
