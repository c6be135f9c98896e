"""Knowledge's names for the project's text toolkit (requestdesk.text): chunk terms,
HTML to text, normalisation and content hashes.

Keyword search cannot use `$text` (SecantusDB has no text indexes), so each chunk keeps
its distinct terms in an indexed array (`terms`) and a query matches by overlap.
"""

from requestdesk.text import content_hash, html_to_text, normalise, terms, tokenize

tokens = tokenize

__all__ = ["content_hash", "html_to_text", "normalise", "terms", "tokenize", "tokens"]
