"""Sources the ai_generator may cite, and the citations it keeps in its Markdown.

Components before the generator (the retrieval, and those other apps register) append to
the list `data.sources`: {"kind", "id", "title", "url" (may be ""), "text": an excerpt}.
The generator puts the first MAX_SOURCES of them, numbered [1]..[n], into every section's
prompt (title, URL, excerpt) with an instruction to cite them as [n] (`prompt_block`).

In each section the model writes, a marker [n] or [n, m] whose numbers all name sources
given becomes Markdown footnote references [^n] (`link_markers`); a number that names no
source, a Markdown link such as [1](...) and a definition "[1]: ..." opening a line are
left as written. The last section of the document ends with every source given, as
footnote definitions under a "Sources" label (`footnotes`), so the whole output (and the
transformer's document) ends with:

    **Sources**

    [^1]: [Returns and refunds](https://acme.test/returns)
    [^2]: Shipping

A title is a link only when its URL is http(s). Without sources nothing changes.
"""

from __future__ import annotations

import re

MAX_SOURCES = 20
EXCERPT_CHARS = 800
MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\](?!\()")
INSTRUCTION = (
    "Sources: cite a source you use as [n] (its number below) right after the statement it supports; "
    "cite nothing else and do not list the sources yourself."
)


def add(data: dict, new) -> None:
    """Append the sources `new` to `data.sources`, leaving out those already there (by kind
    and id), so a step that runs again adds nothing twice."""
    sources = data["sources"] if isinstance(data.get("sources"), list) else []
    known = {(s.get("kind"), s.get("id")) for s in sources if isinstance(s, dict)}
    for source in new:
        if (source["kind"], source["id"]) not in known:
            known.add((source["kind"], source["id"]))
            sources.append(source)
    data["sources"] = sources


def given(data: dict) -> list[dict]:
    """The sources the generator is given: the first MAX_SOURCES objects of `data.sources`."""
    sources = data.get("sources")
    if not isinstance(sources, list):
        return []
    return [source for source in sources if isinstance(source, dict)][:MAX_SOURCES]


def _one_line(value) -> str:
    return " ".join(str(value or "").split())


def _title(source: dict, n: int) -> str:
    return _one_line(source.get("title")) or _one_line(source.get("id")) or f"Source {n}"


def _url(source: dict) -> str:
    url = _one_line(source.get("url"))
    return url if url.lower().startswith(("http://", "https://")) else ""


def prompt_block(sources: list[dict]) -> str:
    """The numbered sources and the instruction to cite them, for a section's prompt."""
    lines = [INSTRUCTION]
    for n, source in enumerate(sources, start=1):
        url = _url(source)
        lines.append(f"\n[{n}] {_title(source, n)}" + (f" ({url})" if url else ""))
        excerpt = str(source.get("text") or "").strip()[:EXCERPT_CHARS]
        if excerpt:
            lines.append(excerpt)
    return "\n".join(lines)


def link_markers(text: str, count: int) -> str:
    """`text` with its [n] / [n, m] markers (1 <= n <= count) as footnote references."""

    def reference(match: re.Match) -> str:
        numbers = [int(part) for part in match.group(1).split(",")]
        line_start = text.rfind("\n", 0, match.start()) + 1
        definition = text.startswith(":", match.end()) and not text[line_start : match.start()].strip()
        if definition or not all(1 <= n <= count for n in numbers):
            return match.group(0)
        return "".join(f"[^{n}]" for n in numbers)

    return MARKER.sub(reference, text)


def footnotes(sources: list[dict]) -> str:
    """The "Sources" list: one footnote definition per source, in their numbers' order."""
    lines = ["**Sources**", ""]
    for n, source in enumerate(sources, start=1):
        title = _title(source, n).replace("[", r"\[").replace("]", r"\]")
        url = _url(source).replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        lines.append(f"[^{n}]: [{title}]({url})" if url else f"[^{n}]: {title}")
    return "\n".join(lines)
