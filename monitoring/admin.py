"""The monitoring app's admin."""
