"""Chunking: pieces of about `size` characters that keep paragraphs whole when they fit,
split long paragraphs between sentences (and only an overlong sentence between words),
and start with the last ~`overlap` characters of the previous piece, from a sentence
start when there is one in that tail, else from a word start."""

from __future__ import annotations

import re

from requestdesk.text import normalise

DEFAULT_SIZE = 800
DEFAULT_OVERLAP = 100
MIN_SIZE = 100
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9À-Ý])")


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(paragraph) if s.strip()]


def _split_words(text: str, size: int) -> list[str]:
    pieces, current = [], ""
    for word in text.split():
        while len(word) > size:  # a "word" longer than a chunk (a URL, a hash): cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:size])
            word = word[size:]
        if current and len(current) + 1 + len(word) > size:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, size: int) -> list[tuple[str, bool]]:
    """(piece, starts a paragraph) in order; each piece is at most `size` long."""
    units = []
    for paragraph in text.split("\n\n"):
        if len(paragraph) <= size:
            units.append((paragraph, True))
            continue
        first = True
        for sentence in sentences(paragraph):
            for piece in _split_words(sentence, size) if len(sentence) > size else [sentence]:
                units.append((piece, first))
                first = False
    return units


def _tail(chunk: str, overlap: int) -> str:
    """The overlap carried into the next chunk."""
    if overlap <= 0 or len(chunk) <= overlap:
        return ""
    tail = chunk[-overlap:]
    starts = [m.end() for m in SENTENCE_END.finditer(tail)]
    if starts and starts[0] < len(tail):
        return tail[starts[0] :].strip()
    space = tail.find(" ")
    return tail[space + 1 :].strip() if space != -1 else ""


def chunk_text(text: str, *, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP) -> list[str]:
    size = max(MIN_SIZE, int(size))
    overlap = max(0, min(int(overlap), size // 2))
    text = normalise(text)
    if not text:
        return []
    # Units are cut to leave room for the overlap, so no chunk exceeds `size`.
    units = _units(text, size - overlap - 2)
    chunks: list[str] = []
    current = ""
    for piece, new_paragraph in units:
        joiner = "\n\n" if new_paragraph else " "
        if current and len(current) + len(joiner) + len(piece) > size:
            chunks.append(current)
            carried = _tail(current, overlap)
            current = f"{carried}{joiner}{piece}" if carried else piece
        else:
            current = f"{current}{joiner}{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks
