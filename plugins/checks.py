"""System check: every plugin model lives in a `{plugin}_*` collection, is a PluginModel, and
has an index led by `user` (the only way plugin data is read is by user)."""

from django.core import checks

from requestdesk.db.sharding import leads_with

from .base import PluginModel
from .registry import registry


@checks.register()
def plugin_collections(app_configs=None, **kwargs):
    errors = []
    for plugin in registry:
        for model in plugin.get_models():
            label = model._meta.label
            if not issubclass(model, PluginModel):
                errors.append(checks.Error(f"{label} must extend plugins.base.PluginModel.", id="plugins.E001"))
            if not model._meta.db_table.startswith(f"{plugin.plugin_name}_"):
                errors.append(
                    checks.Error(
                        f"{label}'s collection {model._meta.db_table!r} must be named {plugin.plugin_name}_*.",
                        id="plugins.E002",
                    )
                )
            if not leads_with(model, "user"):
                errors.append(checks.Error(f"{label} needs an index on user.", id="plugins.E003"))
    return errors
