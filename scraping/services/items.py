"""What extraction produces (an Item per article, review or feed entry), its error, and the
small readers every extractor shares: whitespace cleaning and dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_SPACES = re.compile(r"[ \t\r\f\v]+")


@dataclass
class Item:
    title: str = ""
    text: str = ""
    author: str = ""
    date: datetime | None = None
    url: str = ""
    rating: float | None = None
    language: str = ""

    @property
    def empty(self) -> bool:
        return not (self.title.strip() or self.text.strip())


class ExtractionError(ValueError):
    """The page cannot be read as the platform asked for; the message says why."""


def clean(text: str | None) -> str:
    """Whitespace collapsed within lines, blank lines squeezed, ends stripped."""
    lines = (_SPACES.sub(" ", line).strip() for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def parse_date(value) -> datetime | None:
    """ISO 8601 or RFC 822 dates (aware, UTC); None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
