"""What every component shares: the state it works on and the error it raises.

A component module has `TYPE`, `validate_config(config, *, company, complete) ->
{key: [messages]}` (run when a component or pipeline is saved; for a pipeline `config` is
the component's config merged with the step's overrides) and `run(state, config)`, which
reads and writes `state.data`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bson import ObjectId
from bson.errors import InvalidId


class ComponentError(Exception):
    """A component cannot do its work. Permanent errors (bad configuration, a template that
    is gone) fail the context at once; the others are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = True):
        super().__init__(message)
        self.permanent = permanent


@dataclass
class RunState:
    context: object  # content.models.Context
    data: dict
    heartbeat: Callable[[], None] = lambda: None  # renews the lease, saves `data`; raises if the claim is lost


def object_id(value) -> ObjectId | None:
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def number_error(config: dict, key: str, low: float, high: float, *, integer: bool = False) -> str | None:
    """A message when config[key] is present but not a number in [low, high]."""
    if key not in config or config[key] is None:
        return None
    value = config[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        return f"{key}: must be {kind} between {low:g} and {high:g}."
    return None
