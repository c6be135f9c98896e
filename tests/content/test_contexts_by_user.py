"""GET /api/v1/content/contexts/?user=<id> and ?user=me: the contexts a user created,
within the caller's company only (another company's user id finds nothing, as an unknown
id does); a malformed id is a 400 naming the field."""

import pytest
from bson import ObjectId

from content.services import contexts
from tests.support.content import article_setup, content_settings, queued  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/content/contexts/"


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def created(world):
    """Contexts of A created by A's writer (2) and A's manager (1), and one of B's by B's writer."""
    a, b = article_setup(world.a), article_setup(world.b)
    writer, manager = world.user("a", "content_writer"), world.user("a", "content_manager")

    def make(setup, user, n):
        return [
            str(c.pk)
            for c in contexts.create_contexts(
                pipeline=setup.pipeline, items=[{"data": {"title": f"T{i}"}} for i in range(n)], user=user
            )
        ]

    return {
        "writer": make(a, writer, 2),
        "manager": make(a, manager, 1),
        "b": make(b, world.user("b", "content_writer"), 1),
    }


def test_filter_by_user_id_and_me(api, world, created):
    writer, manager = world.user("a", "content_writer"), world.user("a", "content_manager")
    client = api.as_user(manager)
    assert _ids(client.get(URL)) == set(created["writer"] + created["manager"])
    assert _ids(client.get(f"{URL}?user={writer.pk}")) == set(created["writer"])
    assert _ids(client.get(f"{URL}?user=me")) == set(created["manager"])
    assert _ids(api.as_user(writer).get(f"{URL}?user=me")) == set(created["writer"])


def test_another_companys_user_finds_nothing_like_an_unknown_id(api, world, created):
    client = api.as_user(world.user("a", "company_admin"))
    assert _ids(client.get(f"{URL}?user={world.user('b', 'content_writer').pk}")) == set()
    assert _ids(client.get(f"{URL}?user={ObjectId()}")) == set()


def test_a_malformed_user_is_a_400(api, world, created):
    response = api.as_user(world.user("a", "company_admin")).get(f"{URL}?user=someone")
    assert response.status_code == 400
    assert response.json()["user"] == ["“someone” is not a valid user id (or “me”)."]
