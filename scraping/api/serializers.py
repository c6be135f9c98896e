"""Serializers of the scraping API (on the project's MongoModelSerializer). Writes go
through scraping.services.projects; every id given must be visible to the caller's company."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Schedule
from requestdesk import outbound
from requestdesk.api.serializers import MongoModelSerializer, RelatedField, embedded_serializer
from tenants.scoping import resolve_tenant

from ..models import SELECTOR_FIELDS, Preset, Project, Result, ScrapeConfig, ScrapeJob, Target
from ..services import extraction, llm_sentiment, projects


def _company(serializer):
    return resolve_tenant(serializer.context["request"]).company


@extend_schema_field(OpenApiTypes.OBJECT)
class ConfigField(serializers.Field):
    """Scrape options as an object, checked option by option against ScrapeConfig. Given
    `complete`, missing options take their defaults (a preset); otherwise only the options
    given are returned (overrides of a project's preset)."""

    default_error_messages = {"not_object": "Expected an object of scrape options."}

    def __init__(self, *, complete: bool = False, **kwargs):
        self.complete = complete
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        unknown = sorted(set(data) - set(projects.CONFIG_FIELDS))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown option(s): {', '.join(unknown)}. Known options: {', '.join(projects.CONFIG_FIELDS)}."
            )
        options = embedded_serializer(ScrapeConfig)(data=data, partial=not self.complete)
        if not options.is_valid():
            raise serializers.ValidationError(options.errors)
        given = dict(options.validated_data)
        return projects.config_dict(projects.make_config(given)) if self.complete else given

    def to_representation(self, value):
        return projects.config_dict(value) if isinstance(value, ScrapeConfig) else dict(value or {})


@extend_schema_field({"type": "string", "nullable": True})
class PresetField(serializers.Field):
    """A preset given by id or name (system presets and the company's own); shown as its id,
    or null once the project's own preset was deleted (the project keeps its configuration)."""

    default_error_messages = {"unknown": "Unknown preset “{value}”. Choose one of: {choices}."}

    def get_attribute(self, instance):
        return instance.preset_id

    def to_representation(self, value):
        return str(value)

    def to_internal_value(self, data):
        company = _company(self.parent)
        preset = projects.find_preset(company=company, value=str(data))
        if preset is None:
            names = sorted(set(Preset.objects.visible_to(company).values_list("name", flat=True)))
            self.fail("unknown", value=data, choices=", ".join(names))
        return preset


class PresetSerializer(MongoModelSerializer):
    config = ConfigField(
        required=False,
        help_text="Scrape options; those not given take their defaults (on create) or keep their values (on change).",
    )

    class Meta:
        model = Preset
        fields = ["id", "name", "description", "config", "is_system", "user", "company", "created_at", "updated_at"]
        read_only_fields = ["is_system", "user", "created_at", "updated_at"]

    def validate_name(self, value):
        if Preset.objects.filter(is_system=True, name=value).exists():
            raise serializers.ValidationError(f"“{value}” is the name of a system preset; choose another name.")
        mine = Preset.objects.filter(user=self.context["request"].user, name=value)
        if self.instance is not None:
            mine = mine.exclude(pk=self.instance.pk)
        if mine.exists():
            raise serializers.ValidationError(f"You already have a preset named “{value}”.")
        return value

    def create(self, validated_data):
        return projects.create_preset(company=validated_data.pop("company"), **validated_data)

    def update(self, instance, validated_data):
        return projects.update_preset(preset=instance, **validated_data)


class ProjectSerializer(MongoModelSerializer):
    preset = PresetField(
        required=False,
        help_text="A preset id or name (default “standard”); choosing one "
        "resets the configuration to the preset's, plus `config`.",
    )
    config = ConfigField(required=False, help_text="Options overriding the preset's.")
    schedule_enabled = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Turn the project's schedule on or off (every config.schedule_interval_seconds).",
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "status",
            "preset",
            "config",
            "schedule_enabled",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate(self, attrs):
        """A sentiment engine set to "llm" (by `config` or by the preset's) needs a usable LLM
        provider in the company (scraping.services.llm_sentiment)."""
        attrs = super().validate(attrs)
        if "config" not in attrs and "preset" not in attrs:
            return attrs
        instance = self.instance
        company = instance.company_id if instance is not None else _company(self)
        if "preset" in attrs:
            base = attrs["preset"].config
        elif instance is not None:
            base = projects.config_dict(instance.config)
        else:
            default = projects.find_preset(company=company, value=projects.DEFAULT_PRESET)
            base = default.config if default else {}
        sentiment = projects.make_config(base, attrs.get("config") or {}).sentiment
        problem = llm_sentiment.setting_problem(company, sentiment, instance.config.sentiment if instance else None)
        if problem:
            field = "config" if "sentiment" in (attrs.get("config") or {}) else "preset"
            raise serializers.ValidationError({field: {"sentiment": [problem]} if field == "config" else [problem]})
        return attrs

    def create(self, validated_data):
        return projects.create_project(**validated_data)

    def update(self, instance, validated_data):
        enabled = validated_data.pop("schedule_enabled", None)
        project = projects.update_project(project=instance, **validated_data)
        if enabled is not None:
            projects.set_schedule(project=project, enabled=enabled)
        return project


class TargetSerializer(MongoModelSerializer):
    running = serializers.SerializerMethodField(help_text="A job is scraping this target right now.")

    class Meta:
        model = Target
        fields = [
            "id",
            "project",
            "url",
            "platform",
            "status",
            "options",
            "etag",
            "last_modified",
            "last_fetched_at",
            "last_outcome",
            "last_status_code",
            "last_error",
            "running",
            "company",
            "created_at",
            "updated_at",
        ]
        validators = []  # (project, url) is checked in validate(), with a message on the url

    def get_running(self, target) -> bool:
        return bool(target.lease_job and target.lease_until and target.lease_until > timezone.now())

    def validate_url(self, value):
        return outbound.validate_url(value)

    def validate_options(self, options):
        errors = {}
        for name in SELECTOR_FIELDS:
            try:
                if getattr(options, name):
                    extraction.check_selector(getattr(options, name))
            except ValueError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        return options

    def validate(self, attrs):
        current = self.instance

        def value(name, default=None):
            return attrs[name] if name in attrs else getattr(current, name, default)

        if current is not None and "project" in attrs and attrs["project"].pk != current.project_id:
            raise serializers.ValidationError({"project": ["A target cannot move to another project."]})
        problem = projects.platform_problem(value("platform"), value("options"))
        if problem:
            raise serializers.ValidationError({"options": [problem]})
        same = Target.objects.filter(project=value("project"), url=value("url"))
        if current is not None:
            same = same.exclude(pk=current.pk)
        if same.exists():
            raise serializers.ValidationError({"url": ["This project already has a target with this URL."]})
        return attrs

    def create(self, validated_data):
        validated_data.pop("company", None)
        return projects.create_target(**validated_data)

    def update(self, instance, validated_data):
        return projects.update_target(target=instance, **validated_data)


class ScrapeJobSerializer(MongoModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="Share of targets handled, 0 to 1.")

    class Meta:
        model = ScrapeJob
        fields = [
            "id",
            "project",
            "target",
            "status",
            "trigger",
            "progress",
            *ScrapeJob.COUNTERS,
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
            "errors",
            "created_by",
            "company",
            "created_at",
        ]
        read_only_fields = fields


class ResultSerializer(MongoModelSerializer):
    class Meta:
        model = Result
        fields = [
            "id",
            "project",
            "target",
            "job",
            "platform",
            "content",
            "analysis",
            "published_at",
            "content_hash",
            "company",
            "created_at",
            "changed_at",
            "change_count",
        ]
        read_only_fields = fields


class SearchResultSerializer(ResultSerializer):
    score = serializers.IntegerField(read_only=True, help_text="10 per query word in the title, 5 in the text.")

    class Meta(ResultSerializer.Meta):
        fields = ["score", *ResultSerializer.Meta.fields]
        read_only_fields = fields


@extend_schema_field({"type": "string", "pattern": "^[0-9a-f]{24}$"})
class ScheduleProjectField(RelatedField):
    """The project a scraping schedule runs (its `subject_id`)."""

    def get_attribute(self, instance):
        return instance.subject_id

    def to_representation(self, value):
        return str(value)


class ScrapeScheduleSerializer(MongoModelSerializer):
    project = ScheduleProjectField(queryset=Project.objects.all())

    class Meta:
        model = Schedule
        fields = [
            "id",
            "project",
            "name",
            "interval_seconds",
            "enabled",
            "next_run",
            "last_run_at",
            "run_count",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["name", "next_run", "last_run_at", "run_count", "created_at", "updated_at"]
        extra_kwargs = {"interval_seconds": {"min_value": 60, "max_value": 31 * 86400, "required": False}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None or "project" in self.context:
            fields["project"].read_only = True
        return fields

    def validate_project(self, project):
        if projects.schedule_of(project) is not None:
            raise serializers.ValidationError("This project already has a schedule; change that one.")
        return project

    def create(self, validated_data):
        project = validated_data.get("project") or self.context["project"]
        schedule, _ = projects.set_schedule(
            project=project,
            enabled=validated_data.get("enabled", True),
            interval_seconds=validated_data.get("interval_seconds"),
        )
        return schedule

    def update(self, instance, validated_data):
        project = Project.objects.get(pk=instance.subject_id)
        schedule, _ = projects.set_schedule(
            project=project,
            enabled=validated_data.get("enabled"),
            interval_seconds=validated_data.get("interval_seconds"),
        )
        return schedule
