"""Company plans and their quotas (`plan` and `settings` on the company).

A company's plan gives defaults for the four quota settings; a value in the company's
`settings` overrides its plan's (a superadmin grants one company more). `None` is "no limit
beyond the platform's" (CONTENT_MAX_BATCH_SIZE for batches); an empty `allowed_models` allows
every model. Other keys in `settings` are the company's own and are kept as they are.

Contexts created per company and UTC day are counted in one small counter document per
company-day (`CompanyDailyUsage`), moved by a single conditional `$inc`: a reservation is
O(1) however many contexts the company has, and two requests racing for the last units of
the quota cannot both get them (the counter's unique index turns the loser's upsert into a
duplicate key, read as "over the limit").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from django.conf import settings as django_settings
from pymongo.errors import DuplicateKeyError

from requestdesk.db.collections import collection
from tenants.models import Plan

if TYPE_CHECKING:
    from requestdesk.db.base import RewritingCollection
    from tenants.models import Company

# What each plan allows when the company's settings say nothing. Enterprise is the default
# plan, so companies made before plans existed keep the limits they had (the platform's).
PLAN_DEFAULTS: dict[Plan, dict[str, Any]] = {
    Plan.FREE: {"max_contexts_per_day": 100, "max_batch_size": 10, "allowed_models": []},
    Plan.STANDARD: {"max_contexts_per_day": 1000, "max_batch_size": 50, "allowed_models": []},
    Plan.PROFESSIONAL: {"max_contexts_per_day": 10_000, "max_batch_size": 200, "allowed_models": []},
    Plan.ENTERPRISE: {"max_contexts_per_day": None, "max_batch_size": None, "allowed_models": []},
}
QUOTA_KEYS = ("max_contexts_per_day", "max_batch_size", "allowed_models", "default_pipeline_id")


class QuotaExceeded(Exception):
    """The company's plan does not allow this many contexts today (an HTTP 429)."""


class NotAllowed(ValueError):
    """The request breaks the company's plan (a batch too large, a model not allowed): a 400
    with `messages` by field."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__(" ".join(m for field in messages.values() for m in field))
        self.messages = messages


@dataclass(frozen=True)
class Quotas:
    plan: str
    max_contexts_per_day: int | None
    max_batch_size: int | None
    allowed_models: tuple[str, ...]
    default_pipeline_id: str | None

    def batch_limit(self) -> int:
        platform: int = django_settings.CONTENT_MAX_BATCH_SIZE
        return platform if self.max_batch_size is None else min(platform, self.max_batch_size)

    def allows_model(self, model: str) -> bool:
        return not self.allowed_models or not model or model in self.allowed_models


def settings_errors(value: dict[str, Any]) -> list[str]:
    """What is wrong with the quota keys of a company's `settings` (other keys are free)."""
    errors = []
    for key in ("max_contexts_per_day", "max_batch_size"):
        number = value.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
            errors.append(f"{key}: a whole number of at least 1, or null for the plan's limit.")
    models_allowed = value.get("allowed_models")
    if models_allowed is not None and (
        not isinstance(models_allowed, list) or not all(isinstance(m, str) and m.strip() for m in models_allowed)
    ):
        errors.append("allowed_models: a list of model names ([] allows every model).")
    pipeline = value.get("default_pipeline_id")
    if pipeline is not None and not (isinstance(pipeline, str) and ObjectId.is_valid(pipeline)):
        errors.append("default_pipeline_id: a pipeline id, or null.")
    return errors


def quotas(company: Company) -> Quotas:
    """The company's quotas: its settings over its plan's defaults."""
    plan = company.plan or Plan.ENTERPRISE
    own = company.settings if isinstance(company.settings, dict) else {}
    valid = {k: own[k] for k in QUOTA_KEYS if k in own and not settings_errors({k: own[k]})}  # else the plan's
    merged: dict[str, Any] = {**PLAN_DEFAULTS[Plan(plan)], **valid}
    pipeline = merged.get("default_pipeline_id")
    return Quotas(
        plan=str(plan),
        max_contexts_per_day=merged["max_contexts_per_day"],
        max_batch_size=merged["max_batch_size"],
        allowed_models=tuple(merged["allowed_models"] or ()),
        default_pipeline_id=str(pipeline) if pipeline else None,
    )


def check_batch_size(quota: Quotas, count: int) -> None:
    limit = quota.batch_limit()
    if count > limit:
        raise NotAllowed(
            {
                "contexts": [
                    f"The {quota.plan} plan allows at most {limit} contexts per batch (max_batch_size); {count} given."
                ]
            }
        )


def check_models(quota: Quotas, models_used: dict[str, str]) -> None:
    """`models_used`: the model each part of the request would call, by field name."""
    refused = {
        field: [f"The model “{model}” is not in the company's allowed_models ({', '.join(quota.allowed_models)})."]
        for field, model in models_used.items()
        if not quota.allows_model(model)
    }
    if refused:
        raise NotAllowed(refused)


# --- the daily counter ---------------------------------------------------------------------


def _usage() -> RewritingCollection:
    from tenants.models import CompanyDailyUsage

    return collection(CompanyDailyUsage)


def today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()


def used_today(company: Company, *, now: datetime | None = None) -> int:
    found = _usage().find_one({"company_id": company.pk, "day": today(now)}, {"contexts": 1})
    if not found:
        return 0
    contexts: int = found["contexts"]
    return contexts


def reserve(company: Company, count: int, *, now: datetime | None = None) -> Quotas:
    """Count `count` more contexts of `company` today, or raise QuotaExceeded (nothing counted)."""
    quota = quotas(company)
    limit = quota.max_contexts_per_day
    key = {"company_id": company.pk, "day": today(now)}
    if limit is None:
        _usage().update_one(key, {"$inc": {"contexts": count}}, upsert=True)
        return quota
    try:
        if count <= limit:
            _usage().update_one(
                {**key, "contexts": {"$lte": limit - count}}, {"$inc": {"contexts": count}}, upsert=True
            )
            return quota
    except DuplicateKeyError:  # the day's counter exists and has no room left
        pass
    raise QuotaExceeded(
        f"The {quota.plan} plan allows {limit} contexts a day (max_contexts_per_day); "
        f"{used_today(company, now=now)} were created today, {count} more asked."
    )


def release(company: Company, count: int, *, now: datetime | None = None) -> None:
    """Give back a reservation whose contexts were not stored (the queue was down)."""
    _usage().update_one({"company_id": company.pk, "day": today(now)}, {"$inc": {"contexts": -count}})
