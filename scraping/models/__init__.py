"""Scraping: presets, projects, targets, scrape jobs and results.

Every document carries its company (TenantScoped). What is read together is embedded: a
project's configuration, a target's extraction options, a job's errors, a result's content,
sentiment and search terms. Schedules are the generic `tenants.Schedule` documents (task
`scraping.tasks.run_project`, target_id = the project's id): see scraping.services.projects.

Indexes (tenant-aware: a tenant query starts with company_id):
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
(company, project, month). Posting segments (scraping.services.search_index): (company, term,
weight); posting batches (company, terms); their state, unique (company).
"""

from .config import SELECTOR_FIELDS, ScrapeConfig, TargetOptions, default_config, default_options  # noqa: F401
from .jobs import JobError, ScrapeJob  # noqa: F401
from .presets import Preset, PresetQuerySet  # noqa: F401
from .projects import RUN_PROJECT_TASK, Project  # noqa: F401
from .results import Analysis, Result, ResultContent, SearchTerms, Sentiment  # noqa: F401
from .rollups import SentimentRollup  # noqa: F401
from .search_index import PostingBatch, PostingSegment, SearchIndex  # noqa: F401
from .targets import Target  # noqa: F401
