"""Text out of uploaded files: .txt, .md, .html/.htm and .pdf (pypdf)."""

from __future__ import annotations

import io
import os

from .text import html_to_text, normalise

TEXT_TYPES = {".txt", ".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
PDF_TYPES = {".pdf"}
SUPPORTED = sorted(TEXT_TYPES | HTML_TYPES | PDF_TYPES)


class UnsupportedUpload(ValueError):
    """The file cannot be read as text; the message says why and is safe to show."""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnsupportedUpload("The PDF is encrypted.")
        return "\n\n".join((page.extract_text() or "") for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnsupportedUpload(f"The PDF could not be read ({exc.__class__.__name__}).") from exc


def extract_text(name: str, data: bytes) -> str:
    """The text of an uploaded file, normalised; refuses unknown types and empty results."""
    extension = os.path.splitext(name or "")[1].lower()
    if extension in TEXT_TYPES:
        text = normalise(_decode(data))
    elif extension in HTML_TYPES:
        text = html_to_text(_decode(data))
    elif extension in PDF_TYPES:
        text = normalise(_pdf_text(data))
    else:
        raise UnsupportedUpload(f"“{extension or name}” files are not supported; use one of {', '.join(SUPPORTED)}.")
    if not text.strip():
        raise UnsupportedUpload("The file contains no text.")
    return text
