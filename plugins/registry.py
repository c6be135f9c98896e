"""The plugin registry: installed plugins by name, each a Django app whose config subclasses
`PluginConfig` (its `ready()` registers it). Importable from app configs: no models here; the
model base of plugin data is plugins.base.PluginModel."""

from __future__ import annotations

from django.apps import AppConfig
from rest_framework import serializers


class NoSettings(serializers.Serializer):
    """Settings of a plugin that has none: any key is refused."""


class PluginConfig(AppConfig):
    """Base AppConfig of a plugin.

    * `plugin_name`: the key in users' `plugin_settings` and the prefix of its collections.
    * `settings_serializer`: a DRF serializer validating the plugin's settings; its fields'
      defaults are the plugin's default settings.
    * `routes`: (prefix, viewset, basename) tuples, routed under /api/v1/plugins/<slug>/.
    """

    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    plugin_name: str = ""
    settings_serializer: type[serializers.Serializer] = NoSettings
    routes: tuple = ()

    @property
    def slug(self) -> str:
        return self.plugin_name.replace("_", "-")

    def get_routes(self):
        return self.routes

    def default_settings(self) -> dict:
        fields = self.settings_serializer().fields
        return {name: field.default for name, field in fields.items() if field.default is not serializers.empty}

    def ready(self):
        registry.register(self)


class Registry:
    """The installed plugins by name."""

    def __init__(self):
        self._plugins: dict[str, PluginConfig] = {}

    def register(self, plugin: PluginConfig):
        if not plugin.plugin_name:
            raise ValueError(f"{type(plugin).__name__} has no plugin_name")
        self._plugins[plugin.plugin_name] = plugin

    def unregister(self, name: str):
        self._plugins.pop(name, None)

    def get(self, name: str) -> PluginConfig | None:
        return self._plugins.get(name)

    def names(self) -> list[str]:
        return sorted(self._plugins)

    def __iter__(self):
        return iter([self._plugins[name] for name in self.names()])


registry = Registry()
