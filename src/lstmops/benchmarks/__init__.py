"""Benchmarks: one module per model kind, run by `lstmops benchmark <kind>` on real data (never timed in tests)."""
