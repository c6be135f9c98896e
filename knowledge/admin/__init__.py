"""The knowledge app's admin (Django's autodiscover imports this package; each module
registers its own pages): agents and providers, collections with their chunks, sync history
and test retrieval, conversations and messages."""

from . import agents, collections, conversations  # noqa: F401
