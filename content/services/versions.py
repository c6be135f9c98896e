"""Version history of templates, components and pipelines.

Each of them carries `version` (MAJOR.MINOR.PATCH) and `history`: the definitions it had
before, oldest first, each `{"version": ..., <definition fields>..., "replaced_at": iso}`.
A save that changes the definition (a template's structure, a component's type and config,
a pipeline's steps) moves the old definition into `history` and bumps the version (minor,
unless a greater version is given); a save of anything else (name, description, is_active)
keeps the version. Restoring a version makes its definition current again through the same
path: the definition being replaced goes to `history`, and the version moves forward (a
restore never rewinds the version number, so every version names one definition).

History is kept for as long as the document.
"""

from __future__ import annotations

import re

from bson import ObjectId
from django.utils import timezone

from ..models import Component, Pipeline, PipelineStep, Template

VERSION = re.compile(r"^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$")

# What a version is a version of, per model: the fields a change of which makes a new version.
DEFINITION = {Template: ("structure",), Component: ("type", "config"), Pipeline: ("components",)}


class UnknownVersion(ValueError):
    """Restore asked for a version the document never had (or has now)."""


def parse_version(value: str) -> tuple[int, int, int] | None:
    match = VERSION.match(value or "")
    return tuple(int(n) for n in match.groups()) if match else None


def next_version(version: str) -> str:
    major, minor, _ = parse_version(version) or (1, 0, 0)
    return f"{major}.{minor + 1}.0"


def version_error(*, old: str | None, new: str) -> str | None:
    parsed = parse_version(new)
    if parsed is None:
        return "Use MAJOR.MINOR.PATCH, like 1.3.0."
    if old is not None and parse_version(old) and parsed <= parse_version(old):
        return f"Must be greater than the current version {old}."
    return None


def _step_doc(step: PipelineStep) -> dict:
    return {
        "component_id": str(step.component_id),
        "name": step.name,
        "order": step.order,
        "config_overrides": step.config_overrides or {},
    }


def _jsonable(name: str, value):
    if name == "components":
        return [_step_doc(step) if isinstance(step, PipelineStep) else dict(step) for step in value or []]
    return value


def definition(obj) -> dict:
    """The versioned fields of `obj`, as JSON (a pipeline's steps as plain objects)."""
    return {name: _jsonable(name, getattr(obj, name)) for name in DEFINITION[type(obj)]}


def apply_definition(obj, stored: dict) -> None:
    """Set `obj`'s versioned fields from a history entry (steps back into PipelineStep)."""
    for name in DEFINITION[type(obj)]:
        value = stored.get(name)
        if name == "components":
            value = [
                PipelineStep(
                    component_id=ObjectId(step["component_id"]),
                    name=step.get("name", ""),
                    order=step.get("order", 0),
                    config_overrides=step.get("config_overrides") or {},
                )
                for step in value or []
            ]
        setattr(obj, name, value)


def record(obj, *, previous: dict, previous_version: str, version: str | None = None) -> bool:
    """`obj` (unsaved changes; the caller saves) replaces the definition `previous` of
    `previous_version`: when the definition differs, keep `previous` in `history` and take
    `version` or the next minor version. Whether a version was recorded."""
    if definition(obj) == previous:
        if version:
            obj.version = version
        return False
    obj.history = [
        *(obj.history or []),
        {"version": previous_version, **previous, "replaced_at": timezone.now().isoformat()},
    ]
    obj.version = version or next_version(previous_version)
    return True


def stored_state(obj) -> tuple[dict, str]:
    """(definition, version) of `obj` as stored now (before unsaved changes)."""
    current = type(obj).objects.filter(pk=obj.pk).first()
    if current is None:
        return definition(obj), obj.version
    return definition(current), current.version


def update(obj, *, version: str | None = None, **changes):
    """Apply `changes` to `obj` and save it; a changed definition records a version."""
    previous, previous_version = definition(obj), obj.version
    for name, value in changes.items():
        setattr(obj, name, value)
    record(obj, previous=previous, previous_version=previous_version, version=version)
    obj.save()
    return obj


def versions(obj) -> list[dict]:
    """Every version of `obj`, newest first; the current one says `current: true`."""
    names = DEFINITION[type(obj)]
    current = {"version": obj.version, "current": True, "replaced_at": None, **definition(obj)}
    older = [
        {
            "version": entry.get("version"),
            "current": False,
            "replaced_at": entry.get("replaced_at"),
            **{name: entry.get(name) for name in names},
        }
        for entry in reversed(obj.history or [])
    ]
    return [current, *older]


def find(obj, version: str) -> dict:
    for entry in reversed(obj.history or []):
        if entry.get("version") == version:
            return entry
    if version == obj.version:
        raise UnknownVersion(f"{version} is the current version.")
    raise UnknownVersion(
        f"There is no version {version}; "
        f"known: {', '.join(e.get('version', '?') for e in obj.history or []) or 'none'}."
    )


def restore(obj, *, version: str, check=None):
    """Make the definition of `version` current again (a new version; see the module doc).
    `check(obj)` may raise on a definition that no longer validates (a component since
    deleted); nothing is saved then. UnknownVersion when `obj` never had `version`."""
    entry = find(obj, version)
    previous, previous_version = definition(obj), obj.version
    apply_definition(obj, entry)
    if check is not None:
        check(obj)
    record(obj, previous=previous, previous_version=previous_version)
    obj.save()
    return obj
