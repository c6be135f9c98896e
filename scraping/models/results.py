"""Results: the scraped items, with their content, sentiment and search postings."""

from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelField
from django_mongodb_backend.models import EmbeddedModel

from tenants.scoping import TenantScoped

from .jobs import ScrapeJob
from .projects import Project
from .targets import Target


class ResultContent(EmbeddedModel):
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    author = models.CharField(max_length=200, blank=True)
    date = models.DateTimeField(null=True, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    rating = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, default="")


class Sentiment(EmbeddedModel):
    """The sentiment of a result: the compound score of its whole text, its proportions,
    and the compound score of each sentence (`sentences`, in order). A result whose
    sentences strongly disagree (praise for one thing, a pan of another) is `mixed`,
    whatever its overall score (scraping.services.analysis)."""

    POSITIVE, NEGATIVE, NEUTRAL, MIXED = "positive", "negative", "neutral", "mixed"
    LABELS = [(label, label) for label in (POSITIVE, NEGATIVE, NEUTRAL, MIXED)]

    label = models.CharField(max_length=10, choices=LABELS)
    compound = models.FloatField()
    positive = models.FloatField()
    neutral = models.FloatField()
    negative = models.FloatField()
    sentences = ArrayField(models.FloatField(), default=list, blank=True)


class Analysis(EmbeddedModel):
    sentiment = EmbeddedModelField(Sentiment, null=True, blank=True)


class SearchTerms(EmbeddedModel):
    title = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    text = ArrayField(models.CharField(max_length=64), default=list, blank=True)


class Result(TenantScoped):
    """One scraped item (an article, a review, a feed entry). `published_at` is the item's
    own date, or when it was scraped if it has none: the date results are filtered, sorted
    and charted by. `terms` (one weighted posting per distinct word, "25:lantern": 10 x its
    count in the title + 5 x its count in the text) feed the weighted search; `search` keeps
    the plain title and text terms. Where the server has text indexes, TEXT_INDEX serves
    the same search (requestdesk.db.text)."""

    # Unique indexes the migrations create raw, not as UniqueConstraints (the backend writes those
    # as partial indexes, which the embedded server never plans: a scan). Both lead with the
    # company and the target, so the tenant-scoped lookups by them are index scans, and a sharded
    # cluster can key results on (company, target) (requestdesk.db.sharding reads this):
    # - one result per item of a target, updated when its content changes;
    # - the same content stored once per target (ingest's dedupe by content hash).
    UNIQUE_INDEXES = {
        "result_target_item_key_uniq": ("company", "target", "item_key"),
        "result_target_hash_uniq": ("company", "target", "content_hash"),
    }

    TEXT_INDEX = {"name": "result_text", "weights": {"content.title": 10, "content.text": 5}}

    created_at = models.DateTimeField(auto_now_add=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="results", db_index=False)
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="results", db_index=False)
    job = models.ForeignKey(ScrapeJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="results")
    platform = models.CharField(max_length=10)
    content = EmbeddedModelField(ResultContent)
    analysis = EmbeddedModelField(Analysis, null=True, blank=True)
    published_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64, editable=False)
    terms = ArrayField(models.CharField(max_length=64), default=list, blank=True, editable=False)
    search = EmbeddedModelField(SearchTerms, null=True, blank=True, editable=False)
    # What the item is known by within its target: its url where one url is one item
    # (ITEM_URL_PLATFORMS), so a later scrape that finds other content there updates this
    # result instead of adding one; elsewhere its content hash (each result its own item).
    item_key = models.CharField(max_length=2000, editable=False)
    changed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a scrape last found the item's content changed."
    )
    change_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Times a scrape found the item's content changed."
    )

    # An article page is one item, a feed entry (its link) is one; the reviews of a page and
    # the items of a custom page share the page's url, so there each result is its own item.
    ITEM_URL_PLATFORMS = ("article", "feed")

    class Meta:
        db_table = "results"
        ordering = ["-published_at"]
        indexes = [
            models.Index(fields=["company", "terms", "-published_at"], name="result_company_postings"),
            models.Index(fields=["company", "-published_at"], name="result_company_published"),
            models.Index(fields=["company", "-created_at"], name="result_company_created"),
            models.Index(fields=["-published_at"], name="result_published"),
            # A list filter's index leads with the company: with (project, date) alone the
            # embedded server planned {company, project, date range} as a scan (350 ms at 30k).
            models.Index(fields=["company", "project", "-published_at"], name="result_company_project"),
            models.Index(fields=["company", "target", "-published_at"], name="result_company_target"),
            models.Index(fields=["project", "-published_at"], name="result_project_published"),
            models.Index(fields=["target", "-published_at"], name="result_target_published"),
            models.Index(fields=["company", "platform", "-published_at"], name="result_company_platform"),
            # A project's results new, and changed, since a moment (a knowledge collection's
            # incremental sync: monitoring.services.knowledge_source): a bounded range each.
            models.Index(fields=["company", "project", "-created_at"], name="result_company_project_created"),
            models.Index(fields=["company", "project", "-changed_at"], name="result_company_project_changed"),
        ]
        # And the UNIQUE_INDEXES below, by migration.

    def __str__(self):
        return self.content.title or self.content.text[:80] or self.content.url or str(self.pk)

    @classmethod
    def item_url(cls, platform: str, url: str) -> str | None:
        """The url an item of `platform` found at `url` is known by (its item_key), or None."""
        url = (url or "")[:2000]
        return url if url and platform in cls.ITEM_URL_PLATFORMS else None

    @property
    def sentiment(self):
        return self.analysis.sentiment if self.analysis else None
