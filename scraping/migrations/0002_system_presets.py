"""System presets: starter, standard, advanced, budget, enterprise.

Reference data every environment needs, so it is written here and nowhere else. Each preset
is a scraping configuration: how many pages a run may fetch, how often a project's schedule
runs, fetch concurrency and per-domain rate, the timeout, robots.txt and sentiment analysis.
Re-running updates the presets to these values; user presets are never touched.
"""

from django.db import migrations

from requestdesk.db.migrations import SeedRows


def preset(name, description, **config):
    base = {"respect_robots_txt": True, "sentiment": "vader", "timeout_seconds": 20, "max_retries": 3}
    return {"name": name, "description": description, "is_system": True, "company": None, "user": None,
            "config": {**base, **config}}


SYSTEM_PRESETS = [
    preset("starter", "Try it out: a few pages once a day.", max_pages=10, schedule_interval_seconds=86400,
           concurrency=1, rate_limit_per_minute=10),
    preset("standard", "Everyday monitoring: hourly, moderate volume.", max_pages=100,
           schedule_interval_seconds=3600, concurrency=2, rate_limit_per_minute=30),
    preset("advanced", "Close monitoring: every 15 minutes, more pages.", max_pages=500,
           schedule_interval_seconds=900, concurrency=4, rate_limit_per_minute=60),
    preset("budget", "Lowest cost: weekly, small volume, no retries.", max_pages=25,
           schedule_interval_seconds=604800, concurrency=1, rate_limit_per_minute=6, max_retries=0),
    preset("enterprise", "High volume: every 5 minutes, many pages in parallel.", max_pages=5000,
           schedule_interval_seconds=300, concurrency=8, rate_limit_per_minute=120, timeout_seconds=30),
]


class Migration(migrations.Migration):
    dependencies = [("scraping", "0001_initial")]

    operations = [SeedRows("scraping.Preset", SYSTEM_PRESETS, key=("name", "is_system"))]
