"""The base serializer speaks MongoDB: ids as strings, arrays as lists, embedded models as objects."""

from tenants import services


def test_settings_document_shape(api, world):
    user = world.user("a", "client")
    body = api.as_user(user).get("/api/v1/me/settings/").json()
    assert isinstance(body["id"], str) and len(body["id"]) == 24
    assert body["user"] == str(user.pk) and body["company"] == str(world.a.pk)
    assert body["notification_preferences"] == {
        "email_enabled": True,
        "push_enabled": False,
        "digest_frequency": "daily",
    }


def test_arrays_are_lists(api, world, make_user):
    guest = make_user(world.b, "client", username="g", guest_companies=[world.a.pk])
    body = api.as_user(guest).get("/api/v1/users/me/").json()
    assert body["guest_companies"] == [str(world.a.pk)]
    key, _ = services.create_api_key(user=guest, company=world.b, name="k", permissions=["read"])
    listed = api.get("/api/v1/api-keys/").json()["results"][0]
    assert listed["permissions"] == ["read"]
