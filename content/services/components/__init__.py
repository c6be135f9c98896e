"""Pipeline components, by type: `template`, `retrieval`, `ai_generator`, `transformer`.
See base.py for the interface every component module implements."""

from __future__ import annotations

from . import ai_generator, retrieval, template, transformer
from .base import ComponentError, RunState  # noqa: F401

REGISTRY = {module.TYPE: module for module in (template, retrieval, ai_generator, transformer)}


def register(module) -> None:
    """Add a component type from another app (its module has TYPE, validate_config, run)."""
    REGISTRY[module.TYPE] = module


def implementation(kind: str):
    """The module that runs components of type `kind`; ComponentError for an unknown type."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ComponentError(f"Unknown component type “{kind}”.") from None


def validate_config(*, kind: str, config, company, complete: bool = True) -> dict[str, list[str]]:
    """Problems with `config` for a component of type `kind`; `complete=False` when the
    pipeline's step overrides may still supply required keys."""
    if kind not in REGISTRY:
        return {"type": [f"Unknown component type “{kind}”; one of {', '.join(REGISTRY)}."]}
    if not isinstance(config, dict):
        return {"config": ["Must be an object."]}
    return REGISTRY[kind].validate_config(config, company=company, complete=complete)
