"""System check: every plugin model lives in a `{plugin}_*` collection, is a PluginModel, and
has an index led by `user` (the only way plugin data is read is by user)."""

from django.core import checks

from .base import PluginModel
from .registry import registry


def _leads_with_user(model) -> bool:
    return any(index.fields and index.fields[0] == "user" for index in model._meta.indexes)


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
            if not _leads_with_user(model):
                errors.append(checks.Error(f"{label} needs an index on user.", id="plugins.E003"))
    return errors
