"""Conversations: search by tags (all of them), by custom field
value and by words of the tags and custom field values (ranked: tag words 10, custom field
words 5, then newest), the same ranking from the embedded server's windowed walk and from the
server-side pipeline, tenant and owner scoping; attachments stored as files (filesystem and a
local S3 server), their limits and type sniffing, removed with their conversation; a message
edit sets edited_at."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from knowledge.models import Conversation, ConversationMetadata, Message
from knowledge.selectors import conversation_search
from requestdesk import soft_delete
from requestdesk.db import text
from tests.support.knowledge import knowledge_settings, make_agent  # noqa: F401
from tests.support.storage import CREDENTIALS

URL = "/api/v1/knowledge/conversations/"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def conversation(company, user, *, tags=(), fields=None, days=0, agent=None):
    return Conversation.objects.create(
        company=company,
        user=user,
        agent=agent,
        tags=list(tags),
        metadata=ConversationMetadata(custom_fields=fields or {}),
        started_at=T0 + timedelta(days=days),
    )


@pytest.fixture
def corpus(world):
    a_client, other = world.user("a", "client"), world.user("a", "content_writer")
    found = {
        "refund_tag": conversation(world.a, a_client, tags=["refund", "billing"], fields={"plan": "pro"}, days=1),
        "both": conversation(world.a, a_client, tags=["refund"], fields={"note": "refund asked twice"}, days=0),
        "field": conversation(
            world.a, a_client, tags=["shipping"], fields={"note": "wants a refund", "order": {"sku": "LAMP-7"}}, days=3
        ),
        "newer_field": conversation(world.a, a_client, fields={"note": "refund"}, days=4),
        "unrelated": conversation(world.a, a_client, tags=["billing"], fields={"plan": "Free"}, days=5),
        "others": conversation(world.a, other, tags=["refund"], days=6),
    }
    # company B's best match of all: never shown to A
    conversation(world.b, world.user("b", "client"), tags=["refund", "refunds"], fields={"note": "refund"}, days=9)
    return found


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_postings_of_tags_fields_and_words(world):
    found = conversation(
        world.a, None, tags=["Refund", "VIP customer"], fields={"plan": "Pro", "paid": True, "order": {"sku": "Lamp 7"}}
    )
    assert found.search_terms == [
        "t:refund",
        "t:vip customer",
        "f:plan=pro",
        "f:paid=true",
        "10:refund",
        "10:vip",
        "10:customer",
        "5:pro",
        "5:true",
        "5:lamp",
    ]
    found.tags = ["pro"]
    found.save(update_fields=["tags"])  # the postings follow a partial save of the tags
    assert Conversation.objects.get(pk=found.pk).search_terms[:2] == ["t:pro", "f:plan=pro"]
    assert "15:pro" in Conversation.objects.get(pk=found.pk).search_terms


def test_search_ranks_tag_words_over_field_words_then_newest(api, world, corpus):
    response = api.as_user(world.user("a", "company_admin")).get(URL + "?q=refunds")
    rows = response.json()["results"]
    assert [(row["id"], row["score"]) for row in rows] == [
        (str(corpus["both"].pk), 15),
        (str(corpus["others"].pk), 10),
        (str(corpus["refund_tag"].pk), 10),
        (str(corpus["newer_field"].pk), 5),
        (str(corpus["field"].pk), 5),
    ]
    assert response.json()["count"] == 5 and response.json()["count_exact"] is True


def test_several_words_add_up(api, world, corpus):
    rows = api.as_user(world.user("a", "company_admin")).get(URL + "?q=refund+lamp").json()["results"]
    assert [(row["id"], row["score"]) for row in rows][:4] == [
        (str(corpus["both"].pk), 15),
        (str(corpus["others"].pk), 10),
        (str(corpus["field"].pk), 10),  # refund + lamp
        (str(corpus["refund_tag"].pk), 10),
    ]


def test_tags_all_of_and_custom_field_filters(api, world, corpus):
    admin = api.as_user(world.user("a", "company_admin"))
    assert _ids(admin.get(URL + "?tags=Refund,billing")) == [str(corpus["refund_tag"].pk)]
    assert _ids(admin.get(URL + "?tags=billing")) == [str(corpus["unrelated"].pk), str(corpus["refund_tag"].pk)]
    assert _ids(admin.get(URL + "?custom.plan=free")) == [str(corpus["unrelated"].pk)]
    assert _ids(admin.get(URL + "?custom.plan=pro&tags=refund")) == [str(corpus["refund_tag"].pk)]
    assert _ids(admin.get(URL + "?q=refund&tags=shipping")) == [str(corpus["field"].pk)]
    assert _ids(admin.get(URL + "?custom.note=refund")) == [str(corpus["newer_field"].pk)]  # the whole value


def test_bad_search_input_is_a_400_with_field_messages(api, world, corpus):
    admin = api.as_user(world.user("a", "company_admin"))
    assert admin.get(URL + "?q=the+of").json()["q"]
    assert admin.get(URL + "?tags=" + ",".join(f"t{i}" for i in range(11))).status_code == 400
    response = admin.get(URL + "?custom.=x")
    assert response.status_code == 400 and "custom." in response.json()


def test_search_is_scoped_to_the_company_and_to_a_clients_own(api, world, corpus):
    client = api.as_user(world.user("a", "client"))
    assert str(corpus["others"].pk) not in _ids(client.get(URL + "?q=refund"))  # a client sees their own only
    assert len(_ids(client.get(URL + "?q=refund"))) == 4
    b_admin = api.as_user(world.user("b", "company_admin"))
    found = _ids(b_admin.get(URL + "?q=refund"))
    assert len(found) == 1 and not set(found) & {str(c.pk) for c in corpus.values()}
    assert _ids(b_admin.get(URL + "?tags=billing")) == []


@pytest.mark.parametrize("strategy", [text.POSTINGS_IN_WINDOWS, text.POSTINGS_ON_SERVER])
def test_walk_and_pipeline_rank_the_same_pages(world, strategy):
    user = world.user("a", "client")
    words = ["alpha", "beta", "gamma"]
    for i in range(60):
        tags = [words[i % 3]] + (["beta"] if i % 7 == 0 else [])
        conversation(world.a, user, tags=tags, fields={"note": words[(i + 1) % 3]}, days=i * 0.37)
    queryset = Conversation.objects.for_company(world.a)
    expected = sorted(
        (
            (
                sum(w for t, w in conversation_search.weights(c.search_terms).items() if t in ("beta", "gamma")),
                c.started_at,
                c.pk,
            )
            for c in queryset
        ),
        reverse=True,
    )
    expected = [(score, pk) for score, _, pk in expected if score]
    search = conversation_search.search(queryset, company=world.a, query="beta gamma", strategy=strategy)
    got = []
    for number in range(1, 10):
        page = search.numbered(number=number, size=10)
        got += [(row.score, row.pk) for row in page.rows]
        if not page.has_next:
            break
    assert got == expected


def test_walk_reads_about_a_page_not_every_match(world):
    user = world.user("a", "client")
    for i in range(300):
        conversation(world.a, user, tags=["common"], days=i * 0.1)
    search = conversation_search.search(
        Conversation.objects.for_company(world.a), company=world.a, query="common", strategy=text.POSTINGS_IN_WINDOWS
    )
    page = search.numbered(number=1, size=10)
    assert len(page.rows) == 10 and page.has_next and page.count_exact is False
    assert search.read <= 30  # the newest page and one row more, not 300


# --- attachments -------------------------------------------------------------------------------


@pytest.fixture
def files(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    settings.KNOWLEDGE_ATTACHMENT_MAX_BYTES = 1000
    return tmp_path


@pytest.fixture
def s3_files(s3_server, settings, monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"attachments-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server.url,
                "file_overwrite": False,
                "default_acl": None,
                "querystring_auth": False,
            },
        },
    }
    settings.KNOWLEDGE_ATTACHMENT_MAX_BYTES = 1000
    return bucket


@pytest.fixture
def message(world):
    agent = make_agent(world.a)
    owner = conversation(world.a, world.user("a", "client"), agent=agent)
    return Message.objects.create(
        company=world.a, conversation=owner, sender_type="user", role="user", content="see the picture"
    )


def _upload(client, message, name, data, content_type):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/v1/knowledge/messages/{message.pk}/attachments/",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


def _round_trip(api, world, message):
    client = api.as_user(world.user("a", "client"))
    response = _upload(client, message, "../shot.png", PNG, "image/png")
    assert response.status_code == 201, response.content
    [stored] = response.json()["attachments"]
    assert (stored["name"], stored["type"], stored["size"]) == ("shot.png", "image/png", len(PNG))
    assert stored["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert stored["path"].startswith(f"conversations/{world.a.pk}/{message.conversation_id}/")
    assert stored["path"].endswith("-shot.png")
    download = client.get(stored["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png" and "attachment" in download["Content-Disposition"]
    # another company, and another user of the same company below manager, cannot get it
    assert api.as_user(world.user("b", "company_admin")).get(stored["url"]).status_code == 404
    assert api.as_user(world.user("a", "content_writer")).get(stored["url"]).status_code == 404
    assert api.as_user(world.user("a", "client")).get(stored["url"]).status_code == 200
    return stored


def test_attachment_round_trip_on_the_filesystem_and_removed_when_its_conversation_is_purged(
    api, world, files, message
):
    stored = _round_trip(api, world, message)
    assert (files / stored["path"]).read_bytes() == PNG
    response = api.as_user(world.user("a", "content_manager")).delete(f"{URL}{message.conversation_id}/")
    assert response.status_code == 204
    assert (files / stored["path"]).exists()  # a soft delete: the conversation can still be restored
    later = datetime.now(UTC) + soft_delete.retention() + timedelta(days=1)
    assert soft_delete.purge(now=later)["knowledge.Conversation"] == 1
    assert not (files / stored["path"]).exists()
    assert not Message.objects.filter(pk=message.pk).exists()


def test_attachment_round_trip_on_s3(api, world, s3_files, s3_server, message):
    stored = _round_trip(api, world, message)
    assert s3_server.keys(s3_files) == [stored["path"]]
    Conversation.objects.get(pk=message.conversation_id).delete()
    assert s3_server.keys(s3_files) == []


def test_attachment_limits_and_sniffing_are_400s(api, world, files, message):
    client = api.as_user(world.user("a", "client"))
    too_big = _upload(client, message, "big.txt", b"x" * 1001, "text/plain")
    assert too_big.status_code == 400 and "larger than 1000 bytes" in too_big.json()["file"][0]
    executable = _upload(client, message, "tool.exe", b"MZ\x90\x00" + bytes(40), "application/octet-stream")
    assert executable.status_code == 400 and "not accepted" in executable.json()["file"][0]
    lying = _upload(client, message, "photo.jpg", PNG, "image/jpeg")
    assert lying.status_code == 400 and "image/png, not image/jpeg" in lying.json()["file"][0]
    assert _upload(client, message, "empty.txt", b"", "text/plain").status_code == 400
    notes = _upload(client, message, "notes.csv", "a,b\n1,é\n".encode(), "text/csv")
    assert notes.status_code == 201 and notes.json()["attachments"][0]["type"] == "text/csv"
    unknown = client.get(f"/api/v1/knowledge/messages/{message.pk}/attachments/?key=nope")
    assert unknown.status_code == 400 and unknown.json()["key"]
    assert list(files.rglob("*.exe")) == [] and len([p for p in files.rglob("*") if p.is_file()]) == 1


# --- edits -----------------------------------------------------------------------------------


def test_editing_a_message_sets_edited_at(api, world, message):
    url = f"/api/v1/knowledge/messages/{message.pk}/"
    assert message.metadata.edited_at is None
    response = api.as_user(world.user("a", "client")).patch(url, {"content": "see the photo"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["content"] == "see the photo" and response.json()["metadata"]["edited_at"]
    stored = Message.objects.get(pk=message.pk)
    assert stored.content == "see the photo" and stored.metadata.edited_at is not None
    # only the sender edits: a manager of the company may not put words in a client's mouth
    assert api.as_user(world.user("a", "company_admin")).patch(url, {"content": "x"}, format="json").status_code == 403
    assert api.as_user(world.user("b", "company_admin")).patch(url, {"content": "x"}, format="json").status_code == 404
    assert api.as_user(world.user("a", "client")).patch(url, {"content": ""}, format="json").json()["content"]
    assert Message.objects.get(pk=message.pk).content == "see the photo"


def test_an_agent_reply_cannot_be_edited(api, world, message):
    reply = Message.objects.create(
        company=world.a, conversation=message.conversation, sender_type="agent", role="assistant", content="an answer"
    )
    response = api.as_user(world.user("a", "client")).patch(
        f"/api/v1/knowledge/messages/{reply.pk}/", {"content": "x"}, format="json"
    )
    assert response.status_code == 403 and Message.objects.get(pk=reply.pk).metadata.edited_at is None


def test_filtered_walk_and_server_filter_agree(world):
    user = world.user("a", "client")
    for i in range(40):
        conversation(
            world.a, user, tags=["vip"] + (["refund"] if i % 3 == 0 else []), fields={"plan": "pro"}, days=i * 0.5
        )
    queryset = Conversation.objects.for_company(world.a)
    required = [
        conversation_search.tag_posting("VIP"),
        conversation_search.tag_posting("refund"),
        conversation_search.field_posting("plan", "Pro"),
    ]
    expected = [c.pk for c in queryset.filter(search_terms__contains=required).order_by("-started_at")]
    walked = conversation_search.FilteredList(queryset, company=world.a, required=required)
    first, second = walked.numbered(number=1, size=10), walked.numbered(number=2, size=10)
    assert len(expected) == 14 and [c.pk for c in first.rows + second.rows] == expected
    assert first.has_next and not second.has_next and second.count == 14 and second.count_exact


def test_filtered_walk_follows_the_rarest_posting(world):
    user = world.user("a", "client")
    for i in range(60):
        conversation(world.a, user, tags=["common"] + (["rare"] if i % 20 == 0 else []), days=i * 0.1)
    queryset = Conversation.objects.for_company(world.a)
    for tags in (["common", "rare"], ["rare", "common"], ["common", "absent"]):
        walked = conversation_search.FilteredList(
            queryset, company=world.a, required=[conversation_search.tag_posting(t) for t in tags]
        )
        page = walked.numbered(number=1, size=10)
        assert len(page.rows) == (0 if "absent" in tags else 3) and page.count_exact
        assert walked.read <= 11 + 3  # one batch of the common tag, the rare one's three rows
