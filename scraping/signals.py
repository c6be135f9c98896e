"""Signals other apps listen to without scraping importing them."""

from django.dispatch import Signal

# Sent once a scrape job has finished without error, after its results are stored. Keyword
# arguments: company_id, project_id, job_id (ObjectIds). Receivers must be quick (queue work).
results_ingested = Signal()

# Sent in the process that wrote them whenever results' search postings were stored or changed
# (scraping.services.ingest: new results, changed items, a reindex; the search index rebuilt:
# scraping.services.search_index). Keyword argument:
# company_id (None: any company's). The search forgets what it keeps of the company's postings.
postings_changed = Signal()
