"""seed_demo --projects N --results N: demo scraping projects per company, results with
sentiment through the ingest service, idempotent."""

from io import StringIO

from django.core.management import call_command

from scraping.models import Project, Result, Target
from tests.support.scraping import system_presets  # noqa: F401


def test_seed_demo_creates_scraping_projects_and_results_once(db):
    call_command("seed_demo", users=0, projects=2, results=30, stdout=StringIO())
    assert Project.objects.count() == 4 and Target.objects.count() == 8
    assert set(Target.objects.values_list("status", flat=True)) == {"paused"}
    for project in Project.objects.all():
        results = Result.objects.filter(project=project)
        assert results.count() == 30 and all(r.company_id == project.company_id for r in results)
        assert {r.sentiment.label for r in results} == {"positive", "negative", "neutral"}
    call_command("seed_demo", users=0, projects=2, results=30, stdout=StringIO())
    assert (Project.objects.count(), Result.objects.count()) == (4, 120)
