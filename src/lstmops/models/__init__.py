"""Baselines every task compares with: the naive ones (NumPy only, `baselines`) and the linear one
(a ridge on lags, `linear`). Each task's Keras networks live in `lstmops.tasks.<task>.network`."""
