"""Webhook signing secrets and users' plugin keys were stored in plain text,
and plugin keys were readable by content managers through `GET /api/v1/users/`. Now both are
encrypted at rest with the project's field encryption (requestdesk.crypto), write-only in the
API and masked in the admin; migration tenants 0009 encrypts the values stored before."""

import json

import pytest
from bson import ObjectId
from cryptography.fernet import Fernet

from events.models import Webhook
from events.services import webhooks
from requestdesk import crypto
from requestdesk.db.collections import collection
from tenants.models import User

PLUGIN_KEYS = {
    "wordpress": {"user": "editor", "key": "wp-app-password-0123456789"},
    "shopify": {"key": "shpat_0123456789abcdef"},
}


def _raw(model, pk) -> dict:
    return collection(model).find_one({"_id": pk})


def _assert_sealed(stored, plain: str) -> None:
    assert isinstance(stored, str) and plain not in stored
    assert crypto.decrypt(stored) == plain


# --- at rest ------------------------------------------------------------------------------------


def test_hole7_webhook_secret_encrypted_at_rest(api, world):
    """Before: the `webhooks` document held the secret itself. Now: only its ciphertext."""
    api.as_user(world.user("a", "company_admin"))
    created = api.post(
        "/api/v1/webhooks/", {"name": "crm", "url": "http://127.0.0.1:9/h", "events": ["*"]}, format="json"
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    hook = Webhook.objects.get(pk=created.json()["id"])
    _assert_sealed(_raw(Webhook, hook.pk)["secret"], secret)
    assert hook.secret == secret  # the model reads the plain value

    rotated = api.post(f"/api/v1/webhooks/{hook.pk}/rotate-secret/").json()["secret"]
    assert rotated != secret
    _assert_sealed(_raw(Webhook, hook.pk)["secret"], rotated)


def test_hole7_plugin_keys_encrypted_at_rest(api, world):
    """Before: `users.plugin_keys` was a plain object. Now: the ciphertext of its JSON."""
    target = world.user("a", "client")
    api.as_user(world.user("a", "company_admin"))
    response = api.patch(f"/api/v1/users/{target.pk}/", {"plugin_keys": PLUGIN_KEYS}, format="json")
    assert response.status_code == 200, response.content
    stored = _raw(User, target.pk)["plugin_keys"]
    assert isinstance(stored, str) and "wp-app-password" not in stored and "shpat_" not in stored
    assert json.loads(crypto.decrypt(stored)) == PLUGIN_KEYS
    assert User.objects.get(pk=target.pk).plugin_keys == PLUGIN_KEYS

    # Saving other fields writes the ciphertext back unread: it is not decrypted to save.
    user = User.objects.get(pk=target.pk)
    user.first_name = "Ada"
    user.save()
    assert _raw(User, target.pk)["plugin_keys"] == stored


def test_hole7_a_row_whose_secret_is_not_read_needs_no_key(api, world, settings):
    """Decryption happens when the secret is read: with a wrong key, lists still answer and
    only the sending of a delivery (which reads the secret) fails."""
    hook = webhooks.create_webhook(company=world.a, name="h", url="http://127.0.0.1:9/h", events=["*"])
    admin = world.user("a", "company_admin")
    admin.plugin_keys = PLUGIN_KEYS
    admin.save()
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    api.as_user(admin)
    assert api.get("/api/v1/webhooks/").status_code == 200
    assert api.get("/api/v1/users/").status_code == 200
    with pytest.raises(crypto.EncryptionKeyError, match="FIELD_ENCRYPTION_KEY"):
        _ = Webhook.objects.get(pk=hook.pk).secret


# --- the API: write-only ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["content_manager", "company_admin"])
def test_hole7_plugin_keys_are_write_only_in_the_api(api, world, role):
    """Before: a content manager read every user's plugin keys in `GET /api/v1/users/`."""
    owner = world.user("a", "content_writer")
    owner.plugin_keys = PLUGIN_KEYS
    owner.save()
    api.as_user(world.user("a", role))
    listed = api.get("/api/v1/users/")
    detail = api.get(f"/api/v1/users/{owner.pk}/")
    me = api.get("/api/v1/users/me/")
    for response in (listed, detail, me):
        assert response.status_code == 200
        assert "plugin_keys" not in response.content.decode() and "wp-app-password" not in response.content.decode()
    assert {"username", "role"} <= set(detail.json())


@pytest.mark.parametrize("value", ["a string", ["a", "list"], 5])
def test_hole7_plugin_keys_bad_input_is_a_400_and_keeps_the_stored_keys(api, world, value):
    owner = world.user("a", "client")
    owner.plugin_keys = PLUGIN_KEYS
    owner.save()
    api.as_user(world.user("a", "company_admin"))
    response = api.patch(f"/api/v1/users/{owner.pk}/", {"plugin_keys": value}, format="json")
    assert response.status_code == 400 and "plugin_keys" in response.json()
    assert User.objects.get(pk=owner.pk).plugin_keys == PLUGIN_KEYS


def test_hole7_plugin_keys_empty_object_removes_them(api, world):
    owner = world.user("a", "client")
    owner.plugin_keys = PLUGIN_KEYS
    owner.save()
    api.as_user(world.user("a", "company_admin"))
    assert api.patch(f"/api/v1/users/{owner.pk}/", {"plugin_keys": {}}, format="json").status_code == 200
    assert User.objects.get(pk=owner.pk).plugin_keys == {} and _raw(User, owner.pk)["plugin_keys"] == ""


# --- the admin: masked ---------------------------------------------------------------------------


def _user_form(user, **fields):
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "status": user.status,
        "is_active": "on",
        **fields,
    }


def test_hole7_admin_masks_plugin_keys(client, world):
    owner = world.user("a", "client")
    owner.plugin_keys = PLUGIN_KEYS
    owner.save()
    client.force_login(world.user("a", "company_admin"))
    url = f"/admin/tenants/user/{owner.pk}/change/"
    page = client.get(url).content.decode()
    assert "shopify, wordpress (values hidden)" in page
    assert "wp-app-password" not in page and "shpat_" not in page
    assert _raw(User, owner.pk)["plugin_keys"] not in page  # nor the ciphertext

    kept = client.post(url, _user_form(owner, first_name="Kept", plugin_keys=""))
    assert kept.status_code == 302, kept.content.decode()[:2000]
    assert User.objects.get(pk=owner.pk).plugin_keys == PLUGIN_KEYS

    bad = client.post(url, _user_form(owner, plugin_keys="[1, 2]"))
    assert bad.status_code == 200 and "JSON object" in bad.content.decode()
    assert User.objects.get(pk=owner.pk).plugin_keys == PLUGIN_KEYS

    new = {"wordpress": {"key": "another-one-0000"}}
    replaced = client.post(url, _user_form(owner, plugin_keys=json.dumps(new)))
    assert replaced.status_code == 302
    assert User.objects.get(pk=owner.pk).plugin_keys == new


def test_hole7_admin_masks_the_webhook_secret(client, world):
    hook = webhooks.create_webhook(company=world.a, name="h", url="http://127.0.0.1:9/h", events=["*"])
    client.force_login(world.user("a", "company_admin"))
    page = client.get(f"/admin/events/webhook/{hook.pk}/change/").content.decode()
    assert hook.secret not in page and _raw(Webhook, hook.pk)["secret"] not in page
    assert f"whsec_…{hook.secret[-4:]}" in page


# --- the data migration -------------------------------------------------------------------------


def test_hole7_migration_encrypts_the_plain_values_stored_before(fresh_db):
    """A database at tenants 0008 holds plain secrets; `migrate tenants 0009` encrypts them in
    place, is a no-op the second time, and migrating back restores the plain values. (Only the
    migration under test runs: a full `migrate` from here and back took ~20 s of other apps'
    migrations.)"""
    db = fresh_db.db
    fresh_db.migrate("tenants", "0008")
    hook_id, user_id, empty_id = ObjectId(), ObjectId(), ObjectId()
    db.webhooks.insert_one(
        {
            "_id": hook_id,
            "company_id": ObjectId(),
            "name": "old",
            "url": "https://example.com/h",
            "events": ["*"],
            "secret": "plain-old-secret-token-0123456789",
            "enabled": True,
        }
    )
    db.users.insert_many(
        [
            {
                "_id": user_id,
                "username": "old",
                "email": "old@example.com",
                "password": "!",
                "plugin_keys": PLUGIN_KEYS,
            },
            {"_id": empty_id, "username": "empty", "email": "empty@example.com", "password": "!", "plugin_keys": {}},
        ]
    )

    fresh_db.migrate("tenants", "0009")
    secret = db.webhooks.find_one({"_id": hook_id})["secret"]
    _assert_sealed(secret, "plain-old-secret-token-0123456789")
    keys = db.users.find_one({"_id": user_id})["plugin_keys"]
    assert isinstance(keys, str) and json.loads(crypto.decrypt(keys)) == PLUGIN_KEYS
    assert db.users.find_one({"_id": empty_id})["plugin_keys"] == ""

    assert "No migrations to apply" in fresh_db.migrate("tenants", "0009")
    assert db.webhooks.find_one({"_id": hook_id})["secret"] == secret  # not encrypted twice

    fresh_db.migrate("tenants", "0008")
    assert db.webhooks.find_one({"_id": hook_id})["secret"] == "plain-old-secret-token-0123456789"
    assert db.users.find_one({"_id": user_id})["plugin_keys"] == PLUGIN_KEYS
    assert db.users.find_one({"_id": empty_id})["plugin_keys"] == {}
