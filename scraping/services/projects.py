"""Projects, targets, presets and schedules: the writes behind the API and the admin.

A project's configuration starts from its preset (default: the system preset "standard")
and any option given with it overrides the preset's value; choosing another preset later
starts again from that preset. A project's schedule is the generic `tenants.Schedule`
document with task `scraping.tasks.run_project` and subject_id = the project's id (unique
per (task, subject_id), so one per project); its interval is kept in the project's
configuration too, so a schedule created later starts from it.
"""

from __future__ import annotations

from bson import ObjectId

from events.models import Schedule
from events.services import scheduling
from requestdesk import outbound

from ..models import RUN_PROJECT_TASK, Preset, Project, ScrapeConfig, Target

DEFAULT_PRESET = "standard"
CONFIG_FIELDS = tuple(f.name for f in ScrapeConfig._meta.concrete_fields if not f.primary_key)
FETCH_FIELDS = ("url", "platform", "options")  # a change makes the next fetch unconditional


def config_dict(config: ScrapeConfig) -> dict:
    return {name: getattr(config, name) for name in CONFIG_FIELDS}


def make_config(*layers: dict) -> ScrapeConfig:
    """A ScrapeConfig from dicts of options, later ones winning; unknown keys are ignored."""
    merged: dict = {}
    for layer in layers:
        merged.update({key: value for key, value in (layer or {}).items() if key in CONFIG_FIELDS})
    return ScrapeConfig(**merged)


# --- presets ------------------------------------------------------------------------------------


def find_preset(*, company, value: str) -> Preset | None:
    """A preset the company may use, by id or by name (a system preset first, then the oldest)."""
    visible = Preset.objects.visible_to(company)
    if ObjectId.is_valid(str(value)):
        return visible.filter(pk=ObjectId(str(value))).first()
    return visible.filter(name=value).order_by("-is_system", "created_at").first()


def create_preset(*, company, user, name: str, description: str = "", config: dict | None = None) -> Preset:
    return Preset.objects.create(
        company=company,
        user=user,
        name=name,
        description=description,
        is_system=False,
        config=config_dict(make_config(config or {})),
    )


def update_preset(*, preset: Preset, config: dict | None = None, **fields) -> Preset:
    """Change a user preset; options given in `config` are merged into its configuration."""
    if config:
        preset.config = config_dict(make_config(preset.config, config))
    for name, value in fields.items():
        setattr(preset, name, value)
    preset.save()
    return preset


# --- projects -----------------------------------------------------------------------------------


def create_project(
    *,
    company,
    name: str,
    description: str = "",
    status: str = Project.ACTIVE,
    preset: Preset | None = None,
    config: dict | None = None,
    created_by=None,
    schedule_enabled: bool = False,
) -> Project:
    preset = preset or find_preset(company=company, value=DEFAULT_PRESET)
    project = Project.objects.create(
        company=company,
        name=name,
        description=description,
        status=status,
        preset=preset,
        created_by=created_by,
        config=make_config(preset.config if preset else {}, config or {}),
    )
    if schedule_enabled:
        set_schedule(project=project, enabled=True)
    return project


def update_project(*, project: Project, preset: Preset | None = None, config: dict | None = None, **fields) -> Project:
    interval = project.config.schedule_interval_seconds
    if preset is not None:
        project.preset = preset
        project.config = make_config(preset.config, config or {})
    elif config:
        project.config = make_config(config_dict(project.config), config)
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    schedule = schedule_of(project)
    if schedule is not None and project.config.schedule_interval_seconds != interval:
        set_schedule(project=project, interval_seconds=project.config.schedule_interval_seconds)
    return project


def remove_schedule_of_deleted_project(sender, instance: Project, **kwargs) -> None:
    """post_delete of a Project (the purge of a soft-deleted one, the admin's delete, or a
    company's cascade): its schedule goes too. Its targets, jobs and results go by the foreign
    keys' cascade. A soft-deleted project keeps its schedule, which runs nothing
    (jobs.run_project) until the project is restored or purged."""
    scheduling.remove_subject_schedule(instance.company_id, RUN_PROJECT_TASK, instance.pk)


# --- targets ------------------------------------------------------------------------------------


def create_target(
    *, project: Project, url: str, platform: str = Target.AUTO, status: str = Target.ACTIVE, options=None
) -> Target:
    outbound.check_url(url)
    fields = {"options": options} if options is not None else {}
    return Target.objects.create(
        company_id=project.company_id, project=project, url=url, platform=platform, status=status, **fields
    )


def platform_problem(platform: str, options) -> str | None:
    """What is wrong with a target's platform given its options (None: nothing): the admin's
    form and the API ask the same."""
    if platform == Target.CUSTOM and not (options and (options.item_selector or options.text_selector)):
        return "The custom platform needs an item_selector or a text_selector."
    return None


def update_target(*, target: Target, **changes) -> Target:
    if "url" in changes and changes["url"] != target.url:
        outbound.check_url(changes["url"])
    if any(name in changes for name in FETCH_FIELDS):
        target.etag, target.last_modified = "", ""
    for name, value in changes.items():
        setattr(target, name, value)
    target.save()
    return target


# --- schedules ----------------------------------------------------------------------------------


def schedule_of(project: Project) -> Schedule | None:
    return scheduling.subject_schedule(project.company_id, RUN_PROJECT_TASK, project.pk)


def set_schedule(
    *, project: Project, enabled: bool | None = None, interval_seconds: int | None = None
) -> tuple[Schedule, bool]:
    """Create or change the project's schedule (events.services.scheduling); returns
    (schedule, created). The interval is kept in the project's config too."""
    interval = interval_seconds or project.config.schedule_interval_seconds
    schedule, created = scheduling.set_subject_schedule(
        company_id=project.company_id,
        task=RUN_PROJECT_TASK,
        subject_id=project.pk,
        name=f"Scrape {project.name}",
        kwargs={"project_id": str(project.pk)},
        interval_seconds=interval,
        enabled=enabled,
    )
    if project.config.schedule_interval_seconds != interval:
        project.config.schedule_interval_seconds = interval
        project.save(update_fields=["config", "updated_at"])
    return schedule, created


def delete_schedule(*, schedule: Schedule) -> None:
    schedule.delete()
