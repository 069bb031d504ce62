"""Benchmarks on real data, run by `lstmops benchmark <study>` (never timed in tests)."""
