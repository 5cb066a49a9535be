"""A rule written once as Django lookups, read both ways: as a query (`Q(**lookups)`) and against a
model instance already in memory (`holds`), so the SQL and the Python can never disagree."""

from django.db.models import Model


def holds(instance: Model, lookups: dict) -> bool:
    """Whether `instance` meets every lookup: `field` (equal), `field__isnull` and `field__in`."""
    for lookup, wanted in lookups.items():
        field, _, test = lookup.partition("__")
        value = getattr(instance, field)
        if test == "isnull":
            met = (value is None) == wanted
        elif test == "in":
            met = value in wanted
        elif not test:
            met = value == wanted
        else:
            raise ValueError(f"Unsupported lookup: {lookup}")
        if not met:
            return False
    return True
