"""One valid company-A object per model, for the tenant isolation sweep
(tests/requestdesk/test_isolation_sweep.py).

`FACTORIES` maps a model to a builder taking an `Owner`; builders reuse the builders of the
per-app tests (tests/support/content.py, knowledge.py, scraping.py)
and the services. Every object carries a unique marker ("sweep-zq…") in a field its API and
admin show and search, so a leak is found by text as well as by id. The sweep fails for a
routed or registered model without a builder here: add one when you add an endpoint.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.utils import timezone

from content.models import Batch, Campaign, Component, Context, Pipeline, Template, Ticket
from content.services import batches
from events import catalogue
from events.models import AuditLog, Notification, Schedule, Webhook, WebhookDelivery
from events.services import audit, notifications, webhooks
from knowledge.models import Agent, Conversation, KnowledgeChunk, KnowledgeCollection, LLMProvider, Message, SyncHistory
from knowledge.services import ingest as knowledge_ingest
from knowledge.services import sync
from monitoring.models import Alert, AlertKind, AlertRule
from monitoring.services import alerts
from plugins.task_manager.models import Task
from scraping.models import Preset, Project, Result, ScrapeJob, SearchIndex, Target
from scraping.services import ingest as scraping_ingest
from scraping.services import jobs, projects
from scraping.services.extraction import Item
from tenants import services
from tenants.models import ApiKey, Company, Invitation, RefreshToken, User, UserSettings
from tenants.roles import Role
from tenants.services import invitations
from tests.support.content import article_setup
from tests.support.knowledge import make_agent, make_collection, make_provider
from tests.support.scraping import make_project, make_target

FACTORIES: dict[type, Callable[[Owner], object]] = {}


class MissingFactory(LookupError):
    pass


def builds(model):
    def register(builder):
        FACTORIES[model] = builder
        return builder

    return register


class Owner:
    """Company A of the `world` fixture and the objects built for it, one per model."""

    def __init__(self, world, *, fake_url: str):
        self.company = world.a
        self.admin = world.user("a", "company_admin")
        self.writer = world.user("a", "content_writer")
        self.client_user = world.user("a", "client")
        self.fake_url = fake_url
        self.objects: dict[type, object] = {}
        self.markers: dict[type, str] = {}
        self.terms: dict[type, str] = {}  # what admin/API search is given to find a model's object
        self.extra: dict[str, object] = {}

    def marker(self, model) -> str:
        return self.markers.setdefault(model, "zq" + secrets.token_hex(6))

    def text(self, model) -> str:
        """The text stored in the object; searching `term(model)` finds it, echoing the query never shows it."""
        return f"sweep-{self.marker(model)}"

    def term(self, model) -> str:
        return self.terms.get(model) or self.marker(model)

    def get(self, model):
        if model not in self.objects:
            builder = FACTORIES.get(model)
            if builder is None:
                raise MissingFactory(
                    f"no isolation-sweep factory for {model._meta.label}; add one to tests/support/isolation_factories.py"
                )
            self.objects[model] = builder(self)
        return self.objects[model]

    def build_all(self, models):
        missing = []
        for model in models:
            try:
                self.get(model)
            except MissingFactory:
                missing.append(model._meta.label)
        return missing


def _renamed(obj, **fields):
    type(obj)._base_manager.filter(pk=obj.pk).update(**fields)
    obj.refresh_from_db()
    return obj


# --- tenants ------------------------------------------------------------------------------------------


@builds(Company)
def _company(o):
    return _renamed(o.company, name=o.text(Company), domain=f"{o.text(Company)}.example")


@builds(User)
def _user(o):
    text = o.text(User)
    return User.objects.create_user(
        username=text,
        email=f"{text}@example.com",
        password="x-Sweep-password-1",
        role=Role.CONTENT_WRITER,
        company=o.company,
        first_name=text,
    )


@builds(UserSettings)
def _user_settings(o):
    settings = services.settings_for(o.get(User))
    settings.plugin_settings = {"note": o.text(UserSettings)}
    settings.save()
    o.terms[UserSettings] = o.term(User)  # the admin searches settings by user__username
    return settings


@builds(ApiKey)
def _api_key(o):
    key, _ = services.create_api_key(user=o.admin, company=o.company, name=o.text(ApiKey))
    return key


@builds(Invitation)
def _invitation(o):
    # Mailed through the tests' in-memory email backend.
    return invitations.invite(
        company=o.company, email=f"{o.text(Invitation)}@example.com", role=Role.CLIENT, invited_by=o.admin
    )


@builds(RefreshToken)
def _refresh_token(o):
    user = o.get(User)
    services.issue_tokens(user)
    o.terms[RefreshToken] = o.term(User)
    return RefreshToken.objects.get(user=user)


@builds(Webhook)
def _webhook(o):
    return webhooks.create_webhook(
        company=o.company,
        name=o.text(Webhook),
        url=f"http://127.0.0.1:9/{o.text(Webhook)}",
        events=[catalogue.ALL_EVENTS],
    )


@builds(WebhookDelivery)
def _delivery(o):
    o.get(Webhook)
    [delivery] = webhooks.emit_event(
        company=o.company,
        event_type="scrape.completed",  # a catalogue name
        data={"note": o.text(WebhookDelivery)},
    )
    o.terms[WebhookDelivery] = delivery.event_id  # the admin searches deliveries by event type and id
    return delivery


@builds(AuditLog)
def _audit_log(o):
    return audit.record(company=o.company, actor=o.admin, source="api", event_type=o.text(AuditLog))


@builds(Notification)
def _notification(o):
    return notifications.notify(user=o.admin, type="sweep", title=o.text(Notification))


# --- content ------------------------------------------------------------------------------------------


def _setup(o):
    if "article" not in o.extra:
        o.extra["article"] = article_setup(o.company)
    return o.extra["article"]


@builds(Ticket)
def _ticket(o):
    return Ticket.objects.create(
        company=o.company,
        title=o.text(Ticket),
        description=o.text(Ticket),
        created_by=o.client_user,
        assigned_to=o.writer,
    )


@builds(Campaign)
def _campaign(o):
    return Campaign.objects.create(company=o.company, name=o.text(Campaign), description=o.text(Campaign))


@builds(Template)
def _template(o):
    return _renamed(_setup(o).template, name=o.text(Template))


@builds(Component)
def _component(o):
    return _renamed(_setup(o).components["template"], name=o.text(Component))


@builds(Pipeline)
def _pipeline(o):
    return _renamed(_setup(o).pipeline, name=o.text(Pipeline))


@builds(Batch)
def _batch(o):
    return batches.create_batch(
        pipeline=o.get(Pipeline), items=[{"data": {"title": o.text(Context)}}], name=o.text(Batch), user=o.client_user
    )


@builds(Context)
def _context(o):
    return Context.objects.get(pk=o.get(Batch).context_ids[0])


# --- knowledge ----------------------------------------------------------------------------------------


@builds(LLMProvider)
def _provider(o):
    return make_provider(o.company, url=o.fake_url, name=o.text(LLMProvider))


@builds(KnowledgeCollection)
def _collection(o):
    collection = make_collection(
        o.company,
        provider=o.get(LLMProvider),
        name=o.text(KnowledgeCollection),
        description=o.text(KnowledgeCollection),
    )
    chunk = o.text(KnowledgeChunk)
    knowledge_ingest.ingest_items(
        collection=collection,
        source_type="manual",
        full=False,
        items=[
            knowledge_ingest.text_item(
                title=chunk, text=f"{chunk} {o.text(KnowledgeCollection)} private pricing sheet.", source_id=chunk
            )
        ],
    )
    return collection


@builds(KnowledgeChunk)
def _chunk(o):
    return KnowledgeChunk.objects.get(collection=o.get(KnowledgeCollection))


@builds(Agent)
def _agent(o):
    return make_agent(
        o.company,
        provider=o.get(LLMProvider),
        collections=[o.get(KnowledgeCollection)],
        name=o.text(Agent),
        description=o.text(Agent),
    )


@builds(SyncHistory)
def _sync_history(o):
    provider = o.get(LLMProvider)
    shop = make_agent(o.company, url=o.fake_url, provider=provider, name=f"{o.text(SyncHistory)} shop")
    blog = make_collection(
        o.company, source_type="wordpress", provider=provider, agent=shop, name=f"{o.text(SyncHistory)} blog"
    )
    sync.set_schedule(collection=blog, interval_seconds=3600)
    return _renamed(sync.new_history(collection=blog, trigger="api"), error_message=o.text(SyncHistory))


@builds(Conversation)
def _conversation(o):
    return Conversation.objects.create(
        company=o.company,
        agent=o.get(Agent),
        user=o.client_user,
        started_at=timezone.now(),
        contact_id=o.text(Conversation),
        tags=[o.text(Conversation)],
    )


@builds(Message)
def _message(o):
    return Message.objects.create(
        company=o.company, conversation=o.get(Conversation), sender_type="user", role="user", content=o.text(Message)
    )


# --- scraping -----------------------------------------------------------------------------------------


@builds(Preset)
def _preset(o):
    return projects.create_preset(company=o.company, user=o.writer, name=o.text(Preset), description=o.text(Preset))


@builds(Project)
def _project(o):
    return _renamed(make_project(o.company, name=o.text(Project)), description=o.text(Project))


@builds(Target)
def _target(o):
    return make_target(o.get(Project), f"http://127.0.0.1:9/{o.text(Target)}")


@builds(Schedule)
def _schedule(o):
    schedule, _ = projects.set_schedule(project=o.get(Project), enabled=True)
    return _renamed(schedule, name=o.text(Schedule))


@builds(ScrapeJob)
def _job(o):
    return jobs.create_job(project=o.get(Project), target=o.get(Target), created_by=o.writer)


@builds(Result)
def _result(o):
    target, text = o.get(Target), o.text(Result)
    scraping_ingest.ingest(
        target=target,
        platform="article",
        job=o.get(ScrapeJob),
        items=[Item(title=text, text=f"{text} the kettle boils fast.", author="Ann", url=f"http://127.0.0.1:9/{text}")],
    )
    return Result.objects.get(target=target)


@builds(SearchIndex)
def _search_index(o):
    o.get(Result)  # its ingest writes the company's index state
    return SearchIndex.objects.get(company=o.company)


# --- monitoring ---------------------------------------------------------------------------------------


@builds(AlertRule)
def _alert_rule(o):
    return AlertRule.objects.create(
        company=o.company,
        project=o.get(Project),
        name=o.text(AlertRule),
        kind=AlertKind.WATCHED_WORD,
        word=f"{o.text(AlertRule)} kettle boils",
        open_ticket=True,
        ticket_assignee=o.writer,
    )


@builds(Alert)
def _alert(o):
    o.get(Result)  # "… the kettle boils fast.", published now
    rule = AlertRule.objects.create(
        company=o.company, project=o.get(Project), name=o.text(Alert), kind=AlertKind.WATCHED_WORD, word="kettle boils"
    )
    alert = alerts.evaluate(rule)
    assert alert is not None, "the sweep's watched-word rule did not fire"
    return _renamed(alert, title=o.text(Alert))


# --- plugins ------------------------------------------------------------------------------------------


@builds(Task)
def _task(o):
    text = o.text(Task)  # owned by A's company admin: the sweep's owner controls sign in as them
    return Task.objects.create(company=o.company, user=o.admin, title=text, description=text, tags=["sweep"])
