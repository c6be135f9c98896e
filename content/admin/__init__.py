"""Admin for content: tickets, campaigns, templates, components and pipelines (soft-deleted
ones too, with soft delete and restore actions; validated as the API validates them; their versions listed, and
one restored by choosing it in "Restore version"; a pipeline's run statistics), contexts
(read-only, with cancel/retry actions and a processing timeline page), batches (read-only,
with the status summary) and, for superadmins, the live workers page
(admin/content/context/workers/). Rows are limited to the staff member's company by
TenantAdmin."""

from . import campaigns, contexts, pipelines, tickets  # noqa: F401  (each registers its models)
