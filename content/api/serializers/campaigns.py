"""Campaigns: their status workflow and dates."""

from __future__ import annotations

from rest_framework import serializers

from requestdesk.api.serializers import MongoModelSerializer

from ...models import CAMPAIGN_FLOW, Campaign
from ...services import campaigns
from .base import checked_status


class CampaignSerializer(MongoModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "start_date",
            "end_date",
            "agent",
            "settings",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_status(self, value):
        if self.instance is None:
            return value
        return checked_status(CAMPAIGN_FLOW, self.instance.status, value)

    def validate_settings(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        try:
            campaigns.check_dates(start, end)
        except campaigns.InvalidDates as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        return attrs

    def update(self, instance, validated_data):
        return campaigns.update_campaign(campaign=instance, **validated_data)
