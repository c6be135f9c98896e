"""Chunking keeps paragraphs whole, splits between sentences, overlaps, and never exceeds
the size; text helpers (HTML to text, hashes, terms) and uploads' text extraction."""

import io
import itertools

import pytest

from knowledge.services.chunking import chunk_text, sentences
from knowledge.services.extract import UnsupportedUpload, extract_text
from requestdesk.text import content_hash, html_to_text, terms
from tests.support.knowledge import minimal_pdf

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today."


def _paragraph(n: int, tag: str) -> str:
    return " ".join(f"{tag} sentence {i} says: {SENTENCE}" for i in range(n))


def test_short_paragraphs_stay_whole_and_together():
    text = "First paragraph.\n\nSecond paragraph.\n\nThird."
    assert chunk_text(text, size=800, overlap=100) == ["First paragraph.\n\nSecond paragraph.\n\nThird."]


def test_no_chunk_exceeds_the_size_and_sentences_are_not_cut():
    text = "\n\n".join(_paragraph(n, tag) for n, tag in ((3, "Alpha"), (12, "Beta"), (1, "Gamma"), (9, "Delta")))
    chunks = chunk_text(text, size=400, overlap=80)
    assert len(chunks) > 4
    assert all(len(chunk) <= 400 for chunk in chunks)
    whole = set(sentences(text.replace("\n\n", " ")))
    for chunk in chunks:
        for sentence in sentences(chunk.replace("\n\n", " "))[1:-1]:  # inner sentences are whole ones
            assert sentence in whole, sentence


def test_consecutive_chunks_overlap():
    text = _paragraph(20, "Omega")
    chunks = chunk_text(text, size=300, overlap=100)
    for before, after in itertools.pairwise(chunks):
        head = after.split(" Omega sentence")[0]
        assert 0 < len(head) <= 100 and before.endswith(head), (before[-120:], after[:120])


def test_a_paragraph_that_fits_is_not_split_across_chunks():
    paragraphs = [_paragraph(2, f"P{i}") for i in range(6)]  # ~190 chars each
    chunks = chunk_text("\n\n".join(paragraphs), size=450, overlap=0)
    for paragraph in paragraphs:
        assert sum(paragraph in chunk for chunk in chunks) == 1


def test_overlong_words_and_sentences_are_still_bounded():
    text = "x" * 2500 + " " + "word " * 400
    chunks = chunk_text(text, size=300, overlap=50)
    assert chunks and all(len(chunk) <= 300 for chunk in chunks)
    assert chunk_text("   \n\n  ") == []


def test_html_to_text_and_hashes():
    html = "<h2>Returns &amp; refunds</h2><p>Send it back<br>within <b>30</b> days.</p><script>x()</script>"
    assert html_to_text(html) == "Returns & refunds\n\nSend it back\nwithin 30 days."
    assert content_hash("Title", "a  b\n\n\nc") == content_hash("Title", "a b\n\nc")
    assert content_hash("Title", "a b") != content_hash("Title", "a c")
    assert terms("The Products and the product LIST, shipping!") == ["product", "list", "shipping"]


def test_uploads_are_read_as_text():
    from pypdf import PdfWriter

    assert extract_text("notes.md", b"# Title\n\nSome *markdown*.") == "# Title\n\nSome *markdown*."
    assert extract_text("page.html", b"<p>One</p><p>Two</p>") == "One\n\nTwo"
    assert extract_text("a.txt", "caf\u00e9".encode("utf-8-sig")) == "caf\u00e9"
    with pytest.raises(UnsupportedUpload, match="not supported"):
        extract_text("photo.png", b"\x89PNG")
    with pytest.raises(UnsupportedUpload, match="no text"):
        extract_text("empty.txt", b"  \n ")
    with pytest.raises(UnsupportedUpload, match="could not be read"):
        extract_text("broken.pdf", b"%PDF-1.4 garbage")
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UnsupportedUpload, match="no text"):
        extract_text("blank.pdf", buffer.getvalue())
    assert extract_text("guide.pdf", minimal_pdf("Warranty covers two years.")) == "Warranty covers two years."
