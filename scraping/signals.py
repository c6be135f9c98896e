"""Signals other apps listen to without scraping importing them."""

from django.dispatch import Signal

# Sent once a scrape job has finished without error, after its results are stored. Keyword
# arguments: company_id, project_id, job_id (ObjectIds). Receivers must be quick (queue work).
results_ingested = Signal()
