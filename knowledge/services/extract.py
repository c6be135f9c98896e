"""Text out of uploaded files: .txt, .md, .html/.htm and .pdf (pypdf).

A small file can expand to a great deal of text (a compressed PDF stream, a long Markdown
file), and every character is chunked and embedded: the text is capped at MAX_TEXT_CHARS,
as `/texts/` caps what it is sent, and a PDF is read page by page only until the cap is
passed. `check_upload` is the cheap part (type, a PDF's structure) done while the request
waits; `extract_text` runs in the upload's background job.
"""

from __future__ import annotations

import io
import os

from requestdesk.text import html_to_text, normalise

TEXT_TYPES = {".txt", ".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
PDF_TYPES = {".pdf"}
SUPPORTED = sorted(TEXT_TYPES | HTML_TYPES | PDF_TYPES)
MAX_TEXT_CHARS = 2_000_000  # the longest text a collection takes in one piece (uploads and /texts/)


class UnsupportedUpload(ValueError):
    """The file cannot be read as text; the message says why and is safe to show."""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _extension(name: str) -> str:
    extension = os.path.splitext(name or "")[1].lower()
    if extension not in TEXT_TYPES | HTML_TYPES | PDF_TYPES:
        raise UnsupportedUpload(f"“{extension or name}” files are not supported; use one of {', '.join(SUPPORTED)}.")
    return extension


def _too_long(length: int) -> UnsupportedUpload:
    return UnsupportedUpload(
        f"The file's text is longer than {MAX_TEXT_CHARS} characters ({length} or more); split it into smaller files."
    )


def _inflate_first_page(reader) -> None:
    """Decode the first page's content streams: a stream made to inflate past pypdf's limit
    (a few KB growing to tens of MB) trips it here, before anything is queued."""
    if not len(reader.pages):
        return
    contents = reader.pages[0].get("/Contents")
    contents = contents.get_object() if contents is not None else []
    for stream in contents if isinstance(contents, list) else [contents]:
        stream.get_object().get_data()


def _pdf_reader(data: bytes, *, inflate_first_page: bool = False):
    """An open PdfReader: its structure (trailer, cross references, page tree) read and
    checked. pypdf's own limits (a stream that would inflate too far) end in a refusal."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnsupportedUpload("The PDF is encrypted.")
        if inflate_first_page:
            _inflate_first_page(reader)
        len(reader.pages)
        return reader
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise UnsupportedUpload(f"The PDF could not be read ({exc.__class__.__name__}: {str(exc)[:200]}).") from exc


def _pdf_text(data: bytes) -> str:
    from pypdf.errors import PyPdfError

    reader, pages, length = _pdf_reader(data), [], 0
    try:
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            length += len(pages[-1]) + 2
            if length > MAX_TEXT_CHARS:
                raise _too_long(length)
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise UnsupportedUpload(f"The PDF could not be read ({exc.__class__.__name__}: {str(exc)[:200]}).") from exc
    return "\n\n".join(pages)


def check_upload(name: str, data: bytes) -> None:
    """What can be refused while the request waits: an unknown type, an empty file, a PDF
    that does not open. Reading the text is left to the background job."""
    if _extension(name) in PDF_TYPES:
        _pdf_reader(data, inflate_first_page=True)
    elif not data.strip():
        raise UnsupportedUpload("The file contains no text.")


def extract_text(name: str, data: bytes) -> str:
    """The text of an uploaded file, normalised; refuses unknown types, empty results and
    text longer than MAX_TEXT_CHARS."""
    extension = _extension(name)
    if extension in TEXT_TYPES:
        text = normalise(_decode(data))
    elif extension in HTML_TYPES:
        text = html_to_text(_decode(data))
    else:
        text = normalise(_pdf_text(data))
    if not text.strip():
        raise UnsupportedUpload("The file contains no text.")
    if len(text) > MAX_TEXT_CHARS:
        raise _too_long(len(text))
    return text
