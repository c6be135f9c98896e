"""The results export (GET /api/v1/scraping/results/export/?as=csv|jsonl): one row per result,
streamed as CSV or as JSON lines."""

from __future__ import annotations

import csv
import json

from requestdesk.api.renderers import JSONEncoder

from ..models import Result

EXPORT_COLUMNS = [
    "id",
    "project",
    "target",
    "job",
    "platform",
    "url",
    "title",
    "author",
    "date",
    "published_at",
    "sentiment",
    "compound",
    "positive",
    "neutral",
    "negative",
    "rating",
    "text",
]
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def export_row(result: Result) -> dict:
    content, sentiment = result.content, result.sentiment
    scores = {k: getattr(sentiment, k, None) for k in ("compound", "positive", "neutral", "negative")}
    return {
        "id": str(result.pk),
        "project": str(result.project_id),
        "target": str(result.target_id),
        "job": str(result.job_id or ""),
        "platform": result.platform,
        "url": content.url,
        "title": content.title,
        "author": content.author,
        "date": content.date.isoformat() if content.date else "",
        "published_at": result.published_at.isoformat(),
        "sentiment": getattr(sentiment, "label", ""),
        **scores,
        "rating": content.rating,
        "text": content.text,
    }


class _Echo:
    def write(self, value):
        return value


def _csv_cell(value):
    """Cells a spreadsheet would run as a formula are prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def stream_export(queryset, kind: str):
    if kind == "csv":
        writer = csv.writer(_Echo())
        yield writer.writerow(EXPORT_COLUMNS)
        for result in queryset.iterator(chunk_size=500):
            row = export_row(result)
            yield writer.writerow([_csv_cell(row[column]) for column in EXPORT_COLUMNS])
    else:
        for result in queryset.iterator(chunk_size=500):
            yield json.dumps(export_row(result), cls=JSONEncoder, ensure_ascii=False) + "\n"
