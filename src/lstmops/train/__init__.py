"""Training: the seeded fit loop every task shares (`common`) and its live progress (`live`)."""
