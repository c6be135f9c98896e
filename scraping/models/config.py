"""The embedded configuration documents: how a project (or a preset) scrapes, and how a
target's pages are read."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_mongodb_backend.models import EmbeddedModel


def _range(low, high):
    return [MinValueValidator(low), MaxValueValidator(high)]


class ScrapeConfig(EmbeddedModel):
    """How a project scrapes. A preset's `config` holds the same keys; a project starts
    from its preset's values and may override any of them."""

    SENTIMENT_CHOICES = [("vader", "VADER"), ("llm", "The company's LLM provider"), ("none", "None")]

    max_pages = models.PositiveIntegerField(
        default=100, validators=_range(1, 10000), help_text="Targets fetched per run, at most."
    )
    concurrency = models.PositiveSmallIntegerField(
        default=2, validators=_range(1, 16), help_text="Pages fetched in parallel within a run."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=30, validators=_range(1, 6000), help_text="Requests per minute to one domain."
    )
    timeout_seconds = models.FloatField(default=20, validators=_range(0.1, 120))
    max_retries = models.PositiveSmallIntegerField(
        default=3, validators=_range(0, 10), help_text="Retries after 429, 5xx and network errors."
    )
    respect_robots_txt = models.BooleanField(default=True)
    sentiment = models.CharField(max_length=10, choices=SENTIMENT_CHOICES, default="vader")
    schedule_interval_seconds = models.PositiveIntegerField(
        default=86400, validators=_range(60, 31 * 86400), help_text="Interval of the project's schedule."
    )


def default_config():
    return ScrapeConfig()


class TargetOptions(EmbeddedModel):
    """Per-target extraction options. The CSS selectors drive the `custom` platform: each
    element matching `item_selector` is one result (the whole page when empty)."""

    item_selector = models.CharField(max_length=300, blank=True)
    title_selector = models.CharField(max_length=300, blank=True)
    text_selector = models.CharField(max_length=300, blank=True)
    author_selector = models.CharField(max_length=300, blank=True)
    date_selector = models.CharField(max_length=300, blank=True)
    link_selector = models.CharField(max_length=300, blank=True)
    max_items = models.PositiveIntegerField(
        default=200, validators=_range(1, 5000), help_text="Results taken from one page, at most."
    )
    follow_links = models.BooleanField(
        default=False,
        help_text="Feeds: fetch each entry's link and keep the article's main text "
        "when it is longer than what the feed carries.",
    )

    def selectors(self) -> dict:
        return {name: getattr(self, name) for name in SELECTOR_FIELDS if getattr(self, name)}


SELECTOR_FIELDS = (
    "item_selector",
    "title_selector",
    "text_selector",
    "author_selector",
    "date_selector",
    "link_selector",
)


def default_options():
    return TargetOptions()
