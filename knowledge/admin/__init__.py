"""The knowledge app's admin (Django's autodiscover imports this package; each module
registers its own pages)."""

from . import collections  # noqa: F401
