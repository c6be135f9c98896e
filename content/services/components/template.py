"""The `template` component: fills a context's sections from a Template.

A template's structure is {"sections": [...]}; a section has an `id` (unique, lowercase
letters, digits, "_" or "-"), a `type`, a `name`, `instructions` and a `word_range`
[min, max] (positive, min <= max). A section of type "sections" repeats its
`section_template` between `min_sections` and `max_sections` times (the context's
`data.section_counts[id]` picks how many, else min_sections).

Running it writes `data.template`: the template's id, name and version and the filled
sections, flat and in order ({id, type: "text", name, instructions, word_range, parent?}),
with {placeholders} in instructions replaced by the context's data (`{title}`, `{tone}`...).
Config: `template_id` (a template of the same company; in the component's config or in
the pipeline step's overrides).
"""

from __future__ import annotations

import re

from .base import ComponentError, ConfigCache, RunState, object_id

TYPE = "template"
SECTION_TYPES = ("text", "sections")
SECTION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_SECTIONS = 100

_templates = ConfigCache("templates", "content.Template")  # a batch's contexts read their template once


def _word_range_error(value, where: str) -> str | None:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in value)
    ):
        return f"{where}.word_range: must be two whole numbers [min, max]."
    low, high = value
    if low <= 0:
        return f"{where}.word_range: the minimum must be positive."
    if low > high:
        return f"{where}.word_range: the minimum ({low}) is greater than the maximum ({high})."
    return None


def _section_errors(section, where: str) -> list[str]:
    if not isinstance(section, dict):
        return [f"{where}: must be an object."]
    errors = []
    kind = section.get("type", "text")
    if kind not in SECTION_TYPES:
        errors.append(f"{where}.type: “{kind}” is not one of {', '.join(SECTION_TYPES)}.")
    if not isinstance(section.get("name", ""), str) or not isinstance(section.get("instructions", ""), str):
        errors.append(f"{where}: name and instructions must be text.")
    if kind == "sections":
        low, high = section.get("min_sections", 1), section.get("max_sections", 1)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (low, high)) or not 1 <= low <= high:
            errors.append(
                f"{where}: min_sections and max_sections must be whole numbers with 1 <= min_sections <= max_sections."
            )
        elif high > MAX_SECTIONS:
            errors.append(f"{where}.max_sections: at most {MAX_SECTIONS}.")
        inner = section.get("section_template")
        if not isinstance(inner, dict):
            errors.append(f"{where}.section_template: required for a section of type “sections”.")
        else:
            errors += filter(None, [_word_range_error(inner.get("word_range"), f"{where}.section_template")])
    elif kind == "text":
        errors += filter(None, [_word_range_error(section.get("word_range"), where)])
    return errors


def validate_structure(structure) -> list[str]:
    """Every problem with a template structure, as messages; [] when it is valid."""
    if not isinstance(structure, dict) or not isinstance(structure.get("sections"), list):
        return ['must be an object with a "sections" list.']
    sections = structure["sections"]
    if not sections:
        return ["sections: at least one section is required."]
    if len(sections) > MAX_SECTIONS:
        return [f"sections: at most {MAX_SECTIONS}."]
    errors, seen = [], set()
    for n, section in enumerate(sections):
        where = f"sections[{n}]"
        errors += _section_errors(section, where)
        section_id = section.get("id") if isinstance(section, dict) else None
        if not isinstance(section_id, str) or not SECTION_ID.match(section_id):
            errors.append(f"{where}.id: required; lowercase letters, digits, “_” or “-” (at most 64).")
        elif section_id in seen:
            errors.append(f"{where}.id: “{section_id}” is used by another section; ids must be unique.")
        else:
            seen.add(section_id)
    return errors


def _load(company_id, template_id):
    """The template (None when gone); read for every validation, through `_templates` by runs."""
    from content.models import Template

    pk = object_id(template_id)
    return Template.objects.for_company(company_id).filter(pk=pk).first() if pk else None


def validate_config(config: dict, *, company, complete: bool = True) -> dict[str, list[str]]:
    """`complete=False` (a component saved alone): template_id may come from a pipeline step."""
    template_id = config.get("template_id")
    if not template_id:
        return {"template_id": ["A template component needs a template_id."]} if complete else {}
    template = _load(getattr(company, "pk", company), template_id)
    if template is None:
        return {"template_id": [f"No template “{template_id}” in this company."]}
    if not template.is_active:
        return {"template_id": [f"The template “{template.name}” is not active."]}
    errors = validate_structure(template.structure)
    if errors:
        return {"template_id": [f"The template “{template.name}” is invalid: {'; '.join(errors)}"]}
    return {}


def _fill(text: str, data: dict) -> str:
    def value(match):
        found = data.get(match.group(1))
        if isinstance(found, (list, tuple)):
            return ", ".join(str(item) for item in found)
        return str(found) if isinstance(found, (str, int, float)) else match.group(0)

    return PLACEHOLDER.sub(value, text or "")


def fill_sections(structure: dict, data: dict) -> list[dict]:
    """The flat, ordered list of sections to write for this context."""
    counts = data.get("section_counts") if isinstance(data.get("section_counts"), dict) else {}
    filled = []
    for section in structure["sections"]:
        if section.get("type", "text") == "text":
            filled.append(
                {
                    "id": section["id"],
                    "type": "text",
                    "name": section.get("name") or section["id"],
                    "instructions": _fill(section.get("instructions", ""), data),
                    "word_range": list(section["word_range"]),
                }
            )
            continue
        low, high = section.get("min_sections", 1), section.get("max_sections", 1)
        wanted = counts.get(section["id"])
        count = min(max(wanted, low), high) if isinstance(wanted, int) and not isinstance(wanted, bool) else low
        inner = section["section_template"]
        for n in range(1, count + 1):
            filled.append(
                {
                    "id": f"{section['id']}_{n}",
                    "type": "text",
                    "name": f"{inner.get('name') or section.get('name') or section['id']} {n}",
                    "instructions": _fill(inner.get("instructions", ""), data),
                    "word_range": list(inner["word_range"]),
                    "parent": section["id"],
                    "parent_name": section.get("name") or section["id"],
                }
            )
    return filled


def run(state: RunState, config: dict) -> None:
    company_id, template_id = state.context.company_id, config.get("template_id")
    template = _templates.get((company_id, str(template_id)), lambda: _load(company_id, template_id))
    if template is None:
        raise ComponentError(f"The template “{config.get('template_id')}” no longer exists.")
    errors = validate_structure(template.structure)
    if errors:
        raise ComponentError(f"The template “{template.name}” is invalid: {'; '.join(errors)}")
    state.data["template"] = {
        "id": str(template.pk),
        "name": template.name,
        "version": template.version,
        "sections": fill_sections(template.structure, state.data),
    }
