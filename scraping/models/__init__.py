"""Scraping (seed 002): presets, projects, targets, scrape jobs and results.

Every document carries its company (TenantScoped). What is read together is embedded: a
project's configuration, a target's extraction options, a job's errors, a result's content,
sentiment and search terms. Schedules are the generic `tenants.Schedule` documents (task
`scraping.tasks.run_project`, target_id = the project's id): see scraping.services.projects.

Indexes (seed 002, translated for tenants: a tenant query starts with company_id):
projects (company, status), (created_by), created_at; targets (project, status),
(project, platform), unique (project, url), (company, url); scrape_jobs (project, -created_at),
(target, -created_at), status; results (company, terms, -published_at) for the weighted
search (terms are weighted postings, see scraping.services.analysis),
(company|project|target, -published_at), unique (target, content_hash) for dedupe, (job),
(company, platform, -published_at) and, by migration, (company, analysis.sentiment.label,
-published_at) and unique (company, target, item_key): one result per item, updated when
its content changes (scraping.services.ingest). Results carry no plain company or
created_at index: on the embedded server each index entry costs insert time, and the
compound indexes above start with them.
Sentiment rollups (scraping.services.rollups): unique (company, target, platform, month),
(company, project, month).
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField, EmbeddedModelField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.soft_delete import LIVE, SoftDeletable
from tenants.scoping import TenantQuerySet, TenantScoped, Timestamped, scope

RUN_PROJECT_TASK = "scraping.tasks.run_project"


def _range(low, high):
    return [MinValueValidator(low), MaxValueValidator(high)]


class ScrapeConfig(EmbeddedModel):
    """How a project scrapes. A preset's `config` holds the same keys; a project starts
    from its preset's values and may override any of them."""

    SENTIMENT_CHOICES = [("vader", "VADER"), ("llm", "The company's LLM provider"), ("none", "None")]

    max_pages = models.PositiveIntegerField(
        default=100, validators=_range(1, 10000), help_text="Targets fetched per run, at most."
    )
    concurrency = models.PositiveSmallIntegerField(
        default=2, validators=_range(1, 16), help_text="Pages fetched in parallel within a run."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=30, validators=_range(1, 6000), help_text="Requests per minute to one domain."
    )
    timeout_seconds = models.FloatField(default=20, validators=_range(0.1, 120))
    max_retries = models.PositiveSmallIntegerField(
        default=3, validators=_range(0, 10), help_text="Retries after 429, 5xx and network errors."
    )
    respect_robots_txt = models.BooleanField(default=True)
    sentiment = models.CharField(max_length=10, choices=SENTIMENT_CHOICES, default="vader")
    schedule_interval_seconds = models.PositiveIntegerField(
        default=86400, validators=_range(60, 31 * 86400), help_text="Interval of the project's schedule."
    )


def default_config():
    return ScrapeConfig()


class PresetQuerySet(TenantQuerySet):
    def visible_to(self, company):
        """The system presets and the presets of `company` (the tenant scope plus the shared rows)."""
        return self.filter(is_system=True, company=None) | scope(self, company)


class Preset(Timestamped):
    """A scraping configuration. System presets (no company, no user) are shared by every
    tenant and read-only; user presets are unique per (user, name)."""

    TENANT_FIELD = "company"

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_system = models.BooleanField(default=False)
    company = models.ForeignKey("tenants.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    config = models.JSONField(default=dict)

    objects = PresetQuerySet.as_manager()

    class Meta:
        db_table = "presets"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="preset_user_name_uniq"),
        ]

    def __str__(self):
        return self.name


class Project(SoftDeletable, TenantScoped):
    """Deleting a project (soft) deletes its targets with it (requestdesk.soft_delete)."""

    SOFT_DELETE_CHILDREN = (("scraping.Target", "project"),)
    ACTIVE, PAUSED, ARCHIVED = "active", "paused", "archived"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused"), (ARCHIVED, "Archived")]

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    preset = models.ForeignKey(Preset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    config = EmbeddedModelField(ScrapeConfig, default=default_config)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "projects"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "status"], name="project_company_status")]

    def __str__(self):
        return self.name


class TargetOptions(EmbeddedModel):
    """Per-target extraction options. The CSS selectors drive the `custom` platform: each
    element matching `item_selector` is one result (the whole page when empty)."""

    item_selector = models.CharField(max_length=300, blank=True)
    title_selector = models.CharField(max_length=300, blank=True)
    text_selector = models.CharField(max_length=300, blank=True)
    author_selector = models.CharField(max_length=300, blank=True)
    date_selector = models.CharField(max_length=300, blank=True)
    link_selector = models.CharField(max_length=300, blank=True)
    max_items = models.PositiveIntegerField(
        default=200, validators=_range(1, 5000), help_text="Results taken from one page, at most."
    )
    follow_links = models.BooleanField(
        default=False,
        help_text="Feeds: fetch each entry's link and keep the article's main text "
        "when it is longer than what the feed carries.",
    )

    def selectors(self) -> dict:
        return {name: getattr(self, name) for name in SELECTOR_FIELDS if getattr(self, name)}


SELECTOR_FIELDS = (
    "item_selector",
    "title_selector",
    "text_selector",
    "author_selector",
    "date_selector",
    "link_selector",
)


def default_options():
    return TargetOptions()


class Target(SoftDeletable, TenantScoped):
    """A page to scrape. `platform` says how to read it (`auto` detects feeds, JSON-LD
    reviews and articles). The lease (`lease_job`, `lease_until`) is held by the one job
    scraping it right now; the conditional-GET validators come from its last fetch."""

    AUTO, ARTICLE, REVIEWS, FEED, CUSTOM = "auto", "article", "reviews", "feed", "custom"
    PLATFORMS = [
        (AUTO, "Detect"),
        (ARTICLE, "Article / blog"),
        (REVIEWS, "JSON-LD reviews"),
        (FEED, "RSS / Atom feed"),
        (CUSTOM, "CSS selectors"),
    ]
    ACTIVE, PAUSED = "active", "paused"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused")]
    OUTCOMES = [(o, o) for o in ("ok", "not_modified", "error", "blocked")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="targets", db_index=False)
    url = models.URLField(max_length=2000)
    platform = models.CharField(max_length=10, choices=PLATFORMS, default=AUTO)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    options = EmbeddedModelField(TargetOptions, default=default_options)
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_outcome = models.CharField(max_length=15, choices=OUTCOMES, blank=True, editable=False)
    last_status_code = models.IntegerField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    lease_job = ObjectIdField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "targets"
        ordering = ["url"]
        indexes = [
            models.Index(fields=["project", "status"], name="target_project_status"),
            models.Index(fields=["project", "platform"], name="target_project_platform"),
            models.Index(fields=["company", "url"], name="target_company_url"),
        ]
        # Live targets only: a deleted target's URL can be added again (requestdesk.soft_delete).
        constraints = [
            models.UniqueConstraint(fields=["project", "url"], condition=LIVE, name="target_project_url_live_uniq")
        ]

    def __str__(self):
        return self.url


class JobError(EmbeddedModel):
    at = models.DateTimeField()
    url = models.CharField(max_length=2000, blank=True)
    status_code = models.IntegerField(null=True, blank=True)
    message = models.CharField(max_length=500)


class ScrapeJob(TenantScoped):
    """One run over a project's active targets (or one target). Counters are written as the
    run goes, so a job shows its progress; `done_targets` lets a run taken over after a
    lost worker skip what is done. `lease_until` keeps a second worker off a live run."""

    QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, COMPLETED, FAILED)]
    FINISHED = (COMPLETED, FAILED)
    TRIGGERS = [(t, t) for t in ("api", "admin", "schedule", "system")]
    MAX_ERRORS = 50

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs", db_index=False
    )
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=TRIGGERS, default="api")
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    targets_total = models.PositiveIntegerField(default=0)
    targets_done = models.PositiveIntegerField(default=0)
    targets_skipped = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    pages_not_modified = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    items_found = models.PositiveIntegerField(default=0)
    results_created = models.PositiveIntegerField(default=0)
    results_updated = models.PositiveIntegerField(default=0, help_text="Stored items found with changed content.")
    duplicates = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    errors = EmbeddedModelArrayField(JobError, default=list, blank=True)
    done_targets = ArrayField(ObjectIdField(), default=list, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    COUNTERS = (
        "targets_total",
        "targets_done",
        "targets_skipped",
        "pages_fetched",
        "pages_not_modified",
        "pages_failed",
        "items_found",
        "results_created",
        "results_updated",
        "duplicates",
    )

    class Meta:
        db_table = "scrape_jobs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="job_company_created"),
            models.Index(fields=["company", "project", "-created_at"], name="job_company_project_created"),
            models.Index(fields=["project", "-created_at"], name="job_project_created"),
            models.Index(fields=["target", "-created_at"], name="job_target_created"),
        ]

    def __str__(self):
        return f"job {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Share of targets handled, 0..1 (1 once finished)."""
        if self.status in self.FINISHED:
            return 1.0
        return round(self.targets_done / self.targets_total, 4) if self.targets_total else 0.0

    def counts(self) -> dict:
        return {name: getattr(self, name) for name in self.COUNTERS}


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

    """One scraped item (an article, a review, a feed entry). `published_at` is the item's
    own date, or when it was scraped if it has none: the date results are filtered, sorted
    and charted by. `terms` (one weighted posting per distinct word, "25:lantern": 10 x its
    count in the title + 5 x its count in the text) feed the weighted search; `search` keeps
    the plain title and text terms. Where the server
    has text indexes, TEXT_INDEX serves the same search (requestdesk.db.text)."""

    TEXT_INDEX = {"name": "result_text", "weights": {"content.title": 10, "content.text": 5}}

    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="+", db_index=False)
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


class SentimentRollup(TenantScoped):
    """Per target, platform and month (and per company and month: no project, target or
    platform): per day, the results' count per sentiment label and the sum of their compound
    scores. scraping.services.rollups writes them with $inc; the sentiment analytics and the
    search's window planning read them. Deleted with their target."""

    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, null=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.ForeignKey(Target, null=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    platform = models.CharField(max_length=10, null=True)  # noqa: DJ001 (null: a company-wide document)
    month = models.DateTimeField()
    days = models.JSONField(default=dict)

    class Meta:
        db_table = "scraping_sentiment_rollups"
        indexes = [
            models.Index(fields=["company", "project", "month"], name="rollup_company_project"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["company", "target", "platform", "month"], name="rollup_target_month_uniq")
        ]

    def __str__(self):
        return f"{self.target_id} {self.platform} {self.month:%Y-%m}"
