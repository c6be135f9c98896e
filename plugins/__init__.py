"""Plugins: optional features that keep their own `{plugin}_*` collections and per-user settings.

A plugin is a Django app whose config subclasses `plugins.base.PluginConfig`; see plugins/base.py.
"""
