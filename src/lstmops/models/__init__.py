"""Naive baselines every task compares with (NumPy only). Each task's Keras networks live in
`lstmops.tasks.<task>.network`."""
