"""The monitoring app's models."""
