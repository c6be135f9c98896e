"""Admin for scraping: presets, projects (with their targets inline, a "Run now" action and a
sentiment chart page), targets, jobs, results and the state of each company's search index.
Rows are limited to the staff member's company by TenantAdmin; system presets are shown to
everyone and changed by no one (they are reference data, written by migration)."""

from .jobs import ScrapeJobAdmin
from .presets import PresetAdmin
from .projects import ProjectAdmin
from .results import ResultAdmin
from .search_index import SearchIndexAdmin
from .targets import TargetAdmin

__all__ = ["PresetAdmin", "ProjectAdmin", "ResultAdmin", "ScrapeJobAdmin", "SearchIndexAdmin", "TargetAdmin"]
