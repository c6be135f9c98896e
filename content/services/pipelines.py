"""Templates, components and pipelines: validation and versioning.

A pipeline is valid when it has at least one step and every step names an active
component of the same company, of a known type, whose config merged with the step's
overrides is valid for that type (a template step needs a valid template of the company).
The same check runs when a pipeline is saved (400 with the messages) and when contexts
are created for it; the runner resolves the steps again, since components can change.

Templates, components and pipelines are versioned (content.services.versions): changing a
template's structure keeps the previous structure in `history` and bumps the version.
"""

from __future__ import annotations

from collections import Counter

from ..models import Component, Pipeline, PipelineStep, Template
from . import components as registry
from . import versions
from .components import ComponentError

# --- templates (their version history: content.services.versions) ------------------------


def new_structure(template: Template, *, previous: Template, version: str | None = None) -> None:
    """`template` (the caller saves) carries a structure replacing `previous`'s: keep the old
    one in `history` and take `version`, or the next minor version."""
    versions.record(
        template, previous={"structure": previous.structure}, previous_version=previous.version, version=version
    )


def update_template(*, template: Template, **changes) -> Template:
    """Apply `changes`; a new structure moves the old one to `history` with its version."""
    return versions.update(template, **changes)


# --- pipelines --------------------------------------------------------------------------


def _label(n: int, step: PipelineStep) -> str:
    return f"Step {n}" + (f" “{step.name}”" if step.name else "")


def step_key(component: Component, seen: Counter) -> str:
    """The name a step's timings are recorded under: its type, numbered when repeated."""
    seen[component.type] += 1
    return component.type if seen[component.type] == 1 else f"{component.type}_{seen[component.type]}"


def validate_steps(*, company, steps: list[PipelineStep]) -> list[str]:
    """Every problem with these steps for `company`, as messages; [] when they can run."""
    if not steps:
        return ["A pipeline needs at least one component."]
    found = {c.pk: c for c in Component.objects.for_company(company).filter(pk__in=[s.component_id for s in steps])}
    errors = []
    for n, step in enumerate(steps, start=1):
        component = found.get(step.component_id)
        if component is None:
            errors.append(f"{_label(n, step)}: unknown component “{step.component_id}”.")
            continue
        if not component.is_active:
            errors.append(f"{_label(n, step)}: the component “{component.name}” is not active.")
        config = {**(component.config or {}), **(step.config_overrides or {})}
        for messages in registry.validate_config(kind=component.type, config=config, company=company).values():
            errors += [f"{_label(n, step)} ({component.name}): {message}" for message in messages]
    return errors


def normalise_steps(steps: list[PipelineStep]) -> list[PipelineStep]:
    """Steps sorted by `order`; when no order was given (all 0), the list's order is kept."""
    if all(step.order == 0 for step in steps):
        for n, step in enumerate(steps, start=1):
            step.order = n
    return sorted(steps, key=lambda step: step.order)


def resolve_steps(pipeline: Pipeline) -> list[tuple[str, PipelineStep, Component]]:
    """(timing key, step, component) in order, for running; ComponentError when a component
    is gone, inactive or of an unknown type (a permanent failure)."""
    steps = pipeline.steps()
    found = {
        c.pk: c
        for c in Component.objects.for_company(pipeline.company_id).filter(pk__in=[s.component_id for s in steps])
    }
    resolved, seen = [], Counter()
    if not steps:
        raise ComponentError(f"The pipeline “{pipeline.name}” has no components.")
    for n, step in enumerate(steps, start=1):
        component = found.get(step.component_id)
        if component is None:
            raise ComponentError(f"{_label(n, step)}: the component “{step.component_id}” no longer exists.")
        if not component.is_active:
            raise ComponentError(f"{_label(n, step)}: the component “{component.name}” is not active.")
        registry.implementation(component.type)
        resolved.append((step_key(component, seen), step, component))
    return resolved
