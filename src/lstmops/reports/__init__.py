"""Reports a person reads: evaluation tables, model cards, registry history."""


def no_such_model(name: str) -> str:
    """The one wording every command uses for a registered model that does not exist."""
    return f"no registered model {name!r} (see `lstmops registry list`)"
