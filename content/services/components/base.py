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
from django.db.models.signals import post_delete, post_save

from requestdesk.memo import Memo

# knowledge.services.llm.ProviderError kinds that a retry will not mend.
PERMANENT_KINDS = frozenset({"authentication", "bad_request", "configuration", "encryption"})


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
    # A checkpoint once due: saves `data`, renews the lease; raises if the claim is lost.
    heartbeat: Callable[[], None] = lambda: None


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


class ConfigCache:
    """What a context's run reads that its batch's other contexts read too (a pipeline's
    steps, a template, a provider): a requestdesk.memo.Memo of CONTENT_CONFIG_CACHE_SECONDS
    (0 reads it for every context), so a batch costs those reads once per worker and interval
    rather than once per context. Saving or deleting a document of `models` forgets every
    entry in this process at once; other processes (the API's) see a change when their entry
    expires."""

    def __init__(self, name: str, *models: str):
        """`models`: "app_label.Model" labels, connected at the first `get` (apps loaded)."""
        self.name, self.models, self.connected = name, models, False
        self.memo = Memo("CONTENT_CONFIG_CACHE_SECONDS", max_entries=1000)

    def _connect(self) -> None:
        from django.apps import apps

        for label in self.models:
            model = apps.get_model(label)
            for signal, kind in ((post_save, "saved"), (post_delete, "deleted")):
                signal.connect(
                    self.memo.clear, sender=model, weak=False, dispatch_uid=f"content-config-{self.name}-{label}-{kind}"
                )
        self.connected = True

    def get(self, key, load: Callable[[], object]):
        if not self.connected:
            self._connect()
        return self.memo.fetch(key, load)
