"""requestdesk.db.operations: embedded documents (a result's content, its analysis and the
sentiment inside it) are converted exactly as django-mongodb-backend converts them, with each
embedded model's converters worked out once per connection instead of once per field and row."""

from datetime import UTC, datetime

from django_mongodb_backend.operations import DatabaseOperations

from requestdesk.db.operations import Operations
from scraping.models import Result
from scraping.services import ingest
from scraping.services.extraction import Item
from tests.support.scraping import fast_scraping, make_project, make_target, site, system_presets  # noqa: F401


def _fields(obj):
    """An embedded model instance as plain values (nested ones too)."""
    if obj is None or not hasattr(obj, "_meta"):
        return obj
    return {field.attname: _fields(getattr(obj, field.attname)) for field in obj._meta.fields}


def test_embedded_documents_convert_as_the_backend_does_with_converters_worked_out_once(world, site, monkeypatch):
    target = make_target(make_project(world.a), site.url("/products/kettle"))
    items = [
        Item(title=f"K{n}", text="I love it, wonderful!", date=datetime(2024, 3, n + 1, tzinfo=UTC)) for n in range(5)
    ]
    ingest.ingest(target=target, platform="reviews", items=items)
    rows = Result.objects.filter(company=world.a).order_by("pk")
    ours = list(rows)
    assert len(ours) == 5 and ours[0].analysis.sentiment.label and ours[0].content.date.tzinfo is not None

    worked_out = []
    original = DatabaseOperations.get_db_converters
    monkeypatch.setattr(
        DatabaseOperations, "get_db_converters", lambda ops, e: worked_out.append(e) or original(ops, e)
    )
    list(rows.all())
    worked_out.clear()
    list(rows.all()[:1])
    one = len(worked_out)
    worked_out.clear()
    list(rows.all())
    assert len(worked_out) == one  # not per row: the embedded fields' converters are kept

    monkeypatch.setattr(
        Operations, "convert_embeddedmodelfield_value", DatabaseOperations.convert_embeddedmodelfield_value
    )
    theirs = list(rows.all())
    for name in ("content", "analysis", "published_at", "created_at"):
        assert [_fields(getattr(r, name)) for r in ours] == [_fields(getattr(r, name)) for r in theirs], name
