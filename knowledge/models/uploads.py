"""Uploaded files waiting for their background ingest (knowledge.tasks.sync_collection)."""

from django.db import models

from tenants.scoping import TenantScoped


class PendingUpload(TenantScoped):
    """The bytes of one uploaded file, kept from the request until the worker that reads,
    chunks and embeds it has finished (then removed). Its sync history is the job's record:
    a worker that dies leaves both, and the recovery sweep queues the history again, which
    re-runs it as an upload. At most KNOWLEDGE_UPLOAD_MAX_BYTES, well under a document's 16 MB."""

    history = models.OneToOneField("knowledge.SyncHistory", on_delete=models.CASCADE, related_name="upload")
    collection = models.ForeignKey("knowledge.KnowledgeCollection", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    title = models.CharField(max_length=500, blank=True)
    source_id = models.CharField(max_length=200, blank=True)
    data = models.BinaryField()

    class Meta:
        db_table = "knowledge_pending_uploads"
        indexes = [models.Index(fields=["company", "-created_at"], name="upload_company_created")]

    def __str__(self):
        return self.name
