"""Reports a person reads: evaluation tables, model cards, registry history."""
