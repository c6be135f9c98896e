"""Bad input: 400 with field messages, and nothing stored or changed."""

from tenants.models import User, UserSettings


def test_user_create_errors_are_per_field_and_store_nothing(api, world):
    api.as_user(world.user("a", "superadmin"))  # who creates users directly (company admins invite)
    before = User.objects.count()
    response = api.post(
        "/api/v1/users/", {"username": "", "email": "not-an-email", "password": "123", "role": "emperor"}
    )
    assert response.status_code == 400
    errors = response.json()
    assert {"username", "email", "role"} <= set(errors)
    assert all(isinstance(messages, list) and messages for messages in errors.values())
    assert User.objects.count() == before


def test_weak_password_and_duplicates(api, world):
    api.as_user(world.user("a", "superadmin"))
    weak = api.post("/api/v1/users/", {"username": "ok", "email": "ok@example.com", "password": "123"})
    assert weak.status_code == 400 and "password" in weak.json()
    taken = api.post(
        "/api/v1/users/", {"username": "a-client", "email": "a-client@example.com", "password": "a-Long-password-77"}
    )
    assert taken.status_code == 400
    assert set(taken.json()) == {"username", "email"}
    assert not User.objects.filter(username="ok").exists()


def test_invalid_ids_in_lists(api, world):
    api.as_user(world.user("a", "superadmin"))
    target = world.user("a", "client")
    response = api.patch(
        f"/api/v1/users/{target.pk}/", {"guest_companies": ["zzz", "000000000000000000000000"]}, format="json"
    )
    assert response.status_code == 400
    assert "guest_companies" in response.json()
    target.refresh_from_db()
    assert target.guest_companies == []


def test_settings_keep_what_was_stored(api, world):
    user = world.user("a", "client")
    api.as_user(user)
    assert (
        api.patch(
            "/api/v1/me/settings/", {"notification_preferences": {"digest_frequency": "weekly"}}, format="json"
        ).status_code
        == 200
    )
    bad = api.patch(
        "/api/v1/me/settings/",
        {"notification_preferences": {"digest_frequency": "hourly"}, "plugin_settings": {"x": 1}},
        format="json",
    )
    assert bad.status_code == 400
    assert "notification_preferences" in bad.json()
    stored = UserSettings.objects.get(user=user)
    assert stored.notification_preferences.digest_frequency == "weekly"
    assert stored.plugin_settings == {}


def test_malformed_json_is_400(api, world):
    response = api.as_user(world.user("a", "superadmin")).generic(
        "POST", "/api/v1/users/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
