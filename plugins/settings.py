"""Users' plugin settings (UserSettings.plugin_settings): validated per plugin, merged on PATCH.

PATCH merges at two levels, like MongoDB's `$set: {"plugin_settings.<plugin>.<key>": …}`:
a plugin left out of the body keeps its settings, and a plugin named in it keeps the keys the
body leaves out. `null` for a plugin resets it to its defaults (drops the stored entry). PUT
replaces the whole document. Unknown plugin names and invalid values are a 400 naming the field.
Stored entries of plugins no longer installed are kept untouched unless PUT replaces them.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

from .registry import registry


def apply(stored: dict | None, incoming, *, partial: bool) -> dict:
    """The plugin settings to store after a PUT (partial=False) or PATCH (partial=True)."""
    if not isinstance(incoming, dict):
        raise ValidationError(["Expected an object of settings by plugin name."])
    result = dict(stored or {}) if partial else {}
    errors = {}
    for name, values in incoming.items():
        plugin = registry.get(name)
        if plugin is None:
            errors[name] = [f"Unknown plugin “{name}”; installed: {', '.join(registry.names()) or 'none'}."]
            continue
        if values is None:
            result.pop(name, None)
            continue
        if not isinstance(values, dict):
            errors[name] = ["Expected an object of settings."]
            continue
        current = result.get(name) if partial and isinstance(result.get(name), dict) else {}
        # partial: defaults are not stored, so a changed default reaches users who never set the key
        serializer = plugin.settings_serializer(data={**current, **values}, partial=True)
        if serializer.is_valid():
            result[name] = dict(serializer.validated_data)
        else:
            errors[name] = serializer.errors
    if errors:
        raise ValidationError(errors)
    return result


def effective(stored: dict | None, name: str) -> dict:
    """A plugin's settings for a user: its defaults overlaid with what the user stored."""
    plugin = registry.get(name)
    defaults = plugin.default_settings() if plugin else {}
    return {**defaults, **((stored or {}).get(name) or {})}
