"""The monitoring app's Celery entry points; they only call services."""
