"""Campaigns: status changes go through CAMPAIGN_FLOW; the end date is not before the start."""

from __future__ import annotations

from ..models import CAMPAIGN_FLOW, Campaign


class InvalidDates(ValueError):
    field = "end_date"


def check_dates(start, end) -> None:
    if start and end and end < start:
        raise InvalidDates("The end date is before the start date.")


def update_campaign(*, campaign: Campaign, **changes) -> Campaign:
    if "status" in changes:
        CAMPAIGN_FLOW.check(campaign.status, changes["status"])
    check_dates(changes.get("start_date", campaign.start_date), changes.get("end_date", campaign.end_date))
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.save()
    return campaign
