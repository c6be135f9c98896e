"""The search index of a company's results on servers without text indexes: each term's
postings, per weight, packed in segments, and the batches ingest wrote since the upkeep last
folded them into segments (scraping.services.search_index writes them,
scraping.selectors.search_segments reads them)."""

from django.db import models
from django_mongodb_backend.fields import ArrayField

from tenants.scoping import TenantScoped


class PostingSegment(TenantScoped):
    """Postings of one term at one weight (analysis.WEIGHTS): `n` entries of ENTRY_SIZE bytes
    in `data`, each the result's published_at (8 bytes, big-endian microseconds since year 1,
    UTC) then its 12-byte id, so entries sort as the search ranks equal scores (newest, then
    highest id, last). Written once (an ingest batch's postings), merged by the index's upkeep,
    never edited."""

    ENTRY_SIZE = 20

    term = models.CharField(max_length=64)
    weight = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        db_table = "scraping_posting_segments"
        indexes = [models.Index(fields=["company", "term", "weight"], name="segment_company_term")]

    def __str__(self):
        return f"{self.weight}:{self.term} ({self.n})"


class PostingBatch(TenantScoped):
    """The postings of one ingest batch, every term of it in one document (one write however
    many words the batch holds): `postings` is {term: {"<weight>": entries as in
    PostingSegment.data}}, written raw, `terms` its keys (a multikey index finds a word's
    batches). The upkeep folds them into segments."""

    terms = ArrayField(models.CharField(max_length=64), default=list)
    postings = models.JSONField(default=dict)  # written and read raw: its values are bytes

    class Meta:
        db_table = "scraping_posting_batches"
        indexes = [models.Index(fields=["company", "terms"], name="posting_batch_company_terms")]

    def __str__(self):
        return f"{len(self.terms)} terms"


class SearchIndex(TenantScoped):
    """One per company: the state of its segments. `changes` counts the deletions that made
    them stale (a result, a target or a project deleted) and `built` the changes the last full
    build covered: the segments are read only while built == changes. `superseded`: results
    whose content changed since that build (their old postings are still in the segments,
    beside the new ones); `segments`: segments written since the last merge; `batches`:
    batches written since the last fold; `version`: raised whenever a process takes the
    company's lease to rewrite its segments and when it releases it, so a search may keep a
    term's segments read under one version (scraping.selectors.search_segments)."""

    UNIQUE_INDEXES = {"search_index_company_uniq": ("company",)}

    changes = models.PositiveIntegerField(default=0)
    built = models.PositiveIntegerField(default=0)
    superseded = models.PositiveIntegerField(default=0)
    segments = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "scraping_search_index"

    def __str__(self):
        return f"search index of {self.company_id}"
