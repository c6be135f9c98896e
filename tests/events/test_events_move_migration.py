"""The events models' move from the tenants app to the events app (tenants 0014, events 0001,
events 0002) changes only Django's state: on a seeded database taken back to the migrations
before the move, documents of every moved model written then are all read afterwards through
`events.models`, field by field, the collections keep their indexes, and the content types
keep their ids under the new label (so permissions and admin log entries follow them)."""

import json
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from requestdesk.crypto import encrypt
from tenants import seed as tenants_seed

MOVED = ["auditlog", "notification", "webhook", "webhookdelivery", "schedule"]
COLLECTIONS = ["audit_logs", "notifications", "webhooks", "webhook_deliveries", "schedules"]
# Recent: the collections' TTL indexes (deliveries 7 days, notifications 30) must not remove them.
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

# Run by `shell -c` on the migrated database: every row of every moved collection, read
# through the events models (deleted webhooks too), as JSON.
READ_BACK = """
import json
from django.contrib.contenttypes.models import ContentType
from events.models import AuditLog, Notification, Schedule, Webhook, WebhookDelivery
print(json.dumps({
    "app_labels": sorted({m._meta.app_label for m in (AuditLog, Notification, Schedule, Webhook, WebhookDelivery)}),
    "audit_logs": {str(a.pk): [a.event_type, a.object_repr, a.changes, str(a.actor_id), str(a.company_id)]
                   for a in AuditLog.objects.all()},
    "notifications": {str(n.pk): [n.title, n.read, str(n.user_id), n.metadata] for n in Notification.objects.all()},
    "webhooks": {str(w.pk): [w.name, w.url, w.events, w.secret, w.consecutive_failures]
                 for w in Webhook.all_objects.all()},
    "webhook_deliveries": {str(d.pk): [str(d.webhook_id), d.event_type, d.payload, d.status,
                                       [[a.status_code, a.latency_ms, a.error] for a in d.attempts]]
                           for d in WebhookDelivery.objects.all()},
    "schedules": {str(s.pk): [s.task, s.subject_id, s.kwargs, s.interval_seconds, s.run_count]
                  for s in Schedule.objects.all()},
    "webhook_type": ContentType.objects.get_for_model(Webhook).pk.__str__(),
}, default=str))
"""


def _rows(company, user, webhook_id):
    """One document of each moved model, written as the pre-move code stored them."""
    base = {"company_id": company, "created_at": AT, "updated_at": AT}
    return {
        "audit_logs": {
            **base,
            "actor_id": user,
            "actor_repr": "moved-actor",
            "source": "api",
            "event_type": "project.updated",
            "object_type": "project",
            "object_id": "p1",
            "object_repr": "Moved project",
            "changes": {"name": ["old", "new"]},
            "metadata": {"ip": "127.0.0.1"},
        },
        "notifications": {
            **base,
            "user_id": user,
            "type": "sync_failed",
            "title": "Moved notification",
            "message": "kept",
            "read": True,
            "read_at": AT,
            "metadata": {"collection_id": "c1"},
        },
        "webhooks": {
            **base,
            "_id": webhook_id,
            "name": "moved-hook",
            "url": "https://example.com/hook",
            "events": ["scrape.completed"],
            "secret": encrypt("whsec_moved"),
            "enabled": True,
            "consecutive_failures": 2,
            "disabled_reason": "",
            "last_success_at": None,
            "last_failure_at": AT,
            "created_by_id": user,
            "is_deleted": False,
            "deleted_at": None,
        },
        "webhook_deliveries": {
            **base,
            "webhook_id": webhook_id,
            "event_id": "e" * 32,
            "event_type": "scrape.completed",
            "payload": {"id": "e" * 32, "type": "scrape.completed", "data": {"job_id": "j1"}},
            "status": "retrying",
            "attempts": [{"at": AT, "status_code": 503, "latency_ms": 12.5, "error": "HTTP 503"}],
            "next_attempt_at": AT + timedelta(minutes=1),
            "completed_at": None,
        },
        "schedules": {
            **base,
            "name": "moved schedule",
            "task": "scraping.tasks.run_scheduled_project",
            "target_id": "moved-target",
            "kwargs": {"project_id": "moved-target"},
            "interval_seconds": 900,
            "enabled": True,
            "next_run": AT,
            "last_run_at": None,
            "run_count": 7,
        },
    }


def _content_types(db, label):
    return {ct["model"]: ct["_id"] for ct in db.django_content_type.find({"app_label": label, "model": {"$in": MOVED}})}


def test_the_move_keeps_every_document_index_and_content_type(migrated_db):
    db = migrated_db.db
    with migrated_db.using():  # seed_demo's rows of the moved models: its other apps' seeds write none
        tenants_seed.seed(users_per_company=0, progress=lambda *_: None)  # (and loading MiniLM took 13 s)
    # Back to the leaf nodes before the move (events 0002, 0001 and tenants 0014 unapplied).
    migrated_db.migrate("tenants", "0013_soft_delete")
    applied = {(m["app"], m["name"]) for m in db.django_migrations.find()}
    assert ("tenants", "0014_move_events_to_events_app") not in applied
    assert not any(app == "events" for app, _ in applied)
    before_types = _content_types(db, "tenants")
    assert set(before_types) == set(MOVED) and not _content_types(db, "events")
    permission = db.auth_permission.find_one({"content_type_id": before_types["webhook"]})
    assert permission, "the seeded database has permissions on the moved models"
    db.django_admin_log.insert_one(
        {"action_time": AT, "content_type_id": before_types["webhook"], "object_id": "x", "object_repr": "x"}
    )

    company, user = db.companies.find_one()["_id"], db.users.find_one({"company_id": {"$ne": None}})["_id"]
    mine = {}
    for collection, row in _rows(company, user, ObjectId()).items():
        mine[collection] = str(db[collection].insert_one(row).inserted_id)
    ids_before = {c: {str(doc["_id"]) for doc in db[c].find({}, {"_id": 1})} for c in COLLECTIONS}
    assert ids_before["notifications"] - {mine["notifications"]}, "seed_demo wrote notifications"
    indexes_before = {c: db[c].index_information() for c in COLLECTIONS}

    migrated_db.migrate("events", "0002_move_content_types")  # the move itself
    assert {c: db[c].index_information() for c in COLLECTIONS} == indexes_before
    migrated_db.migrate()  # and what came after it (schedules: target_id → subject_id)
    schedule_indexes = db.schedules.index_information()
    assert "schedule_task_target_uniq" not in schedule_indexes
    assert schedule_indexes["schedule_task_subject_uniq"]["key"] == [("task", 1), ("subject_id", 1)]
    assert db.schedules.find_one({"_id": ObjectId(mine["schedules"])})["subject_id"] == "moved-target"
    read = json.loads(migrated_db.call("shell", "--no-imports", "-c", READ_BACK))
    assert read["app_labels"] == ["events"]
    for collection in COLLECTIONS:
        assert set(read[collection]) == ids_before[collection], collection  # nothing lost, nothing added
    assert read["audit_logs"][mine["audit_logs"]] == [
        "project.updated",
        "Moved project",
        {"name": ["old", "new"]},
        str(user),
        str(company),
    ]
    assert read["notifications"][mine["notifications"]] == [
        "Moved notification",
        True,
        str(user),
        {"collection_id": "c1"},
    ]
    assert read["webhooks"][mine["webhooks"]] == [
        "moved-hook",
        "https://example.com/hook",
        ["scrape.completed"],
        "whsec_moved",
        2,
    ]
    delivery = read["webhook_deliveries"][mine["webhook_deliveries"]]
    assert delivery[0] == mine["webhooks"] and delivery[1:4] == [
        "scrape.completed",
        {"id": "e" * 32, "type": "scrape.completed", "data": {"job_id": "j1"}},
        "retrying",
    ]
    assert delivery[4] == [[503, 12.5, "HTTP 503"]]
    assert read["schedules"][mine["schedules"]] == [
        "scraping.tasks.run_scheduled_project",
        "moved-target",
        {"project_id": "moved-target"},
        900,
        7,
    ]

    # The content types moved with their ids: permissions and admin log entries follow.
    assert _content_types(db, "events") == before_types and not _content_types(db, "tenants")
    assert read["webhook_type"] == str(before_types["webhook"])
    assert db.auth_permission.find_one({"_id": permission["_id"]})["content_type_id"] == before_types["webhook"]
    assert db.django_admin_log.find_one({"object_id": "x"})["content_type_id"] == before_types["webhook"]
