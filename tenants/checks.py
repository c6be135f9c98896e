"""System check: every tenant model has an index led by its tenant field.

TenantScoped's `company` has no index of its own. Each model declares compound indexes led
by `company` for the lists and lookups it serves instead: a single-field index beside them
is only a prefix of each, and the embedded server pays for every index on every write (it
rewrites each one, and plans a guarded update over each: 4.1 ms a guarded update of a
context with 11 indexes, 3.0 ms with 7). Plugin models lead with `user` instead
(plugins.checks)."""

from typing import Any

from django.apps import apps
from django.core import checks

from requestdesk.db.sharding import leads_with

from .scoping import TenantScoped


@checks.register(checks.Tags.models)
def tenant_indexes(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from plugins.base import PluginModel

    return [
        checks.Error(
            f"{model._meta.label} needs an index led by {model.TENANT_FIELD!r} (Meta.indexes or UNIQUE_INDEXES).",
            id="tenants.E001",
        )
        for model in apps.get_models()
        if issubclass(model, TenantScoped)
        and not issubclass(model, PluginModel)
        and not leads_with(model, model.TENANT_FIELD)
    ]
