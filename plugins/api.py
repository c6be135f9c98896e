"""Routes every installed plugin's viewsets under /api/v1/plugins/<plugin-slug>/."""

from .registry import registry


def register(router):
    for plugin in registry:
        for prefix, viewset, basename in plugin.get_routes():
            router.register(f"plugins/{plugin.slug}/{prefix}", viewset, basename=basename)
