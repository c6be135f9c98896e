"""Knowledge collections, their chunks and the history of their syncs."""

from django.db import models
from django_mongodb_backend.fields import ArrayField

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped

from .fields import VectorField

LOCAL_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class SourceType(models.TextChoices):
    MANUAL = "manual", "Manual"
    SHOPIFY = "shopify", "Shopify"
    WORDPRESS = "wordpress", "WordPress"
    UPLOAD = "upload", "Upload"
    SCRAPING = "scraping", "Scraping project"


class KnowledgeCollection(SoftDeletable, TenantScoped):
    """A set of chunks searched together. Its embedding model is fixed once it has chunks:
    `embedding_dimensions` is recorded on the first embedding and vectors of another size
    are refused. A collection of a synced type fills from its source
    (knowledge.services.sources). `chunks_version` changes with every write to its chunks (the in-process
    vector cache is keyed by it)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    user = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        "knowledge.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="collections",
        help_text="Linked agent: a Shopify or WordPress collection syncs from its store.",
    )
    source_type = models.CharField(max_length=20, choices=SourceType.choices, default=SourceType.MANUAL)
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"chunk_size": 800, "chunk_overlap": 100, '
        '"wordpress_types": ["posts", "pages"], '
        '"shopify_resources": ["products", "articles"], '
        '"project_id": "<a scraping project>", "platforms": ["reviews"]}',
    )
    embedding_provider = models.ForeignKey(
        "knowledge.LLMProvider",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: the offline all-MiniLM-L6-v2 model.",
    )
    embedding_model = models.CharField(max_length=100, default=LOCAL_EMBEDDING_MODEL)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True, editable=False)
    chunk_count = models.PositiveIntegerField(default=0, editable=False)
    chunks_version = models.PositiveIntegerField(default=0, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the next listing of an incremental source starts (written by the sync that completes).
    sync_cursor = models.CharField(max_length=200, blank=True, default="", editable=False)
    sync_lock_id = models.CharField(max_length=24, blank=True, editable=False)
    sync_lock_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "knowledge_base_collections"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="collection_company_name")]

    def __str__(self):
        return self.name

    @property
    def embedder_key(self) -> tuple:
        """Collections with the same key share one vector space (one query embedding)."""
        return (self.embedding_provider_id, self.embedding_model)


class KnowledgeChunk(TenantScoped):
    """A piece of one source item (post, product, upload...), embedded. `content_hash` is
    the hash of the whole source item: a re-sync re-embeds an item only when it changed."""

    collection = models.ForeignKey(KnowledgeCollection, on_delete=models.CASCADE, related_name="chunks")
    content = models.TextField()
    embedding = VectorField()
    metadata = models.JSONField(default=dict, blank=True)
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    chunk_index = models.PositiveIntegerField(default=0)
    terms = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta:
        db_table = "knowledge_chunks"
        ordering = ["collection_id", "source_id", "chunk_index"]  # by id: no join
        indexes = [
            models.Index(fields=["company", "collection", "source_id"], name="chunk_company_coll_source"),
            # Hits are loaded by id within the company: SecantusDB scans the whole collection
            # for {company_id, _id: {$in}} without it (measured: 400 ms at 5k chunks, 2 ms with).
            models.Index(fields=["company", "id"], name="chunk_company_id"),
            models.Index(fields=["company", "-created_at"], name="chunk_company_created"),
            models.Index(fields=["company", "collection", "-created_at"], name="chunk_company_coll_created"),
        ]

    def __str__(self):
        return f"{self.source_id} #{self.chunk_index}"

    @property
    def title(self) -> str:
        return (self.metadata or {}).get("title", "")

    @property
    def url(self) -> str:
        return (self.metadata or {}).get("url", "")


class SyncHistory(TenantScoped):
    """One sync of a collection: what it changed and how it ended."""

    PENDING, IN_PROGRESS, COMPLETED, FAILED = "pending", "in_progress", "completed", "failed"
    STATUSES = [(s, s.replace("_", " ")) for s in (PENDING, IN_PROGRESS, COMPLETED, FAILED)]
    TRIGGERS = [
        ("api", "API"),
        ("admin", "Admin"),
        ("schedule", "Schedule"),
        ("upload", "Upload/manual"),
        ("scrape", "Completed scrape"),
    ]
    # Started by the platform, not by a person: a failure is told to the company's admins.
    AUTOMATIC_TRIGGERS = ("schedule", "scrape")

    agent = models.ForeignKey("knowledge.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Indexed as the lead of (collection, -created_at), which also serves its cascade.
    collection = models.ForeignKey(
        KnowledgeCollection, null=True, blank=True, on_delete=models.CASCADE, related_name="syncs", db_index=False
    )
    sync_type = models.CharField(max_length=30)  # wordpress, products, blog_articles, upload, manual
    trigger = models.CharField(max_length=10, choices=TRIGGERS, default="api")
    status = models.CharField(max_length=12, choices=STATUSES, default=PENDING, db_index=True)
    items_synced = models.PositiveIntegerField(default=0)
    items_unchanged = models.PositiveIntegerField(default=0)
    items_removed = models.PositiveIntegerField(default=0)
    chunks_added = models.PositiveIntegerField(default=0)
    chunks_removed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sync_history"
        ordering = ["-created_at"]
        verbose_name_plural = "sync history"
        indexes = [
            models.Index(fields=["collection", "-created_at"], name="sync_collection_created"),
            models.Index(fields=["company", "-created_at"], name="sync_company_created"),
            models.Index(fields=["company", "collection", "-created_at"], name="sync_company_coll_created"),
        ]

    def __str__(self):
        return f"{self.sync_type} sync ({self.status})"
