"""The `retrieval` component and the generator's citations, against a local OpenAI-compatible
server: a [retrieval, ai_generator] pipeline (run by a real Celery worker, and in process)
puts the company's chunks, numbered, into every prompt, and the output keeps the model's
citations as footnotes ending in the "Sources" list. Another company's collections are never
searched: refused at save (API and admin), and never reached at run time even when their
chunk matches better. No hits is not an error, and the output is then as it was without the
component; an unreachable embedding provider is retried, gone collections fail at once."""

import pytest

from content.models import Component, ContextStatus, Pipeline
from content.services import contexts, runner
from content.services.components import ai_generator, retrieval
from knowledge.services import ingest
from knowledge.services import retrieval as search
from requestdesk.soft_delete import soft_delete
from tests.fakes.openai import FakeOpenAI, section_answer
from tests.support.celery_worker import wait_until
from tests.support.content import (  # noqa: F401
    SECTION_IDS,
    TEST_KEY,
    content_settings,
    fresh,
    make_agent,
    make_component,
    make_pipeline,
    make_provider,
    make_template,
    queued,
)
from tests.support.knowledge import make_collection

pytestmark = pytest.mark.django_db
COMPONENTS, PIPELINES = "/api/v1/content/components/", "/api/v1/content/pipelines/"
RETURNS = (
    "Returns and refunds",
    "Any unused tent may be sent back within 30 days of delivery for a full refund.",
    "https://acme.test/returns",
)
SHIPPING = ("Shipping", "Orders ship from Leeds; express delivery arrives the next day.", "https://acme.test/shipping")
FOREIGN = (
    "Refund policy for tents",
    "Refund policy for tents: refund policy for tents, secret of B.",
    "https://b.test/x",
)
TITLE = "Refund policy for tents"
CITED = " Unused tents come back within 30 days [1]."


def citing(body: dict) -> str:
    """The section's usual answer, and a sentence citing [1] when the prompt lists sources."""
    prompt = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    return section_answer(body) + (CITED if "\n[1] " in prompt else "")


@pytest.fixture
def llm():
    with FakeOpenAI(reply=citing, prompt_tokens=30) as server:
        yield server


def collection_of(company, provider, *docs, name="help centre"):
    collection = make_collection(company, provider=provider, name=name)
    items = [
        ingest.text_item(title=title, text=text, url=url, source_id=f"doc:{n}")
        for n, (title, text, url) in enumerate(docs)
    ]
    ingest.ingest_items(collection=collection, items=items, source_type="manual", full=False)
    collection.refresh_from_db()
    return collection


@pytest.fixture
def grounded(world, llm):
    """Company A: a provider, a collection (returns, shipping) and a [retrieval, ai_generator]
    pipeline; company B: a collection whose one chunk is the query itself."""
    provider = make_provider(world.a, llm)
    collection = collection_of(world.a, provider, RETURNS, SHIPPING)
    foreign = collection_of(world.b, make_provider(world.b, llm), FOREIGN, name="B's")
    finder = make_component(world.a, "retrieval", {"top_k": 2})
    writer = make_component(world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(provider.pk)})
    pipeline = make_pipeline(world.a, [(finder, {}), (writer, {})])
    return provider, collection, foreign, pipeline


def start(pipeline, agent=None, **data):
    item = {"data": {"title": TITLE, **data}, **({"agent": agent} if agent else {})}
    [context] = contexts.create_contexts(pipeline=pipeline, items=[item])
    return context


def user_prompts(llm) -> list[str]:
    return [chat["messages"][1]["content"] for chat in llm.chats]


def assert_cited(done, llm):
    """The run's sources are A's two chunks, returns first; the prompt lists them numbered;
    the output keeps the citation as a footnote and ends with the Sources list."""
    sources = done.data["sources"]
    assert [(s["kind"], s["title"], s["url"]) for s in sources] == [
        ("knowledge.chunk", RETURNS[0], RETURNS[2]),
        ("knowledge.chunk", SHIPPING[0], SHIPPING[2]),
    ]
    assert RETURNS[1] in sources[0]["text"] and all(len(s["text"]) <= 800 for s in sources)
    assert done.data["retrieval"] == [{"query": TITLE, "hits": 2}]
    [prompt] = user_prompts(llm)
    assert f"\n[1] {RETURNS[0]} ({RETURNS[2]})\n" in prompt and RETURNS[1] in prompt
    assert f"[2] {SHIPPING[0]} ({SHIPPING[2]})" in prompt and "cite a source you use as [n]" in prompt
    assert FOREIGN[1] not in prompt and "b.test" not in prompt
    assert done.data["generated_content"]["content"] == (
        f"{TITLE} text for {TITLE}. Unused tents come back within 30 days [^1].\n\n"
        f"**Sources**\n\n[^1]: [{RETURNS[0]}]({RETURNS[2]})\n[^2]: [{SHIPPING[0]}]({SHIPPING[2]})"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_runs_retrieval_then_generation_with_citations(world, llm, grounded, celery_worker):
    *_, pipeline = grounded
    worker = celery_worker(
        "content-retrieval", env={"FIELD_ENCRYPTION_KEY": TEST_KEY, "KNOWLEDGE_LLM_MAX_RETRIES": "0"}
    )
    context = start(pipeline)
    assert wait_until(lambda: fresh(context).status == ContextStatus.COMPLETED or not worker.alive(), timeout=90), (
        worker.log()
    )
    done = fresh(context)
    assert done.status == ContextStatus.COMPLETED, worker.log()
    assert done.processing.completed_components == ["retrieval", "ai_generator"]
    assert_cited(done, llm)


def test_company_a_never_gets_company_b_chunk_even_when_it_matches_better(world, llm, grounded):
    *_, foreign, pipeline = grounded
    [best] = search.search(company=world.b, query=TITLE, limit=1)
    assert best.collection_id == str(foreign.pk)  # B's chunk is the query itself
    context = start(pipeline)
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    done = fresh(context)
    assert_cited(done, llm)
    assert {s["id"] for s in done.data["sources"]}.isdisjoint({best.chunk_id})


def test_every_section_gets_the_sources_and_the_list_ends_the_document(world, llm, grounded):
    provider, collection, _, _ = grounded
    steps = [
        (make_component(world.a, "template"), {"template_id": str(make_template(world.a).pk)}),
        (make_component(world.a, "retrieval", {"collections": [str(collection.pk)], "query": "{topic.name}"}), {}),
        (make_component(world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(provider.pk)}), {}),
        (make_component(world.a, "transformer", {"format": "html"}), {}),
    ]
    context = start(make_pipeline(world.a, steps), topic={"name": "refund"}, target_audience="campers")
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    done = fresh(context)
    assert done.data["retrieval"][0]["query"] == "refund"
    assert len(llm.chats) == 4 and all(f"[1] {RETURNS[0]}" in prompt for prompt in user_prompts(llm))
    generated = done.data["generated_content"]
    assert list(generated) == SECTION_IDS
    assert all(generated[key].endswith("[^1].") for key in SECTION_IDS[:-1])  # the list once, at the end
    assert generated["conclusion"].endswith(f"[^1]: [{RETURNS[0]}]({RETURNS[2]})\n[^2]: [{SHIPPING[0]}]({SHIPPING[2]})")
    html = done.data["formatted_content"]["content"]
    assert html.count('<a class="footnote-ref" href="#fn:1">1</a>') == 4
    assert f'<li id="fn:1">\n<p><a href="{RETURNS[2]}">{RETURNS[0]}</a>' in html
    assert html.rstrip().endswith("</div>") and html.index("<strong>Sources</strong>") > html.index("Conclusion")


def test_the_agents_collections_are_searched_when_none_are_configured(world, llm, grounded):
    provider, _, _, pipeline = grounded
    other = collection_of(world.a, provider, ("Warranty", "Tents carry a two-year warranty.", ""), name="warranty")
    agent = make_agent(world.a, provider, knowledge_collection_ids=[other.pk])
    context = start(pipeline, agent=agent)
    assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    sources = fresh(context).data["sources"]
    assert [(s["title"], s["url"]) for s in sources] == [("Warranty", "")]
    assert "\n[1] Warranty\n" in user_prompts(llm)[0] and "Tents carry a two-year warranty." in user_prompts(llm)[0]
    assert fresh(context).data["generated_content"]["content"].endswith("**Sources**\n\n[^1]: Warranty")


def test_no_hits_is_not_an_error_and_the_output_is_as_without_retrieval(world, llm):
    provider = make_provider(world.a, llm)
    writer = make_component(world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(provider.pk)})
    plain = start(make_pipeline(world.a, [(writer, {})], name="plain"))
    with_retrieval = start(make_pipeline(world.a, [(make_component(world.a, "retrieval"), {}), (writer, {})]))
    for context in (plain, with_retrieval):
        assert runner.process_context(context_id=context.pk) == runner.COMPLETED
    before, after = fresh(plain).data, fresh(with_retrieval).data
    assert after["sources"] == [] and after["retrieval"] == [{"query": TITLE, "hits": 0}]
    assert after["generated_content"] == before["generated_content"] == {"content": f"{TITLE} text for {TITLE}."}
    first, second = user_prompts(llm)
    assert (
        first
        == second
        == ai_generator.prompt({"title": TITLE}, ai_generator.sections_of({"title": TITLE})[0], "article")
    )
    assert "Sources" not in second


def test_an_unreachable_embedding_provider_is_retried(world, llm):
    with FakeOpenAI() as embedder:
        provider = make_provider(world.a, embedder, name="embeddings")
        collection_of(world.a, provider, RETURNS)
    writer = make_component(
        world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(make_provider(world.a, llm).pk)}
    )
    context = start(make_pipeline(world.a, [(make_component(world.a, "retrieval"), {}), (writer, {})]))
    assert runner.process_context(context_id=context.pk) == runner.RETRY
    failed = fresh(context)
    assert failed.status == ContextStatus.PENDING and failed.retry_count == 1
    assert failed.error.startswith("Knowledge retrieval failed:") and "could not be reached" in failed.error
    assert llm.chats == [] and failed.processing.completed_components == []


@pytest.mark.parametrize("change", ["foreign id written past validation", "collection deleted"])
def test_configured_collections_that_are_not_the_companys_fail_the_run_at_once(world, llm, grounded, change):
    provider, collection, foreign, _ = grounded
    finder = make_component(world.a, "retrieval", {"collections": [str(collection.pk)]})
    writer = make_component(world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(provider.pk)})
    context = start(make_pipeline(world.a, [(finder, {}), (writer, {})]))
    if change == "collection deleted":
        soft_delete(collection)
    else:
        Component.objects.filter(pk=finder.pk).update(config={"collections": [str(foreign.pk)]})
    assert runner.process_context(context_id=context.pk) == runner.FAILED
    failed = fresh(context)
    assert failed.error == "None of the configured knowledge collections exists any more."
    assert llm.chats == [] and "sources" not in failed.data


@pytest.fixture
def manager(api, world):
    return api.as_user(world.user("a", "content_manager"))


@pytest.mark.parametrize(
    "config, message",
    [
        ({"collections": "FOREIGN"}, "collections: no knowledge collection “{foreign}” in this company."),
        ({"collections": ["not-an-id"]}, "collections: no knowledge collection “not-an-id” in this company."),
        ({"collections": []}, "collections: a list of 1 to 50 knowledge collection ids"),
        ({"collections": "abc"}, "collections: a list of 1 to 50 knowledge collection ids"),
        ({"top_k": 0}, "top_k: must be a whole number between 1 and 20."),
        ({"top_k": 21}, "top_k: must be a whole number between 1 and 20."),
        ({"top_k": 2.5}, "top_k: must be a whole number between 1 and 20."),
        ({"query": ""}, "query: a non-empty text"),
        ({"query": 7}, "query: a non-empty text"),
        ({"query": "x" * 1001}, "query: at most 1000 characters."),
    ],
)
def test_bad_configs_are_refused_with_field_messages(manager, world, grounded, config, message):
    foreign = grounded[2]
    if config.get("collections") == "FOREIGN":
        config = {"collections": [str(foreign.pk)]}
    response = manager.post(COMPONENTS, {"name": "r", "type": "retrieval", "config": config}, format="json")
    assert response.status_code == 400, response.content
    [found] = response.json()["config"]
    assert found.startswith(message.format(foreign=foreign.pk))
    assert not Component.objects.filter(name="r").exists()


def test_a_pipeline_step_naming_a_foreign_collection_is_refused(manager, world, grounded):
    _, collection, foreign, pipeline = grounded
    finder = pipeline.steps()[0].component_id
    good = manager.post(
        COMPONENTS,
        {"name": "mine", "type": "retrieval", "config": {"collections": [str(collection.pk)], "top_k": 3}},
        format="json",
    )
    assert good.status_code == 201, good.content
    steps = [{"component_id": str(finder), "order": 1, "config_overrides": {"collections": [str(foreign.pk)]}}]
    refused = manager.post(PIPELINES, {"name": "leaky", "components": steps}, format="json")
    assert refused.status_code == 400
    assert f"no knowledge collection “{foreign.pk}” in this company." in " ".join(refused.json()["components"])
    assert not Pipeline.objects.filter(name="leaky").exists()


def test_the_admin_refuses_a_foreign_collection(client, world, grounded):
    foreign = grounded[2]
    client.force_login(world.user("a", "content_manager"))
    response = client.post(
        "/admin/content/component/add/",
        {"name": "r", "type": "retrieval", "config": f'{{"collections": ["{foreign.pk}"]}}', "metadata": "{}"},
    )
    assert f"collections: no knowledge collection “{foreign.pk}” in this company." in response.content.decode()
    assert not Component.objects.filter(name="r").exists()


def test_the_query_is_filled_from_the_contexts_data():
    data = {"title": "Tents", "result": {"text": "  The zip\nbroke ", "tags": ["zip", "seam"]}, "n": 3}
    assert (
        retrieval.query_for(data, "{result.text} {result.tags} {n} {missing} {result.text.x}")
        == "The zip broke zip, seam 3"
    )
    assert retrieval.query_for(data, None) == "Tents"
    assert retrieval.query_for({"instructions": "", "result": {"text": "Cold tent"}}, None) == "Cold tent"
    assert retrieval.query_for({}, None) == ""
