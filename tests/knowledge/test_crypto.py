"""Secrets at rest: Fernet with FIELD_ENCRYPTION_KEY, never garbage, never in a response."""

import json

import pymongo
import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings

from knowledge.models import Agent, LLMProvider
from knowledge.services import crypto
from tests.support.knowledge import SHOPIFY_TOKEN, knowledge_settings  # noqa: F401

RAW_KEY = "sk-live-Very-Secret-Key-0123456789abcd"


def _raw_documents(collection: str) -> str:
    db = pymongo.MongoClient(django_settings.DATABASES["default"]["HOST"])[django_settings.DATABASES["default"]["NAME"]]
    return json.dumps(list(db[collection].find({}, {"_id": 0})), default=str)


def test_round_trip_and_hint():
    token = crypto.encrypt(RAW_KEY)
    assert RAW_KEY not in token and crypto.decrypt(token) == RAW_KEY
    assert crypto.encrypt(RAW_KEY) != token  # a fresh IV every time
    assert crypto.hint(RAW_KEY) == "sk-…abcd"
    assert crypto.hint("plainsecretvalue99") == "…ue99"
    assert crypto.hint("short") == "…(5 chars)"


def test_wrong_key_is_a_clear_error_not_garbage(settings):
    token = crypto.encrypt(RAW_KEY)
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(crypto.EncryptionKeyError, match="FIELD_ENCRYPTION_KEY is not the key"):
        crypto.decrypt(token)


def test_missing_or_malformed_key(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.DEBUG = False
    with pytest.raises(crypto.EncryptionKeyError, match="FIELD_ENCRYPTION_KEY is not set"):
        crypto.encrypt(RAW_KEY)
    settings.FIELD_ENCRYPTION_KEY = "not-a-fernet-key"
    with pytest.raises(crypto.EncryptionKeyError, match="not a valid Fernet key"):
        crypto.encrypt(RAW_KEY)


def test_debug_without_key_derives_a_stable_development_key(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.DEBUG = True
    token = crypto.encrypt(RAW_KEY)
    assert crypto.decrypt(token) == RAW_KEY
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    with pytest.raises(crypto.EncryptionKeyError):
        crypto.decrypt(token)


def test_key_rotation_reads_old_secrets(settings):
    old = settings.FIELD_ENCRYPTION_KEY
    token = crypto.encrypt(RAW_KEY)
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{old}"
    assert crypto.decrypt(token) == RAW_KEY


def test_api_keys_never_leave_encrypted(api, world):
    api.as_user(world.user("a", "company_admin"))
    created = api.post(
        "/api/v1/knowledge/providers/",
        {"name": "openai", "provider": "openai", "api_key": RAW_KEY, "models": ["gpt-4o"]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert "api_key" not in body and body["api_key_hint"] == "sk-…abcd"
    provider = LLMProvider.objects.get(pk=body["id"])
    assert provider.api_key_secret and RAW_KEY not in provider.api_key_secret
    assert crypto.get_secret(provider, "api_key") == RAW_KEY
    agent = api.post(
        "/api/v1/knowledge/agents/",
        {
            "name": "shop",
            "shopify_enabled": True,
            "shopify_store_url": "https://shop.example.com",
            "shopify_api_key": SHOPIFY_TOKEN,
        },
    )
    assert agent.status_code == 201, agent.content
    assert "shopify_api_key" not in agent.json() and agent.json()["shopify_api_key_hint"].endswith("cdef")
    assert crypto.get_secret(Agent.objects.get(pk=agent.json()["id"]), "shopify_api_key") == SHOPIFY_TOKEN

    responses = [
        api.get("/api/v1/knowledge/providers/"),
        api.get(f"/api/v1/knowledge/providers/{body['id']}/"),
        api.patch(f"/api/v1/knowledge/providers/{body['id']}/", {"name": "renamed"}),
        api.get("/api/v1/knowledge/agents/"),
        api.get("/api/v1/audit-logs/"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert RAW_KEY not in response.content.decode() and SHOPIFY_TOKEN not in response.content.decode()
    stored = _raw_documents("llm_providers") + _raw_documents("agents") + _raw_documents("audit_logs")
    assert RAW_KEY not in stored and SHOPIFY_TOKEN not in stored
    assert "gAAAAA" in _raw_documents("llm_providers")  # the document's api_key is Fernet ciphertext


def test_patch_without_key_keeps_it_and_empty_key_removes_it(api, world):
    api.as_user(world.user("a", "company_admin"))
    pk = api.post("/api/v1/knowledge/providers/", {"provider": "openai", "api_key": RAW_KEY}).json()["id"]
    api.patch(f"/api/v1/knowledge/providers/{pk}/", {"is_active": False})
    assert crypto.get_secret(LLMProvider.objects.get(pk=pk), "api_key") == RAW_KEY
    cleared = api.patch(f"/api/v1/knowledge/providers/{pk}/", {"api_key": ""}).json()
    assert cleared["api_key_hint"] == "" and LLMProvider.objects.get(pk=pk).api_key_secret == ""


def test_admin_shows_keys_masked(client, world):
    client.force_login(world.user("a", "company_admin"))
    provider = LLMProvider(company=world.a, provider="openai", name="main")
    crypto.set_secret(provider, "api_key", RAW_KEY)
    provider.save()
    for url in ("/admin/knowledge/llmprovider/", f"/admin/knowledge/llmprovider/{provider.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert RAW_KEY not in html and provider.api_key_secret not in html and "sk-…abcd" in html
    form = client.get(f"/admin/knowledge/llmprovider/{provider.pk}/change/").content.decode()
    assert 'type="password"' in form
    changed = client.post(
        f"/admin/knowledge/llmprovider/{provider.pk}/change/",
        {
            "name": "main",
            "provider": "openai",
            "base_url": "",
            "models": "gpt-4o",
            "is_active": "on",
            "api_key": "sk-new-key-0000000000wxyz",
        },
    )
    assert changed.status_code == 302, changed.content.decode()[:3000]
    provider.refresh_from_db()
    assert crypto.get_secret(provider, "api_key") == "sk-new-key-0000000000wxyz" and provider.api_key_hint == "sk-…wxyz"


def test_wrong_key_surfaces_as_a_clear_api_error(api, world, settings, fake_apis):
    from tests.support.knowledge import make_agent, make_provider

    provider = make_provider(world.a, url=fake_apis.url)
    agent = make_agent(world.a, provider=provider)
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    api.as_user(world.user("a", "client"))
    conversation = api.post("/api/v1/knowledge/conversations/", {"agent": str(agent.pk)}).json()
    response = api.post(f"/api/v1/knowledge/conversations/{conversation['id']}/messages/", {"content": "hello"})
    assert response.status_code == 500
    assert "FIELD_ENCRYPTION_KEY" in response.json()["detail"]
    assert response.json()["user_message"]["content"] == "hello"
    assert response.json()["message"]["status"] == "failed"
    assert fake_apis.chats == []  # nothing was sent with a garbage key
