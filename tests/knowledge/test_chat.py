"""Chat: a user message in, the agent's grounded answer out (JSON or server-sent events),
stored with ai_metadata and citations; provider failures (401, 429, timeout) become a
failed message with the reason and the user's message is kept. Conversations: list,
messages by cursor, reactions, read receipts, end and archive."""

import json

import pytest

from knowledge.models import Conversation, Message
from knowledge.services import ingest
from tests.support.knowledge import knowledge_settings, make_agent, make_collection, make_provider  # noqa: F401


@pytest.fixture
def setup(world, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(world.a, provider=provider)
    ingest.ingest_items(
        collection=collection,
        source_type="manual",
        full=False,
        items=[
            ingest.text_item(
                title="Returns",
                text="Return any unused item within 30 days for a refund.",
                source_id="doc:returns",
                url="https://acme.test/returns",
            ),
            ingest.text_item(title="Shipping", text="Standard shipping takes three days.", source_id="doc:shipping"),
        ],
    )
    agent = make_agent(world.a, provider=provider, collections=[collection], temperature=0.2, max_tokens=300)
    return agent, collection


@pytest.fixture
def client_a(api, world):
    return api.as_user(world.user("a", "client"))


def _conversation(client, agent) -> str:
    response = client.post(
        "/api/v1/knowledge/conversations/",
        {"agent": str(agent.pk), "tags": ["support"], "metadata": {"source": "web"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _send(client, conversation, content, **extra):
    return client.post(
        f"/api/v1/knowledge/conversations/{conversation}/messages/", {"content": content, **extra}, format="json"
    )


def _events(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return [json.loads(block[len("data: ") :]) for block in body.split("\n\n") if block.startswith("data: ")]


def test_answer_is_grounded_stored_and_cited(client_a, world, fake_apis, setup):
    agent, collection = setup
    conversation = _conversation(client_a, agent)
    response = _send(client_a, conversation, "How many days do I have to return an item for a refund?")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user_message"]["role"] == "user" and body["message"]["content"] == fake_apis.reply
    stored = Message.objects.get(pk=body["message"]["id"])
    meta = stored.ai_metadata
    assert (meta.model, meta.temperature, meta.finish_reason) == ("gpt-test", 0.2, "stop")
    assert (meta.prompt_tokens, meta.completion_tokens, meta.tokens_used) == (42, 9, 51)
    assert meta.response_time_ms > 0 and stored.status == "sent" and stored.sender_type == "agent"
    citation = stored.metadata.citations[0]
    assert (citation.source_id, citation.title, citation.url) == ("doc:returns", "Returns", "https://acme.test/returns")
    assert citation.collection_id == str(collection.pk)
    assert body["message"]["metadata"]["citations"][0]["source_id"] == "doc:returns"
    [request] = fake_apis.chats
    assert (request["model"], request["temperature"], request["max_tokens"]) == ("gpt-test", 0.2, 300)
    system = request["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("You are the Acme helper.")
    assert "[1] Returns (https://acme.test/returns)\nReturns\n\nReturn any unused item" in system["content"]
    assert request["messages"][-1] == {"role": "user", "content": body["user_message"]["content"]}

    _send(client_a, conversation, "And shipping?")
    second = fake_apis.chats[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]  # the history goes along


def test_streamed_answer_as_server_sent_events(client_a, fake_apis, setup):
    conversation = _conversation(client_a, setup[0])
    response = _send(client_a, conversation, "Can I return things?", stream=True)
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    events = _events(response)
    assert events[0]["type"] == "start" and events[0]["user_message"]["content"] == "Can I return things?"
    deltas = [e["content"] for e in events if e["type"] == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == fake_apis.reply
    done = events[-1]
    assert done["type"] == "done" and done["message"]["content"] == fake_apis.reply
    stored = Message.objects.get(pk=done["message_id"])
    assert stored.ai_metadata.finish_reason == "stop" and stored.ai_metadata.tokens_used == 51
    assert stored.metadata.citations and fake_apis.chats[0]["stream"] is True
    by_header = client_a.post(
        f"/api/v1/knowledge/conversations/{conversation}/messages/",
        {"content": "again"},
        format="json",
        HTTP_ACCEPT="text/event-stream",
    )
    assert by_header["Content-Type"] == "text/event-stream" and _events(by_header)[-1]["type"] == "done"


PROVIDER_FAILURES = [
    (("status", 401), 502, "refused the API key (HTTP 401)", "authentication"),
    (("status", 429), 502, "rate limiting requests (HTTP 429)", "rate_limited"),
    (("delay", 1.5), 504, "did not answer within 0.5s (timeout)", "timeout"),
]


@pytest.mark.parametrize("stream", [False, True])
def test_provider_errors_become_a_failed_message(client_a, fake_apis, setup, settings, stream):
    settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS = 0.5
    for step, status, reason, kind in PROVIDER_FAILURES:
        fake_apis.script.append(step)
        conversation = _conversation(client_a, setup[0])
        response = _send(client_a, conversation, "Where is my order?", stream=stream)
        assert response.status_code == status, response.content
        body = response.json()
        assert reason in body["detail"] and body["error"] == kind
        user_message, failed = (Message.objects.get(pk=body[key]["id"]) for key in ("user_message", "message"))
        assert user_message.content == "Where is my order?" and user_message.status == "sent"
        assert failed.status == "failed" and failed.role == "assistant"
        assert failed.ai_metadata.finish_reason == "error" and reason in failed.ai_metadata.error
        # The failed answer is not sent as history next time.
        _send(client_a, conversation, "Hello again")
        assert [m["role"] for m in fake_apis.chats[-1]["messages"]] == ["system", "user", "user"]


def test_a_stream_that_breaks_keeps_what_arrived(client_a, fake_apis, setup, settings):
    settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS = 0.5
    fake_apis.script.append(("break", 3, 1.5))
    conversation = _conversation(client_a, setup[0])
    events = _events(_send(client_a, conversation, "Tell me", stream=True))
    assert [e["type"] for e in events] == ["start", "delta", "delta", "delta", "error"]
    assert events[-1]["error"] == "timeout"
    failed = Message.objects.get(pk=events[-1]["message_id"])
    assert failed.status == "failed" and failed.content == "You can return"


def test_a_client_that_disconnects_mid_stream_keeps_what_arrived(client_a, fake_apis, setup):
    conversation = _conversation(client_a, setup[0])
    response = _send(client_a, conversation, "Tell me", stream=True)
    chunks = iter(response.streaming_content)
    received = [next(chunks) for _ in range(3)]  # start and two deltas, then the client goes away
    events = [json.loads(chunk.decode()[len("data: ") :]) for chunk in received]
    assert [e["type"] for e in events] == ["start", "delta", "delta"]
    response.close()
    answer = Message.objects.get(conversation_id=conversation, role="assistant")
    assert answer.status == "failed" and answer.ai_metadata.finish_reason == "client_disconnected"
    deltas = [e["content"] for e in events[1:]]
    assert answer.content == "".join(deltas) and answer.content
    assert Message.objects.get(conversation_id=conversation, role="user").content == "Tell me"


def test_missing_provider_or_closed_conversation(client_a, world, fake_apis):
    agent = make_agent(world.a)  # no provider in company A
    conversation = _conversation(client_a, agent)
    response = _send(client_a, conversation, "hi")
    assert response.status_code == 424 and "No active LLM provider" in response.json()["detail"]
    assert client_a.post(f"/api/v1/knowledge/conversations/{conversation}/end/").json()["status"] == "ended"
    closed = _send(client_a, conversation, "still there?")
    assert closed.status_code == 409 and "ended" in closed.json()["detail"]
    archived = client_a.post(f"/api/v1/knowledge/conversations/{conversation}/archive/").json()
    assert archived["status"] == "archived" and archived["ended_at"]
    assert Message.objects.filter(conversation_id=conversation).count() == 2  # "hi" and its failure
    assert _send(client_a, conversation, "").status_code == 400


def test_messages_by_cursor_reactions_and_receipts(client_a, world, fake_apis, setup):
    conversation = _conversation(client_a, setup[0])
    for n in range(3):
        _send(client_a, conversation, f"question {n}")
    url = f"/api/v1/knowledge/conversations/{conversation}/messages/?page_size=4"
    first = client_a.get(url).json()
    second = client_a.get(first["next"]).json()
    contents = [m["content"] for m in first["results"] + second["results"]]
    assert contents == ["question 0", fake_apis.reply, "question 1", fake_apis.reply, "question 2", fake_apis.reply]
    assert second["next"] is None

    answer = first["results"][1]["id"]
    react = f"/api/v1/knowledge/messages/{answer}/reactions/"
    client_a.post(react, {"emoji": "👍"})
    liked = client_a.post(react, {"emoji": "👍"}).json()  # twice: still one
    assert [(r["emoji"], r["user_id"]) for r in liked["metadata"]["reactions"]] == [
        ("👍", str(world.user("a", "client").pk))
    ]
    assert client_a.delete(react, {"emoji": "👍"}).json()["metadata"]["reactions"] == []
    assert client_a.post(react, {"emoji": ""}).status_code == 400

    read = client_a.post(f"/api/v1/knowledge/messages/{answer}/read/").json()
    assert read["metadata"]["read_at"] and read["metadata"]["delivered_at"]
    assert client_a.post(f"/api/v1/knowledge/conversations/{conversation}/read/").json() == {"updated": 2}
    assert Message.objects.filter(conversation_id=conversation, role="assistant", metadata__read_at=None).count() == 0
    listed = client_a.get("/api/v1/knowledge/conversations/").json()
    assert [c["id"] for c in listed["results"]] == [conversation]
    assert listed["results"][0]["tags"] == ["support"] and listed["results"][0]["metadata"]["source"] == "web"


def test_clients_see_only_their_own_conversations(api, world, setup):
    agent = setup[0]
    mine = _conversation(api.as_user(world.user("a", "client")), agent)
    theirs = Conversation.objects.create(
        company=world.a,
        agent=agent,
        user=world.user("a", "content_writer"),
        started_at=Conversation.objects.get(pk=mine).started_at,
    )
    client = api.as_user(world.user("a", "client"))
    assert [c["id"] for c in client.get("/api/v1/knowledge/conversations/").json()["results"]] == [mine]
    assert client.get(f"/api/v1/knowledge/conversations/{theirs.pk}/").status_code == 404
    manager = api.as_user(world.user("a", "content_manager"))
    assert manager.get("/api/v1/knowledge/conversations/").json()["count"] == 2
