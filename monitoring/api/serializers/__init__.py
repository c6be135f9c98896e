"""Serializers of the monitoring API: alert rules and alerts (`alerts`), responding to a
result (`responses`)."""
