"""The monitoring app's Celery entry points; they only call services."""

from bson import ObjectId
from celery import shared_task

from .services import alerts


@shared_task(acks_late=True, ignore_result=True)
def evaluate_project(company_id: str, project_id: str) -> int:
    """Evaluate a project's alert rules (queued after each scrape job and by `evaluate_rules`);
    how many fired. Safe to run twice: a rule fires once per window."""
    return len(alerts.evaluate_project(company_id=ObjectId(company_id), project_id=ObjectId(project_id)))


@shared_task(acks_late=True, ignore_result=True)
def evaluate_rules() -> int:
    """Run by beat: queue the evaluation of every project with an enabled alert rule."""
    return alerts.queue_all()
