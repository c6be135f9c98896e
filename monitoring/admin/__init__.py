"""The monitoring app's admin: alert rules and their alerts (`alerts`), and scraping's result
admin extended with the actions that respond to a result (`results`)."""

from . import alerts, results  # noqa: F401  (registers them)
