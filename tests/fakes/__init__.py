"""Fake remote services for the tests, each a real HTTP server on loopback: `http` is the one
server base (routes, request recording), `openai` the one OpenAI-compatible API."""
