"""Training: one module per model kind, sharing the seeded fit loop in `common`."""
