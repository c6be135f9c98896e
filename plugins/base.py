"""The model base of plugin data.

A plugin is a Django app (`plugins/<name>/`) whose AppConfig subclasses
`plugins.registry.PluginConfig`, whose `ready()` puts it in `plugins.registry.registry`.
Plugin data is private to one user of one company, so every plugin model extends
`PluginModel` (company and user, both required): the API reads it through
plugins.viewsets.PluginViewSet, other code through `objects.for_user(user, company)`.
Collections are named `{plugin}_*` and carry an index led by `user_id` (plugins/checks.py
fails `manage.py check` otherwise).
"""

from __future__ import annotations

from django.db import models

from tenants.scoping import TenantQuerySet, TenantScoped


class PluginQuerySet(TenantQuerySet):
    def for_user(self, user, company):
        """The user's rows in `company`: the only way plugin data is read."""
        return self.for_company(company).filter(user=user)


class PluginModel(TenantScoped):
    """Base of every plugin document: tenant-scoped like all data, and owned by one user."""

    # No implicit FK index: each plugin model declares its {user_id: 1} index by name
    # (plugins/checks.py insists), and MongoDB refuses the same key twice under two names.
    user = models.ForeignKey("tenants.User", on_delete=models.CASCADE, related_name="+", db_index=False)

    objects = PluginQuerySet.as_manager()

    class Meta:
        abstract = True
