"""Validation in the database. Migration tenants 0010 puts a `$jsonSchema`
validator on `users` (required fields, the role and status values) with collMod; a write that
bypasses the application and breaks it is refused by the server (WriteError 121), while the
API refuses the same values with a 400. The embedded SecantusDB validates; the migration
detects a server that does not and skips the step with a log line."""

import uuid

import pytest
from bson import ObjectId
from pymongo.errors import WriteError

from requestdesk.db.collections import collection
from tenants.models import User
from tenants.roles import Role

DOCUMENT_FAILED_VALIDATION = 121


def _valid_document(**changes) -> dict:
    name = f"raw-{uuid.uuid4().hex[:8]}"
    document = {
        "_id": ObjectId(),
        "username": name,
        "email": f"{name}@example.com",
        "password": "!",
        "role": Role.CLIENT,
        "status": "active",
        "is_active": True,
        "company_id": None,
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not ...}


def _validator(db) -> dict:
    found = db.command("listCollections", filter={"name": "users"})["cursor"]["firstBatch"]
    return found[0].get("options", {})


@pytest.mark.django_db
def test_the_validator_names_the_roles_and_statuses_the_model_has():
    """The rules in the database match the code: a new role or status needs a migration."""
    options = _validator(collection(User).database)
    schema = options["validator"]["$jsonSchema"]
    assert options["validationAction"] == "error"
    assert set(schema["required"]) >= {"username", "email", "password", "role"}
    assert sorted(schema["properties"]["role"]["enum"]) == sorted(Role.values)
    assert sorted(schema["properties"]["status"]["enum"]) == sorted(User.Status.values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"username": ...},
        {"role": "pirate"},
        {"role": ...},
        {"email": ...},
        {"status": "asleep"},
        {"is_active": "yes"},
    ],
    ids=["no-username", "role-pirate", "no-role", "no-email", "status-asleep", "is_active-string"],
)
def test_a_raw_insert_that_breaks_the_rules_is_refused(changes):
    users = collection(User)
    document = _valid_document(**changes)
    with pytest.raises(WriteError) as refused:
        users.insert_one(document)
    assert refused.value.code == DOCUMENT_FAILED_VALIDATION
    assert users.find_one({"_id": document["_id"]}) is None


@pytest.mark.django_db
def test_a_raw_update_that_breaks_the_rules_is_refused(make_company, make_user):
    user = make_user(make_company("Valid"), role=Role.CONTENT_WRITER)
    with pytest.raises(WriteError) as refused:
        collection(User).update_one({"_id": user.pk}, {"$set": {"role": "pirate"}})
    assert refused.value.code == DOCUMENT_FAILED_VALIDATION
    assert User.objects.get(pk=user.pk).role == Role.CONTENT_WRITER


@pytest.mark.django_db
def test_valid_documents_and_orm_writes_pass():
    users = collection(User)
    document = _valid_document()
    users.insert_one(document)
    assert users.find_one({"_id": document["_id"]})["username"] == document["username"]
    created = User.objects.create_user("orm-user", "orm@example.com", "x-Long-password-1")
    created.status = User.Status.BUSY
    created.save()
    assert users.find_one({"_id": created.pk})["status"] == "busy"


def test_the_api_refuses_a_role_that_does_not_exist_with_a_400(api, world):
    response = api.as_user(world.user("a", "superadmin")).post(
        "/api/v1/users/",
        {"username": "newcomer", "email": "newcomer@example.com", "password": "x-Long-password-1", "role": "pirate"},
        format="json",
    )
    assert response.status_code == 400
    assert "not a valid choice" in str(response.json()["role"])
    assert not User.objects.filter(username="newcomer").exists()


# --- the migration ----------------------------------------------------------------------------


def test_migration_sets_the_validator_keeps_old_documents_and_reverses(fresh_db):
    """At 0009 the server takes anything; `migrate` sets the rules (moderate: a document
    written before them stays, and can still be updated), and migrating back lifts them."""
    db = fresh_db.db
    fresh_db.migrate("tenants", "0009")
    legacy = _valid_document(role="pirate")
    db.users.insert_one(legacy)

    fresh_db.migrate("tenants", "0010")
    assert "$jsonSchema" in _validator(db)["validator"]
    assert db.users.find_one({"_id": legacy["_id"]})["status"] == "active"  # the new field's default
    db.users.update_one({"_id": legacy["_id"]}, {"$set": {"first_name": "Old"}})  # moderate: allowed
    with pytest.raises(WriteError):
        db.users.insert_one(_valid_document(role="pirate"))

    fresh_db.migrate("tenants", "0009")
    assert not _validator(db).get("validator")
    db.users.insert_one(_valid_document(role="pirate"))
