"""The `transformer` component: assembles the generated sections into one document.

Writes `data.formatted_content = {"format", "content", "table_of_contents"}`:
Markdown (a "# title", then "## section" headings, repeated sections grouped under their
parent with "###"), or HTML rendered from that Markdown by Python-Markdown (headings get
ids; the table of contents links to them; the generator's citations, Markdown footnotes,
become numbered links to a footnote list at the end). Config: `format` ("markdown" or "html"),
`add_table_of_contents` (bool), `include_title` (bool, default true).

Generated text is treated as text: "<" and "&" are escaped before rendering HTML, so a
model's answer cannot inject markup into the page.
"""

from __future__ import annotations

import markdown
from markdown.extensions.toc import slugify, unique

from .ai_generator import sections_of
from .base import ComponentError, RunState

TYPE = "transformer"
FORMATS = ("markdown", "html")


def validate_config(config: dict, *, company, complete: bool = True) -> dict[str, list[str]]:
    errors = {}
    if config.get("format", "markdown") not in FORMATS:
        errors["format"] = [f"format: one of {', '.join(FORMATS)}."]
    for key in ("add_table_of_contents", "include_title"):
        if key in config and not isinstance(config[key], bool):
            errors[key] = [f"{key}: true or false."]
    return errors


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def outline(data: dict) -> list[tuple[int, str, str | None]]:
    """(level, heading, section id or None for a group heading) in document order."""
    rows, parents = [], set()
    for section in sections_of(data):
        parent = section.get("parent")
        if parent and parent not in parents:
            parents.add(parent)
            rows.append((2, section.get("parent_name") or parent, None))
        rows.append((3 if parent else 2, section.get("name") or section["id"], section["id"]))
    return rows


def render_markdown(data: dict, *, toc: bool, title: bool, escape: bool) -> tuple[str, list[dict]]:
    generated = data.get("generated_content") or {}
    rows = outline(data)
    heading = data.get("title") if title else None
    # The ids Python-Markdown's toc extension gives these headings, in document order.
    used = {slugify(heading, "-")} if heading else set()
    anchors = [{"level": level, "title": text, "anchor": unique(slugify(text, "-"), used)} for level, text, _ in rows]
    parts = [f"# {heading}"] if heading else []
    if toc:
        parts.append("\n".join(f"{'    ' * (a['level'] - 2)}- [{a['title']}](#{a['anchor']})" for a in anchors))
    for level, text, section_id in rows:
        parts.append(f"{'#' * level} {text}")
        if section_id is not None:
            body = str(generated.get(section_id, "")).strip()
            parts.append(_escape(body) if escape else body)
    return "\n\n".join(p for p in parts if p) + "\n", anchors


def run(state: RunState, config: dict) -> None:
    data = state.data
    if not data.get("generated_content"):
        raise ComponentError("Nothing to format: no generated content (put an ai_generator before the transformer).")
    fmt = config.get("format", "markdown")
    toc = bool(config.get("add_table_of_contents"))
    title = config.get("include_title", True)
    text, anchors = render_markdown(data, toc=toc, title=title, escape=fmt == "html")
    if fmt == "html":
        text = markdown.markdown(text, extensions=["toc", "footnotes"], output_format="html")
    data["formatted_content"] = {"format": fmt, "content": text, "table_of_contents": anchors if toc else []}
